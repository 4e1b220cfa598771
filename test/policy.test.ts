import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createPasswordPolicy, loadCommonPasswords, normalizePassword, type PasswordCheck } from '../src/accounts/policy.ts';

function accepted(result: PasswordCheck): string {
  assert.ok(result.ok, `expected acceptance, got: ${result.ok ? '' : `${result.code}: ${result.reason}`}`);
  return result.password;
}

function refused(result: PasswordCheck, code: string): string {
  assert.ok(!result.ok, `expected refusal "${code}", got ${JSON.stringify(result)}`);
  assert.equal(result.code, code, result.reason);
  assert.ok(result.reason.length > 10, 'every refusal carries a human reason');
  return result.reason;
}

/** `length` code points from a varied alphabet, never a repetition, never only digits. */
function varied(length: number, alphabet = 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789-_!'): string {
  const chars = [...alphabet];
  let seed = 42;
  let s = '';
  for (let i = 0; i < length; i++) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    s += chars[seed % chars.length];
  }
  return s;
}

/** Runs `fn` while counting calls to String.prototype.normalize: the first costly step. */
function countNormalizeCalls(fn: () => void): number {
  const original = String.prototype.normalize;
  let calls = 0;
  String.prototype.normalize = function (this: string, form?: string) {
    calls++;
    return original.call(this, form);
  };
  try {
    fn();
  } finally {
    String.prototype.normalize = original;
  }
  return calls;
}

describe('createPasswordPolicy options (SEC-05, SEC-06)', () => {
  it('defaults to 15 to 256 code points and 1024 bytes, frozen', () => {
    const policy = createPasswordPolicy();
    assert.deepEqual([policy.minLength, policy.maxLength, policy.maxBytes], [15, 256, 1024]);
    assert.ok(Object.isFrozen(policy));
  });

  it('throws TypeError for a minimum below 8, a maximum below 64, or a non-integer (SEC-05, SEC-06)', () => {
    assert.equal(createPasswordPolicy({ minLength: 8 }).minLength, 8);
    for (const options of [{ minLength: 7 }, { minLength: 14.5 }, { maxLength: 63 }, { maxBytes: 100 }, { minLength: 300 }]) {
      assert.throws(() => createPasswordPolicy(options), TypeError, JSON.stringify(options));
    }
    assert.throws(() => createPasswordPolicy({ appName: 42 as unknown as string }), TypeError);
    assert.throws(() => createPasswordPolicy({ commonPasswords: ['a'] as unknown as Set<string> }), TypeError);
  });
});

describe('minimum length in code points, as typed and after NFKC (SEC-05)', () => {
  const policy = createPasswordPolicy();

  it('refuses 14 code points and accepts 15 (SEC-05)', () => {
    assert.equal(refused(policy.check(varied(14)), 'too_short'), 'Password must be at least 15 characters long.');
    accepted(policy.check(varied(15)));
  });

  it('counts an emoji as one character: 14 emoji (28 UTF-16 units) are too short, 15 are long enough (SEC-05)', () => {
    const emoji = [...'😀😁😂🤣😃😄😅😆😉😊😋😎😍😘🥰'];
    assert.equal(emoji.join('').length, 30);
    refused(policy.check(emoji.slice(0, 14).join('')), 'too_short');
    accepted(policy.check(emoji.join('')));
    // 15 × "😀" passes the length rule; it is then refused for repeating one character (SEC-08).
    refused(policy.check('😀'.repeat(14)), 'too_short');
    refused(policy.check('😀'.repeat(15)), 'common');
  });

  it('finding 6: one typed character cannot meet the minimum length: "ﷺ" (18 code points after NFKC) and "㌀㌁㌂㌃" (15) are too short (SEC-05)', () => {
    for (const password of ['\uFDFA', '\u3300\u3301\u3302\u3303', '\uFDFA\uFDFA', '\uFDFA'.repeat(14)]) {
      assert.ok([...password.normalize('NFKC')].length >= 15, 'NFKC alone would let it through');
      assert.equal(refused(policy.check(password), 'too_short'), 'Password must be at least 15 characters long.', password);
    }
    // 15 typed characters that NFKC expands are long enough, and what is hashed is the NFKC form (SEC-09).
    const fifteen = '\uFDFA\u3300' + varied(13);
    assert.equal(accepted(policy.check(fifteen)), fifteen.normalize('NFKC'));
  });

  it('counts both what was typed and what is hashed: NFD marks that compose away and ligatures that expand do not add length (SEC-05, SEC-09)', () => {
    const nfd = 're\u0301sume\u0301-draft9'; // 15 code points, 13 after composition
    assert.equal([...nfd].length, 15);
    refused(policy.check(nfd), 'too_short');
    const ligature = 'o\uFB03ce-party-42'; // 13 code points typed, "ﬃ" becomes "ffi": 15 after NFKC
    refused(policy.check(ligature), 'too_short');
    assert.equal(accepted(policy.check('o\uFB03ce-party-4242')), 'office-party-4242');
  });

  it('honours a configured minimum of 8 for MFA deployments (SEC-05)', () => {
    const mfa = createPasswordPolicy({ minLength: 8 });
    refused(mfa.check('k7#qWz2'), 'too_short');
    accepted(mfa.check('k7#qWz2m'));
  });
});

describe('maximum length checked first, on the raw input (SEC-06)', () => {
  const policy = createPasswordPolicy();

  it('accepts 64 and 256 code points, and never truncates them (SEC-06)', () => {
    for (const length of [64, 256]) {
      const password = varied(length);
      assert.equal(accepted(policy.check(password)), password);
      assert.equal(accepted(policy.limits(password)), password);
    }
    assert.notEqual(accepted(policy.check(varied(200))), accepted(policy.check(varied(199))));
  });

  it('refuses 257 code points with a reason (SEC-06)', () => {
    assert.equal(refused(policy.check(varied(257)), 'too_long'), 'Password must be at most 256 characters long.');
    refused(policy.limits(varied(257)), 'too_long');
  });

  it('accepts 256 four-byte emoji (1024 bytes) and refuses 1025 bytes (SEC-06)', () => {
    const emoji = [...'😀😁😂🤣😃😄😅😆😉😊😋😎😍😘🥰🤩'];
    const password = Array.from({ length: 256 }, (_, i) => emoji[(i * 7 + (i >> 4)) % emoji.length]).join('');
    assert.equal(new TextEncoder().encode(password).length, 1024);
    accepted(policy.check(password));
    refused(policy.check(varied(1025)), 'too_long');
    // With the default 4 bytes × 256 the byte cap never binds before the character cap; a lower
    // configured cap does: 101 three-byte characters are 303 bytes.
    const tight = createPasswordPolicy({ maxBytes: 300 });
    const cjk = varied(101, '的一是不了人我在有他这中大来上个国到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话');
    assert.match(refused(tight.check(cjk), 'too_long'), /at most 300 bytes/);
    accepted(tight.check(cjk.slice(0, 100)));
  });

  it('as an attacker, a 10 KB or 1 MB password is refused in well under 100 ms and never normalised (SEC-06)', () => {
    for (const password of ['x'.repeat(10 * 1024), 'x'.repeat(1024 * 1024), '\uD800'.repeat(1024 * 1024), '😀'.repeat(512 * 1024)]) {
      let result: PasswordCheck | undefined;
      const start = performance.now();
      const calls = countNormalizeCalls(() => {
        result = policy.check(password, { email: 'mike@x.io', name: 'Mike' });
      });
      const elapsed = performance.now() - start;
      refused(result as PasswordCheck, 'too_long');
      assert.equal(calls, 0, 'nothing was normalised, so nothing was hashed');
      assert.ok(elapsed < 100, `took ${elapsed} ms`);
    }
  });

  it('checks size before well-formedness, and well-formedness before NFKC (SEC-06, SEC-09)', () => {
    refused(policy.check(`${'\uD800'.repeat(300)}`), 'too_long');
    assert.equal(countNormalizeCalls(() => refused(policy.check(`${varied(20)}\uD800`), 'malformed')), 0);
  });
});

describe('no composition rules, no trimming, no folding (SEC-07, SEC-09)', () => {
  const policy = createPasswordPolicy();

  it('accepts "correct horse battery staple" (28 characters, lower-case and spaces only) (SEC-07)', () => {
    assert.equal(accepted(policy.check('correct horse battery staple')), 'correct horse battery staple');
  });

  it('accepts any characters: all lower-case, spaces, emoji, other scripts (SEC-07)', () => {
    for (const password of ['thequickbrownfoxjumps', 'ein schöner tag am see', 'пароль на каждый день', '🦊 jumps over 🐶 twice', '密码安全很重要因为黑客真的很多']) {
      accepted(policy.check(password));
    }
  });

  it('keeps a trailing space significant and does not fold case (SEC-09)', () => {
    const plain = accepted(policy.check('correct horse battery staple'));
    assert.notEqual(accepted(policy.check('correct horse battery staple ')), plain);
    assert.notEqual(accepted(policy.check(' correct horse battery staple')), plain);
    assert.notEqual(accepted(policy.check('Correct Horse Battery Staple')), plain);
  });

  it('keeps NUL as an ordinary character that round-trips (SEC-09)', () => {
    const password = 'correct\u0000horse battery';
    assert.equal(accepted(policy.check(password)), password);
    assert.equal(accepted(policy.limits(password)), password);
    assert.notEqual(accepted(policy.check('correct horse battery')), password);
  });
});

describe('Unicode: NFKC on set and verify, well-formed input only (SEC-09)', () => {
  const policy = createPasswordPolicy();

  it('normalises NFC and NFD spellings of "café…" to the same string on every path (SEC-09)', () => {
    const nfc = 'caf\u00e9 au lait, s\u2019il vous pla\u00eet';
    const nfd = nfc.normalize('NFD');
    assert.notEqual(nfc, nfd);
    assert.equal(accepted(policy.check(nfd)), accepted(policy.check(nfc)));
    assert.equal(accepted(policy.limits(nfd)), accepted(policy.check(nfc)));
    assert.equal(normalizePassword(nfd), normalizePassword(nfc));
  });

  it('treats fullwidth letters as their ASCII forms (SEC-09)', () => {
    const fullwidth = 'ｃｏｒｒｅｃｔ\u3000ｈｏｒｓｅ\u3000ｂａｔｔｅｒｙ';
    assert.equal(accepted(policy.check(fullwidth)), 'correct horse battery');
    assert.equal(normalizePassword(fullwidth), normalizePassword('correct horse battery'));
  });

  it('as an attacker, cannot make "\\uD800…" and "\\uDBFF…" collide: lone surrogates are refused (SEC-09)', () => {
    for (const password of [`\uD800${varied(20)}`, `\uDBFF${varied(20)}`, `${varied(20)}\uDC00`, `ab\uDC00\uD800${varied(20)}`]) {
      assert.match(refused(policy.check(password), 'malformed'), /malformed Unicode/);
      refused(policy.limits(password), 'malformed');
    }
  });

  it('normalizePassword is NFKC and nothing else, and throws TypeError on misuse (SEC-09)', () => {
    assert.equal(normalizePassword(' Pa\u00a0ss '), ' Pa ss ');
    assert.throws(() => normalizePassword(42 as unknown as string), TypeError);
  });
});

describe('blocklist on the whole password (SEC-08)', () => {
  const policy = createPasswordPolicy({ appName: 'Latchkey' });
  const common = loadCommonPasswords();

  it('refuses "passwordpassword1", which Django\'s list lacks, as a listed word repeated (SEC-08)', () => {
    assert.equal(common.has('passwordpassword1'), false);
    assert.equal(common.has('password'), true);
    assert.match(refused(policy.check('passwordpassword1'), 'common'), /too common/);
    refused(policy.check('PasswordPassword1!'), 'common');
  });

  it('refuses "123456789012345", which Django\'s list lacks, as made only of digits (SEC-08)', () => {
    assert.equal(common.has('123456789012345'), false);
    assert.equal(refused(policy.check('123456789012345'), 'common'), 'This password is too common: it is made only of digits.');
    refused(policy.check('９８７６５４３２１０９８７６５４'), 'common'); // fullwidth digits, after NFKC
  });

  it('refuses "<AppName>2025!<AppName>" as context, naming the site (SEC-08)', () => {
    assert.equal(refused(policy.check('Latchkey2025!Latchkey'), 'context'), 'Password must not be based on the name of this site.');
    refused(policy.check('LATCHKEY-latchkey-2025'), 'context');
  });

  it('refuses the email local part written twice as context, naming the email address (SEC-08)', () => {
    const context = { email: 'Jonathan.Smith@example.com' };
    assert.equal(refused(policy.check('jonathan.smithjonathan.smith', context), 'context'), 'Password must not be based on your email address.');
    refused(policy.check('JonathanSmith1990JonathanSmith', context), 'context');
    refused(policy.check('jonathan.smith@example.com', context), 'context');
    // Without the context it is still refused, but for repeating a 14-character pattern.
    assert.match(refused(policy.check('jonathan.smithjonathan.smith'), 'common'), /repeats a short pattern/);
  });

  it('refuses passwords made of the username or the name, and of their pieces (SEC-08)', () => {
    const context = { username: 'night_owl_42', name: 'Ada Lovelace-Byron' };
    assert.match(refused(policy.check('nightowlnightowl!!', context), 'context'), /your username/);
    assert.match(refused(policy.check('lovelacelovelace1815', context), 'context'), /your name/);
    assert.match(refused(policy.check('Ada Lovelace-Byron 1815', context), 'context'), /your name/);
    accepted(policy.check('ada wrote the first program', context)); // containing a word is not being made of it
  });

  it('compares the whole password case-insensitively against the list, including 15-character entries (SEC-08)', () => {
    assert.equal(common.has('kartoffelpuffer'), true);
    assert.equal(refused(policy.check('KartoffelPuffer'), 'common'), 'This password is too common.');
    refused(policy.check('QAZWSXEDCRFVTGB'), 'common');
  });

  it('refuses a listed word with digits and symbols around it, or repeated (SEC-08)', () => {
    for (const password of ['Sunshine2025!!!!!!', 'iloveyouiloveyou', '!!!qwerty12345678', 'monkey-monkey-monkey']) {
      assert.match(refused(policy.check(password), 'common'), /too common/, password);
    }
  });

  it('refuses one short pattern repeated to reach the minimum length (SEC-08)', () => {
    for (const password of ['aaaaaaaaaaaaaaa', 'abcabcabcabcabc', 'xK9!xK9!xK9!xK9!', '..............................']) {
      assert.match(refused(policy.check(password), 'common'), /repeats a short pattern/, password);
    }
  });

  it('does not refuse a password that merely contains a common word (SEC-08: whole-password comparison)', () => {
    accepted(policy.check('password manager made this'));
    accepted(policy.check('sunshine over the latchkey'));
  });

  it('uses a custom list instead of the bundled one, compared after NFKC and lower-casing (SEC-08)', () => {
    const custom = createPasswordPolicy({ commonPasswords: new Set(['ＮＯＴ-ＳＯ-ＳＥＣＲＥＴ-ＡＴ-ＡＬＬ']) });
    refused(custom.check('not-so-secret-at-all'), 'common');
    accepted(custom.check('kartoffelpuffer!')); // the bundled list is not consulted
  });

  it('loads the bundled list once: 19 727 lower-case entries (SEC-08)', () => {
    assert.equal(loadCommonPasswords(), common);
    assert.equal(common.size, 19_727);
    for (const entry of common) assert.equal(entry, entry.toLowerCase());
  });

  it('leaves login alone: limits() applies no minimum and no blocklist to old passwords (SEC-08)', () => {
    assert.equal(accepted(policy.limits('password')), 'password');
    assert.equal(accepted(policy.limits('')), '');
  });
});

describe('strict types and plain data (SEC-72, SEC-73)', () => {
  const policy = createPasswordPolicy();

  it('refuses JSON objects, arrays, numbers, booleans and null with "must be a string" (SEC-72 §2)', () => {
    const values: unknown[] = [
      JSON.parse('{"$ne":null}'), ['a', 'b'], 123456789012345, true, false, null, undefined, {}, [],
      JSON.parse('{"__proto__":{"isAdmin":true}}'), new String('correct horse battery staple'),
    ];
    for (const value of values) {
      assert.equal(refused(policy.check(value), 'type'), 'Password must be a string.');
      refused(policy.limits(value), 'type');
    }
  });

  it('accepts SQL and NoSQL metacharacters as plain password characters, unchanged (SEC-73 §2)', () => {
    for (const password of ['"; DROP TABLE users;--', "';SELECT pg_sleep(5)--", "' OR '1'='1' -- and more", '%_\\$1 {"$ne": null}', "admin'-- is not my password"]) {
      assert.equal(accepted(policy.check(password)), password, password);
    }
    for (const password of ["' OR '1'='1", "admin'--", '%', '_', '\\', '$1']) {
      refused(policy.check(password), 'too_short'); // short, and nothing else: not special
    }
  });
});
