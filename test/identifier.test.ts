import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalizeEmail, canonicalizeUsername, type CanonicalIdentifier } from '../src/accounts/identifier.ts';

function value(result: CanonicalIdentifier): string {
  assert.ok(result.ok, `expected acceptance, got: ${result.ok ? '' : result.reason}`);
  return result.value;
}

function reason(result: CanonicalIdentifier): string {
  assert.ok(!result.ok, `expected a refusal, got ${JSON.stringify(result)}`);
  return result.reason;
}

/** §2 "JSON type confusion" values, as a JSON body parser would hand them over. */
const NOT_STRINGS: unknown[] = [
  JSON.parse('{"$ne":null}'),
  JSON.parse('{"$gt":""}'),
  ['a', 'b'],
  123456789012345,
  true,
  false,
  null,
  undefined,
  {},
  [],
  JSON.parse('{"__proto__":{"isAdmin":true}}'),
  JSON.parse('{"constructor":{"prototype":{"role":"admin"}}}'),
];

describe('canonicalizeEmail: one canonical form (SEC-18)', () => {
  it('folds fullwidth, superscript, Kelvin-sign and ligature look-alikes into what NFKC gives (SEC-18)', () => {
    const cases: [string, string][] = [
      ['ｍｉｋｅ@x.io', 'mike@x.io'],
      ['ｍｉｋｅ＠ｘ．ｉｏ', 'mike@x.io'], // fullwidth "@" and "." too
      ['ᴮᴵᴳ@x.io', 'big@x.io'], // the Spotify 2013 takeover vector
      ['ᴮᴵᴳᴮᴵᴿᴰ@x.io', 'bigbird@x.io'],
      ['\u212Aelvin@x.io', 'kelvin@x.io'], // KELVIN SIGN
      ['\uFB01le@x.io', 'file@x.io'], // "ﬁ" ligature
      ['Mike@EXAMPLE.COM', 'mike@example.com'], // upper-case domain and local part
    ];
    for (const [input, expected] of cases) assert.equal(value(canonicalizeEmail(input)), expected, input);
  });

  it('registering "ᴮᴵᴳ@x.io" after "big@x.io" is the same identity (SEC-18)', () => {
    assert.equal(value(canonicalizeEmail('ᴮᴵᴳ@x.io')), value(canonicalizeEmail('big@x.io')));
  });

  it('keeps dotless ı distinct, so a reset for "mıke@x.io" never finds "mike@x.io" (SEC-18, GitHub 2016)', () => {
    assert.equal(value(canonicalizeEmail('mıke@x.io')), 'm\u0131ke@x.io');
    assert.notEqual(value(canonicalizeEmail('mıke@x.io')), value(canonicalizeEmail('mike@x.io')));
    assert.notEqual(value(canonicalizeEmail('MIKE@x.io')), value(canonicalizeEmail('mıke@x.io')));
  });

  it('keeps ß as ß, distinct from "ss", since toLowerCase is not case folding (SEC-18)', () => {
    assert.equal(value(canonicalizeEmail('Straße@x.io')), 'straße@x.io');
    assert.equal(value(canonicalizeEmail('STRASSE@x.io')), 'strasse@x.io');
    assert.equal(value(canonicalizeEmail('\u1E9E@x.io')), 'ß@x.io'); // capital sharp s lower-cases to ß
  });

  it('accepts Cyrillic "аdmin" but keeps it distinct from Latin "admin" (SEC-18: no confusable mapping)', () => {
    assert.equal(value(canonicalizeEmail('\u0430dmin@x.io')), '\u0430dmin@x.io');
    assert.notEqual(value(canonicalizeEmail('\u0430dmin@x.io')), value(canonicalizeEmail('admin@x.io')));
  });

  it('gives NFC and NFD spellings of é one canonical form (SEC-18)', () => {
    assert.equal(value(canonicalizeEmail('caf\u00e9@x.io')), value(canonicalizeEmail('cafe\u0301@x.io')));
    assert.equal(value(canonicalizeEmail('CAFE\u0301@x.io')), 'caf\u00e9@x.io');
  });

  it('keeps a +tag local part, never stripping it (SEC-18, CPH §Sub-addressing)', () => {
    assert.equal(value(canonicalizeEmail('Mike+News@x.io')), 'mike+news@x.io');
    assert.notEqual(value(canonicalizeEmail('mike+news@x.io')), value(canonicalizeEmail('mike@x.io')));
  });

  it('trims NBSP and other spaces at both ends, and refuses them inside (SEC-18 §2)', () => {
    assert.equal(value(canonicalizeEmail('\u00a0mike@x.io\u00a0')), 'mike@x.io');
    assert.equal(value(canonicalizeEmail(' \u3000mike@x.io\u2003 ')), 'mike@x.io');
    assert.match(reason(canonicalizeEmail('mi ke@x.io')), /not allowed/);
    assert.match(reason(canonicalizeEmail('mike@x\u00a0.io')), /domain/);
  });

  it('refuses zero-width characters, the BOM, the soft hyphen and the RTL override (SEC-18 §2)', () => {
    for (const ch of ['\u200B', '\u200D', '\uFEFF', '\u202E', '\u00AD', '\u2066']) {
      assert.match(reason(canonicalizeEmail(`mi${ch}ke@x.io`)), /invisible formatting characters/, JSON.stringify(ch));
      assert.match(reason(canonicalizeEmail(`${ch}mike@x.io`)), /invisible formatting characters/, JSON.stringify(ch));
    }
  });

  it('refuses a combining-mark flood (Zalgo) yet accepts a letter with two marks (SEC-18 §2)', () => {
    assert.match(reason(canonicalizeEmail(`z${'\u0336\u0317\u0353\u032a\u0324'.repeat(4)}@x.io`)), /combining marks/);
    assert.equal(value(canonicalizeEmail('vie\u0302\u0323t@x.io')), 'vi\u1ec7t@x.io'); // Vietnamese ệ
    assert.match(reason(canonicalizeEmail('\u0301mike@x.io')), /not allowed/); // a mark with nothing to sit on
  });

  it('accepts IDN and punycode domains as typed, as two different keys (SEC-18 §2)', () => {
    assert.equal(value(canonicalizeEmail('Anna@Bücher.DE')), 'anna@bücher.de');
    assert.equal(value(canonicalizeEmail('anna@xn--bcher-kva.de')), 'anna@xn--bcher-kva.de');
    assert.equal(value(canonicalizeEmail('用户@例子.广告')), '用户@例子.广告');
  });

  it('refuses lone surrogates, which would all become U+FFFD and collide (SEC-09 §2)', () => {
    for (const input of ['\uD800@x.io', 'a\uDC00@x.io', 'mike@x.io\uDBFF']) {
      assert.match(reason(canonicalizeEmail(input)), /malformed Unicode/);
    }
  });
});

describe('canonicalizeEmail: shape and size (SEC-75)', () => {
  it('as an attacker, cannot smuggle a Bcc header through CR/LF (SEC-75)', () => {
    for (const input of ['v@x.io\r\nBcc: a@evil.io', 'v@x.io\nBcc: a@evil.io', 'v@x.io\r\n', 'v@x.io\u2028Bcc: a@evil.io']) {
      assert.match(reason(canonicalizeEmail(input)), /control characters/, JSON.stringify(input));
    }
  });

  it('refuses NUL, tab and C1 controls anywhere (SEC-75 §2)', () => {
    for (const input of ['a\u0000@x.io', 'a@x.io\u0000', '\ta@x.io', 'a\u0085@x.io', 'a@x.io\u009b']) {
      assert.match(reason(canonicalizeEmail(input)), /control characters/, JSON.stringify(input));
    }
  });

  it('accepts 254 characters and refuses 255 (SEC-75, RFC 5321)', () => {
    const local = 'a'.repeat(64);
    const domain254 = `${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(58)}.io`; // 189 characters
    const at254 = `${local}@${domain254}`;
    assert.equal(at254.length, 254);
    assert.equal(value(canonicalizeEmail(at254)), at254);
    assert.match(reason(canonicalizeEmail(`${local}@e${domain254}`)), /at most 254 characters/);
  });

  it('refuses 10 000 characters without normalising them (SEC-75 §2 field sizes)', () => {
    const huge = `${'a'.repeat(10_000)}@x.io`;
    const start = performance.now();
    for (let i = 0; i < 1000; i++) assert.match(reason(canonicalizeEmail(huge)), /at most 254 characters/);
    assert.ok(performance.now() - start < 100, 'a thousand refusals take far less than 100 ms');
  });

  it('limits the local part to 64 characters and each domain label to 63 (RFC 5321, RFC 1035)', () => {
    assert.equal(value(canonicalizeEmail(`${'a'.repeat(64)}@x.io`)), `${'a'.repeat(64)}@x.io`);
    assert.match(reason(canonicalizeEmail(`${'a'.repeat(65)}@x.io`)), /at most 64 characters/);
    assert.match(reason(canonicalizeEmail(`a@${'b'.repeat(64)}.io`)), /not a valid domain name/);
  });

  it('refuses what is not one local part, one "@" and a dotted domain (SEC-75)', () => {
    const cases: [string, RegExp][] = [
      ['', /must not be empty/],
      ['   ', /must not be empty/],
      ['mike', /exactly one "@"/],
      ['a@b@x.io', /exactly one "@"/],
      ['@x.io', /name before the "@"/],
      ['mike@', /must contain a "."/],
      ['mike@localhost', /must contain a "."/],
      ['mike@x..io', /not a valid domain name/],
      ['mike@.x.io', /not a valid domain name/],
      ['mike@x.io.', /not a valid domain name/],
      ['mike@-x.io', /not a valid domain name/],
      ['mike@x_y.io', /only letters, digits/],
      ['mike@10.0.0.1', /not a valid domain name/],
      ['mike@[10.0.0.1]', /only letters, digits/],
      ['.mike@x.io', /must not start or end with "."/],
      ['mike.@x.io', /must not start or end with "."/],
      ['mi..ke@x.io', /must not start or end with "."/],
      ['"mike"@x.io', /not allowed/],
      ['mike@x.io, eve@evil.io', /exactly one "@"/],
      ['<mike@x.io>', /not allowed/],
    ];
    for (const [input, expected] of cases) assert.match(reason(canonicalizeEmail(input)), expected, JSON.stringify(input));
  });

  it('refuses JSON objects, arrays, numbers, booleans and null with "must be a string" (SEC-72 §2)', () => {
    for (const input of NOT_STRINGS) {
      assert.equal(reason(canonicalizeEmail(input)), 'Email address must be a string.', JSON.stringify(input));
    }
  });

  it('treats SQL and NoSQL metacharacters as plain characters: kept literally or refused by shape (SEC-73 §2)', () => {
    const kept = ["o'neil@x.io", "admin'--@x.io", '%@x.io', '_@x.io', '$1@x.io', '$ne@x.io', 'a%_b@x.io'];
    for (const input of kept) assert.equal(value(canonicalizeEmail(input)), input, input);
    const refused = ["' OR '1'='1", "' OR '1'='1'@x.io", '"; DROP TABLE users;--', "';SELECT pg_sleep(5)--@x.io", 'a\\b@x.io'];
    for (const input of refused) assert.equal(canonicalizeEmail(input).ok, false, input);
  });
});

describe('canonicalizeUsername (SEC-18)', () => {
  it('folds look-alikes as NFKC does and keeps ı, ß and Cyrillic apart (SEC-18 §2)', () => {
    const cases: [string, string][] = [
      ['ｍｉｋｅ', 'mike'],
      ['ᴮᴵᴳ', 'big'],
      ['\u212Aate', 'kate'],
      ['\uFB01sh', 'fish'],
      ['MIKE', 'mike'],
      ['mıke', 'm\u0131ke'],
      ['Straße', 'straße'],
      ['\u0430dmin', '\u0430dmin'],
      ['Jose\u0301', 'jos\u00e9'],
      ['\u00a0mike_01\u00a0', 'mike_01'],
      ['Ελένη', 'ελένη'],
      ['日本語', '日本語'],
    ];
    for (const [input, expected] of cases) assert.equal(value(canonicalizeUsername(input)), expected, input);
    assert.notEqual(value(canonicalizeUsername('\u0430dmin')), value(canonicalizeUsername('admin')));
  });

  it('refuses "@", so that a login with "@" is always an email address', () => {
    assert.match(reason(canonicalizeUsername('mike@x.io')), /must not contain "@"/);
    assert.match(reason(canonicalizeUsername('mike＠x')), /must not contain "@"/); // fullwidth @ folds to @
  });

  it('counts 3 to 32 code points after canonicalisation', () => {
    assert.equal(value(canonicalizeUsername('abc')), 'abc');
    assert.match(reason(canonicalizeUsername('ab')), /3 to 32 characters/);
    assert.equal(value(canonicalizeUsername('ß'.repeat(32))), 'ß'.repeat(32));
    assert.match(reason(canonicalizeUsername('ß'.repeat(33))), /3 to 32 characters/);
    assert.match(reason(canonicalizeUsername('e\u0301e\u0301')), /3 to 32 characters/); // NFD 4 → NFC 2
    assert.match(reason(canonicalizeUsername('a'.repeat(10_000))), /at most 32 characters/);
  });

  it('allows letters, marks, digits, "_", "." and "-" only, with at least one letter or digit', () => {
    for (const input of ['mike.smith', 'mike-smith', '_mike_', 'r2d2', 'नमस्ते']) assert.equal(canonicalizeUsername(input).ok, true, input);
    for (const input of ['mi ke', 'mike!', 'mike/..', '😀mike', 'a+b']) assert.match(reason(canonicalizeUsername(input)), /only letters/, input);
    assert.match(reason(canonicalizeUsername('_._')), /at least one letter or digit/);
  });

  it('refuses control, zero-width and direction-override characters (SEC-18, SEC-70)', () => {
    assert.match(reason(canonicalizeUsername('a\nauthn_login_success')), /control characters/);
    assert.match(reason(canonicalizeUsername('mi\u200bke')), /invisible/);
    assert.match(reason(canonicalizeUsername('\u202emike')), /invisible/);
    assert.match(reason(canonicalizeUsername('mi\uD800ke')), /malformed Unicode/);
    assert.match(reason(canonicalizeUsername(`z${'\u0301\u0302\u0303\u0304\u0305\u0306'}ab`)), /combining marks/);
  });

  it('refuses JSON objects, arrays, numbers, booleans and null with "must be a string" (SEC-72 §2)', () => {
    for (const input of NOT_STRINGS) assert.equal(reason(canonicalizeUsername(input)), 'Username must be a string.', JSON.stringify(input));
  });

  it('refuses SQL metacharacters by its shape rules, never interpreting them (SEC-73 §2)', () => {
    for (const input of ["' OR '1'='1", "admin'--", '"; DROP TABLE users;--', '%', '%%%', '\\\\\\', '$1x', "';SELECT pg_sleep(5)--"]) {
      assert.equal(canonicalizeUsername(input).ok, false, input);
    }
    // "_" is an ordinary username character; it is a wildcard only to code that uses LIKE (SEC-73).
    assert.equal(value(canonicalizeUsername('a_b_')), 'a_b_');
  });
});

describe('idempotence: canon(canon(x)) === canon(x) (SEC-18)', () => {
  /** Every §2 Unicode look-alike, plus the pairs that need the second NFKC pass. */
  const CORPUS = [
    'mıke@x.io', 'mike@x.io', '\u212A@x.io', 'ß@x.io', 'ss@x.io', '\u1E9E@x.io', '\uFB01@x.io', 'ᴮᴵᴳ@x.io', 'ｍｉｋｅ@x.io',
    '\u0430dmin@x.io', 'caf\u00e9@x.io', 'cafe\u0301@x.io', 'a\u200B@x.io', 'a\u200D@x.io', '\uFEFFa@x.io', '\u202Ea@x.io',
    '\u00a0a@x.io\u00a0', `z${'\u0336'.repeat(30)}@x.io`, 'a+tag@x.io', 'a@bücher.de', 'a@xn--bcher-kva.de', 'A@X.IO',
    'H\u0331@x.io', 'J\u030C@x.io', 'T\u0308@x.io', '\u0130\u0316@x.io', 'ΟΔΟΣ@x.io', 'ΟΔΟΣ.ΑΒ@x.io', '\u01C5@x.io', '\u2126@x.io',
  ];
  const POOL = [
    ...'abcxyzABCXYZ0189@@@..+-_\'%$ ', '\u00a0', '\u3000', 'ｍ', 'Ｍ', '＠', '．', 'ᴮ', 'ᴵ', '\u212A', 'ß', '\u1E9E', 'ı', 'İ', '\uFB01',
    '\u0430', 'é', '\u0301', '\u0308', '\u0331', '\u0307', '\u0316', 'H', 'J', 'Σ', 'ǅ', '\u200B', '\u202E', '\uFEFF', '\r', '\n',
    '\u0000', '\uD800', '😀', '日', 'ü', '½', 'ⅻ', '①', '\u2126',
  ];

  /** mulberry32: a seeded PRNG so a failure can be replayed. */
  function random(seed: number): () => number {
    return () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  function randomString(next: () => number, length: number): string {
    let s = '';
    for (let i = 0; i < length; i++) s += POOL[Math.floor(next() * POOL.length)];
    return s;
  }

  function assertIdempotent(canon: (input: unknown) => CanonicalIdentifier, inputs: string[]): number {
    let accepted = 0;
    for (const input of inputs) {
      const once = canon(input);
      if (!once.ok) continue;
      accepted++;
      const twice = canon(once.value);
      assert.deepEqual(twice, once, `not idempotent for ${JSON.stringify(input)}`);
    }
    return accepted;
  }

  it('holds for every §2 look-alike, as email and as username (SEC-18)', () => {
    assert.ok(assertIdempotent(canonicalizeEmail, CORPUS) >= 20);
    assert.ok(assertIdempotent(canonicalizeUsername, CORPUS.map((s) => s.replace('@x.io', 'abc'))) >= 15);
  });

  it('holds where lower-casing un-normalises: "H\\u0331" lower-cases to "h\\u0331", which NFKC composes to "ẖ" (SEC-18)', () => {
    assert.equal(value(canonicalizeEmail('H\u0331@x.io')), '\u1E96@x.io');
    assert.equal(value(canonicalizeEmail('\u1E96@x.io')), '\u1E96@x.io');
    assert.equal(value(canonicalizeUsername('\u0130\u0316ab')), 'i\u0316\u0307ab');
  });

  it('holds for 20 000 seeded random strings built from look-alikes, controls and marks (SEC-18)', () => {
    const next = random(0x1a7c4);
    const emails: string[] = [];
    const names: string[] = [];
    for (let i = 0; i < 10_000; i++) {
      emails.push(`${randomString(next, 1 + Math.floor(next() * 8))}@${randomString(next, 1 + Math.floor(next() * 4))}.io`);
      names.push(randomString(next, 1 + Math.floor(next() * 10)));
    }
    const acceptedEmails = assertIdempotent(canonicalizeEmail, emails);
    const acceptedNames = assertIdempotent(canonicalizeUsername, names);
    // Not a vacuous property: a good share of the corpus is accepted.
    assert.ok(acceptedEmails > 500, `only ${acceptedEmails} emails accepted`);
    assert.ok(acceptedNames > 500, `only ${acceptedNames} usernames accepted`);
  });

  it('never throws, whatever the input (SEC-72)', () => {
    const next = random(7);
    for (let i = 0; i < 5_000; i++) {
      const input = randomString(next, Math.floor(next() * 40));
      canonicalizeEmail(input);
      canonicalizeUsername(input);
    }
  });
});
