import assert from 'node:assert/strict';
import { argon2, scrypt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { HasherBusyError, LatchkeyError } from '../src/errors.ts';
import { parseArgon2 } from '../src/passwords/argon2.ts';
import { bcryptBytes, parseBcrypt } from '../src/passwords/bcrypt.ts';
import { PasswordHasher } from '../src/passwords/hasher.ts';
import { hashScrypt, parseLegacy } from '../src/passwords/legacy.ts';

interface Fixture {
  scheme: string;
  password: string;
  hash: string;
  source: string;
}

/** Made by test/vectors/generate-password-fixtures.py with werkzeug, Django, pyca/bcrypt and argon2-cffi. */
const fixtures: Fixture[] = JSON.parse(readFileSync(new URL('./vectors/password-hashes.json', import.meta.url), 'utf8'));

const PHC = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

function fixture(scheme: string, predicate: (f: Fixture) => boolean = () => true): Fixture {
  const found = fixtures.find((f) => f.scheme === scheme && predicate(f));
  assert.ok(found, `no ${scheme} fixture`);
  return found;
}

async function elapsed(run: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await run();
  return performance.now() - start;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

describe('known answers from independent implementations (SEC-03)', () => {
  const hasher = new PasswordHasher();

  it('covers every scheme the hasher reads, from the fixture file', () => {
    const schemes = new Set(fixtures.map((f) => f.scheme));
    for (const scheme of ['argon2id', 'argon2i', 'argon2d', 'bcrypt', 'werkzeug-pbkdf2', 'werkzeug-scrypt', 'django-pbkdf2', 'scrypt']) {
      assert.ok(schemes.has(scheme), scheme);
    }
  });

  for (const f of fixtures) {
    const label = JSON.stringify(f.password).slice(0, 40);
    it(`verifies ${f.scheme} ${label} made by ${f.source}, and refuses a wrong password (SEC-03)`, async () => {
      const right = await hasher.verify(f.password, f.hash);
      const current = /^\$argon2id\$v=19\$m=(\d+),t=(\d+)/.exec(f.hash);
      const isCurrent = current !== null && Number(current[1]) >= 19456 && Number(current[2]) >= 2;
      assert.deepEqual(right, { ok: true, needsRehash: !isCurrent });
      // A changed first character: bcrypt ignores bytes past 72, so the change must come first.
      assert.deepEqual(await hasher.verify(`!${f.password}`, f.hash), { ok: false, needsRehash: false });
    });
  }

  it('uses a crypto.argon2 that gives the argon2id test vector of RFC 9106 §5.3', async () => {
    const tag = await new Promise<Buffer>((resolve, reject) =>
      argon2('argon2id', {
        message: Buffer.alloc(32, 1), nonce: Buffer.alloc(16, 2), secret: Buffer.alloc(8, 3), associatedData: Buffer.alloc(12, 4),
        parallelism: 4, tagLength: 32, memory: 32, passes: 3,
      }, (error, key) => (error ? reject(error) : resolve(key))),
    );
    assert.equal(tag.toString('hex'), '0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659');
  });
});

/** crypt_blowfish 1.3 `wrapper.c` (Openwall), the `$2x$` rows left out: passwords as Latin-1 bytes. */
const OPENWALL: Array<[string, string]> = [
  ['$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW', 'U*U'],
  ['$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK', 'U*U*'],
  ['$2a$05$XXXXXXXXXXXXXXXXXXXXXOAcXxm9kjPGEMsLznoKqmqw7tc8WCx4a', 'U*U*U'],
  ['$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui', '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789chars after 72 are ignored'],
  ['$2y$05$/OK.fbVrR/bpIqNJ5ianF.CE5elHaaO4EbggVDjb8P19RukzXSM3e', '\xff\xff\xa3'],
  ['$2a$05$/OK.fbVrR/bpIqNJ5ianF.nqd1wy.pTMdcvrRWxyiGL2eMz.2a85.', '\xff\xff\xa3'],
  ['$2b$05$/OK.fbVrR/bpIqNJ5ianF.CE5elHaaO4EbggVDjb8P19RukzXSM3e', '\xff\xff\xa3'],
  ['$2y$05$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq', '\xa3'],
  ['$2a$05$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq', '\xa3'],
  ['$2b$05$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq', '\xa3'],
  ['$2y$05$/OK.fbVrR/bpIqNJ5ianF.o./n25XVfn6oAPaUvHe.Csk4zRfsYPi', '\xff\xa334\xff\xff\xff\xa3345'],
  ['$2a$05$/OK.fbVrR/bpIqNJ5ianF.ZC1JEJ8Z4gPfpe1JOr/oyPXTWl9EFd.', '\xff\xa334\xff\xff\xff\xa3345'],
  ['$2y$05$/OK.fbVrR/bpIqNJ5ianF.nRht2l/HRhr6zmCp9vYUvvsqynflf9e', '\xff\xa3345'],
  ['$2a$05$/OK.fbVrR/bpIqNJ5ianF.nRht2l/HRhr6zmCp9vYUvvsqynflf9e', '\xff\xa3345'],
  ['$2a$05$/OK.fbVrR/bpIqNJ5ianF.6IflQkJytoRVc1yuaNtHfiuq.FRlSIS', '\xa3ab'],
  ['$2y$05$/OK.fbVrR/bpIqNJ5ianF.6IflQkJytoRVc1yuaNtHfiuq.FRlSIS', '\xa3ab'],
  ['$2a$05$/OK.fbVrR/bpIqNJ5ianF.swQOIzjOiJ9GHEPuhEkvqrUyvWhEMx6', `${'\xaa'.repeat(72)}chars after 72 are ignored as usual`],
  ['$2a$05$/OK.fbVrR/bpIqNJ5ianF.R9xrDjiycxMbQE2bp.vgqlYpW5wx2yy', '\xaa\x55'.repeat(36)],
  ['$2a$05$/OK.fbVrR/bpIqNJ5ianF.9tQZzcJfm3uj2NvJ/n5xkhpqLrMpWCe', '\x55\xaa\xff'.repeat(24)],
  ['$2a$05$CCCCCCCCCCCCCCCCCCCCC.7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy', ''],
];

/** OpenBSD's regress tests and passlib's (py-bcrypt, JtR), as collected in bcrypt_elixir and passlib. */
const OPENBSD: Array<[string, string]> = [
  ['$2a$05$CCCCCCCCCCCCCCCCCCCCC.6.O1dLNbjod2uo0DVcW.jHucKbPDdHS', '0'.repeat(72)],
  ['$2b$05$CCCCCCCCCCCCCCCCCCCCC.6.O1dLNbjod2uo0DVcW.jHucKbPDdHS', '0'.repeat(72)],
  ['$2b$05$CCCCCCCCCCCCCCCCCCCCC.XxrQqgBi/5Sxuq9soXzDtjIZ7w5pMfK', '0123456789'.repeat(26).slice(0, 259)],
  ['$2b$05$CCCCCCCCCCCCCCCCCCCCC.XxrQqgBi/5Sxuq9soXzDtjIZ7w5pMfK', '0123456789'.repeat(26).slice(0, 260)],
  ['$2a$04$R1lJ2gkNaoPGdafE.H.16.1MKHPvmKwryeulRe225LKProWYwt9Oi', '0123456789'.repeat(26).slice(0, 256)],
  ['$2a$04$R1lJ2gkNaoPGdafE.H.16.1MKHPvmKwryeulRe225LKProWYwt9Oi', '0123456789'.repeat(26).slice(0, 259)],
  ['$2a$05$c92SVSfjeiCD6F2nAD6y0uBpJDjdRkt0EgeC4/31Rf2LUZbDRDE.O', 'U*U*U*U*'],
  ['$2a$05$.WRrXibc1zPgIdRXYfv.4uu6TD1KWf0VnHzq/0imhUhuxSxCyeBs2', '*U*U*U*U'],
  ['$2a$06$DCq7YPn5Rq63x1Lad4cll.TV4S6ytwfsfvkgY8jIucDrjc8deX1s.', ''],
  ['$2a$10$k87L/MF28Q673VKh8/cPi.SUl7MU/rWuSiIDDFayrKk/1tBsSQu4u', 'a'],
  ['$2a$10$WvvTPHKwdBJ3uk0Z37EMR.hLA2W6N9AEBhEgrAOljy2Ae5MtaSIUi', 'abc'],
];

/** UTF-8 vectors: passlib's, and the StackOverflow π one used by Bouncy Castle. */
const UTF8: Array<[string, string]> = [
  ['$2a$05$Z17AXnnlpzddNUvnC6cZNOSwMA/8oNiKnHTHTwLlBijfucQQlHjaG', 't\u00e1\u0411\u2113\u0259'],
  ['$2b$05$Z17AXnnlpzddNUvnC6cZNOSwMA/8oNiKnHTHTwLlBijfucQQlHjaG', 't\u00e1\u0411\u2113\u0259'],
  ['$2a$10$.TtQJ4Jr6isd4Hp.mVfZeuh6Gws4rOQ/vdBczhDx.19NFK0Y84Dle', 'ππππππππ'],
];

describe('bcrypt verification (SEC-03, SEC-04)', () => {
  const hasher = new PasswordHasher();

  it('reproduces the Openwall crypt_blowfish vectors byte for byte, $2a$ safety bit included', async () => {
    for (const [hash, password] of OPENWALL) {
      const setting = parseBcrypt(hash);
      assert.ok(setting, hash);
      assert.equal(await bcryptBytes(Buffer.from(password, 'latin1'), setting), hash, JSON.stringify(password));
    }
  });

  it('reproduces the OpenBSD and passlib vectors, truncating $2a$ like $2b$ at 72 bytes', async () => {
    for (const [hash, password] of OPENBSD) {
      assert.deepEqual(await hasher.verify(password, hash), { ok: true, needsRehash: true }, hash);
    }
  });

  it('hashes a password as UTF-8, as passlib and Bouncy Castle do', async () => {
    for (const [hash, password] of UTF8) assert.equal((await hasher.verify(password, hash)).ok, true, hash);
  });

  it('reads only 72 bytes, so a different tail matches: one reason to rehash (SEC-06)', async () => {
    const long = fixture('bcrypt', (f) => f.password.length > 72);
    const sameFirst72 = `${long.password.slice(0, 72)}-another-tail`;
    assert.deepEqual(await hasher.verify(sameFirst72, long.hash), { ok: true, needsRehash: true });
    assert.deepEqual(await hasher.verify(long.password.slice(0, 71), long.hash), { ok: false, needsRehash: false });
  });

  it('never matches a password with a NUL, which C bcrypt would cut short (SEC-09)', async () => {
    const uu = '$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW';
    assert.equal((await hasher.verify('U*U', uu)).ok, true);
    assert.equal((await hasher.verify('U*U\0anything', uu)).ok, false);
  });

  it('treats costs outside 4..16, $2x$ and non-canonical salts as unverifiable (SEC-12)', async () => {
    const tail = 'CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW';
    for (const hash of [`$2a$03$${tail}`, `$2a$17$${tail}`, `$2a$31$${tail}`, `$2x$05$${tail}`, `$2$05$${tail}`,
      '$2a$05$CCCCCCCCCCCCCCCCCCCCCDE5YPO9kmyuRGyh0XouQYb4YMJKvyOeW']) {
      assert.equal(parseBcrypt(hash), null, hash);
      assert.deepEqual(await hasher.verify('U*U', hash), { ok: false, needsRehash: true }, hash);
    }
  });

  it('verifies cost 10 in well under 200 ms and keeps the event loop turning (SEC-12)', async (t) => {
    const f = fixture('bcrypt', (x) => x.hash.startsWith('$2b$10$'));
    await hasher.verify(f.password, f.hash); // warm the JIT
    // Off the event loop: timers keep firing while each verification runs. A synchronous bcrypt
    // would let none fire before it returned, however fast or slow the machine (no clock asserted).
    for (let i = 0; i < 3; i++) {
      let ticks = 0;
      const timer = setInterval(() => ticks++, 1);
      const times: number[] = [];
      times.push(await elapsed(() => hasher.verify(f.password, f.hash)));
      clearInterval(timer);
      t.diagnostic(`bcrypt cost 10 verify: ${times[0]!.toFixed(1)} ms, ${ticks} timer ticks meanwhile`);
      assert.ok(ticks >= 1, 'the event loop ran while bcrypt verified');
    }
  });
});

describe('argon2id hashes (SEC-01)', () => {
  const hasher = new PasswordHasher();

  it('are PHC strings with m=19456, t=2, p=1, a 16-byte salt and a 32-byte tag', async (t) => {
    const password = 'correct horse battery staple';
    const start = performance.now();
    const stored = await hasher.hash(password);
    t.diagnostic(`argon2id hash m=19456 t=2 p=1: ${(performance.now() - start).toFixed(1)} ms`);
    const match = PHC.exec(stored);
    assert.ok(match, stored);
    const [, m, tPasses, p, salt, tag] = match as unknown as [string, string, string, string, string, string];
    assert.deepEqual([Number(m), Number(tPasses), Number(p)], [19456, 2, 1]);
    assert.equal(Buffer.from(salt, 'base64').length, 16);
    assert.equal(Buffer.from(tag, 'base64').length, 32);
    assert.ok(!salt.includes('=') && !tag.includes('='), 'base64 without padding, as the reference library writes it');
    assert.deepEqual(await hasher.verify(password, stored), { ok: true, needsRehash: false });
  });

  it('differ for two users with the same password: fresh salt each time', async () => {
    const [a, b] = await Promise.all([hasher.hash('same password for two users'), hasher.hash('same password for two users')]);
    assert.notEqual(a, b);
    assert.notEqual(PHC.exec(a)?.[4], PHC.exec(b)?.[4]);
    assert.equal((await hasher.verify('same password for two users', b)).ok, true);
  });

  it('run with p=1 on this Node, although its docs say parallelism must be greater than 1', async () => {
    const key = await new Promise<Buffer>((resolve, reject) =>
      argon2('argon2id', { message: 'x', nonce: Buffer.alloc(16), parallelism: 1, tagLength: 32, memory: 19456, passes: 2 },
        (error, k) => (error ? reject(error) : resolve(k))),
    );
    assert.equal(key.length, 32);
  });

  it('refuse stored parameters that would be a denial of service, quickly (SEC-12)', async () => {
    const salt = 'c2FsdHNhbHRzYWx0c2FsdA';
    const tag = 'a'.repeat(43);
    for (const params of ['m=2097152,t=2,p=1', 'm=19456,t=101,p=1', 'm=19456,t=2,p=17', 'm=1048576,t=8,p=1', 'm=4,t=2,p=1']) {
      const stored = `$argon2id$v=19$${params}$${salt}$${tag}`;
      assert.equal(parseArgon2(stored), null, params);
      // Never run with the stored parameters: the refusal costs one dummy verification at the
      // hasher's own (SEC-14), compared side by side with one rather than against a clock
      // (2 GiB or 101 passes would take seconds, t=8 at 1 GiB even more).
      const dummy = await elapsed(() => hasher.verifyDummy('pw'));
      const time = await elapsed(async () => assert.deepEqual(await hasher.verify('pw', stored), { ok: false, needsRehash: true }));
      assert.ok(time < 3 * dummy + 50, `${params} took ${time} ms, a dummy verification ${dummy} ms`);
    }
  });

  it('refuse version 16, keyid/data fields and short salts (SEC-04)', () => {
    const tag = 'a'.repeat(43);
    for (const stored of [
      `$argon2id$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$${tag}`,
      `$argon2id$v=16$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$${tag}`,
      `$argon2id$v=19$m=19456,t=2,p=1,keyid=abc$c2FsdHNhbHRzYWx0c2FsdA$${tag}`,
      `$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$${tag}`,
      `$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA==$${tag}`,
    ]) {
      assert.equal(parseArgon2(stored), null, stored);
    }
  });
});

describe('rehash on login (SEC-03)', () => {
  const hasher = new PasswordHasher();

  it('asks to rehash an argon2id made with m=12288, t=3 once the password matches', async () => {
    const old = fixture('argon2id', (f) => f.hash.includes('m=12288,t=3'));
    assert.deepEqual(await hasher.verify(old.password, old.hash), { ok: true, needsRehash: true });
  });

  it('does not ask to rehash a hash made with the current parameters', async () => {
    const current = fixture('argon2id', (f) => f.hash.includes('m=19456,t=2,p=1'));
    assert.deepEqual(await hasher.verify(current.password, current.hash), { ok: true, needsRehash: false });
  });

  it('asks to rehash werkzeug, Django, bcrypt and scrypt hashes', async () => {
    for (const scheme of ['werkzeug-pbkdf2', 'werkzeug-scrypt', 'django-pbkdf2', 'bcrypt', 'scrypt']) {
      const f = fixture(scheme, (x) => !/:260000\$|\$260000\$|\$2b\$10\$/.test(x.hash));
      assert.deepEqual(await hasher.verify(f.password, f.hash), { ok: true, needsRehash: true }, scheme);
    }
  });

  it('never asks to rewrite the hash after a wrong password', async () => {
    const old = fixture('argon2id', (f) => f.hash.includes('m=12288,t=3'));
    assert.deepEqual(await hasher.verify(`${old.password}!`, old.hash), { ok: false, needsRehash: false });
  });

  it('asks to rehash yesterday’s hashes when the memory cost is raised', async () => {
    const stronger = new PasswordHasher({ memory: 24_576 });
    const current = fixture('argon2id', (f) => f.hash.includes('m=19456,t=2,p=1'));
    assert.deepEqual(await stronger.verify(current.password, current.hash), { ok: true, needsRehash: true });
  });
});

describe('unreadable stored hashes (SEC-04, SEC-14)', () => {
  const hasher = new PasswordHasher();
  const argon2Hash = fixture('argon2id', (f) => f.hash.includes('m=19456,t=2,p=1')).hash;
  const garbage = [
    '', 'x', '$', '$$$', '$argon2id$', `${argon2Hash}$`, `${argon2Hash.slice(0, -3)}=`, argon2Hash.replace('$argon2id$', '$argon2xx$'),
    '$2b$10$short', '$2b$10$' + 'a'.repeat(54), 'pbkdf2:sha256$salt$' + 'a'.repeat(64), 'pbkdf2:sha256:0$salt$' + 'a'.repeat(64),
    'pbkdf2:sha256:99999999$salt$' + 'a'.repeat(64), 'pbkdf2:md5:1000$salt$' + 'a'.repeat(32), 'plain$$hunter2', 'md5$salt$abc',
    'pbkdf2:sha256:1000$salt$' + 'A'.repeat(64), 'scrypt:32768:8:1$salt$deadbeef', 'scrypt$salt$' + 'a'.repeat(128),
    'scrypt:2097152:8:1$salt$' + 'a'.repeat(128), 'pbkdf2_sha256$abc$salt$hash', 'pbkdf2_sha256$1000$$' + 'a'.repeat(44),
    '$scrypt$ln=30,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$' + 'a'.repeat(43), '\u0000', '🔐'.repeat(10), '$'.repeat(5000), 'a'.repeat(100_000),
  ];

  it('answers { ok: false, needsRehash: true } for every garbage string and never throws', async () => {
    for (const stored of garbage) {
      assert.deepEqual(await hasher.verify('hunter2', stored), { ok: false, needsRehash: true }, JSON.stringify(stored.slice(0, 60)));
    }
  });

  it('answers ok: false for well-formed hashes with a tag or key of the wrong length', async () => {
    const werkzeug = fixture('werkzeug-pbkdf2', (f) => f.hash.startsWith('pbkdf2:sha256:1000$')).hash;
    const bcrypt = fixture('bcrypt', (f) => f.hash.startsWith('$2b$04$')).hash;
    for (const stored of [argon2Hash.slice(0, -1), `${argon2Hash}A`, argon2Hash.slice(0, -11), werkzeug.slice(0, -2), `${werkzeug}00`,
      bcrypt.slice(0, -1), `${bcrypt}a`]) {
      assert.equal((await hasher.verify('hunter2', stored)).ok, false, stored);
    }
  });

  it('spends about one verification on a garbage string, so timing does not tell it from a wrong password', async () => {
    const garbageTimes: number[] = [];
    const wrongTimes: number[] = [];
    for (let i = 0; i < 5; i++) {
      garbageTimes.push(await elapsed(() => hasher.verify('hunter2', 'not a hash')));
      wrongTimes.push(await elapsed(() => hasher.verify('hunter2', argon2Hash)));
    }
    assert.ok(median(garbageTimes) > 0.5 * median(wrongTimes), `garbage ${median(garbageTimes)} ms vs wrong ${median(wrongTimes)} ms`);
  });

  it('throws TypeError for a stored hash that is not a string (misuse)', async () => {
    await assert.rejects(hasher.verify('hunter2', null as unknown as string), TypeError);
    await assert.rejects(hasher.verify('hunter2', 42 as unknown as string), TypeError);
  });
});

describe('passwords are hashed as given (SEC-06, SEC-09)', () => {
  const hasher = new PasswordHasher();

  it('round-trips a password containing NUL and does not match its prefix', async () => {
    const stored = await hasher.hash('before\0after the NUL');
    assert.equal((await hasher.verify('before\0after the NUL', stored)).ok, true);
    assert.equal((await hasher.verify('before', stored)).ok, false);
  });

  it('does not trim: "pw " is not "pw"', async () => {
    const stored = await hasher.hash('trailing space ');
    assert.equal((await hasher.verify('trailing space', stored)).ok, false);
  });

  it('hashes 1024 UTF-8 bytes, and refuses 1025 with TypeError before any hashing', async () => {
    const max = 'é'.repeat(512);
    assert.equal(Buffer.byteLength(max), 1024);
    assert.equal((await hasher.verify(max, await hasher.hash(max))).ok, true);
    const over = `${max}x`;
    for (const call of [() => hasher.hash(over), () => hasher.verify(over, 'x'), () => hasher.verifyDummy(over)]) {
      const promise = call();
      assert.deepEqual(hasher.stats, { running: 0, queued: 0 });
      await assert.rejects(promise, TypeError);
    }
  });

  it('refuses a 1 MB password at once and a non-string password', async () => {
    const huge = hasher.hash('a'.repeat(1_000_000));
    assert.deepEqual(hasher.stats, { running: 0, queued: 0 }, 'refused before any hashing');
    await assert.rejects(huge, TypeError);
    await assert.rejects(hasher.hash(undefined as unknown as string), TypeError);
    await assert.rejects(hasher.verify(Buffer.from('pw') as unknown as string, 'x'), TypeError);
  });
});

describe('dummy verification for unknown users (SEC-14)', () => {
  it('runs one verification with the current parameters', async () => {
    const hasher = new PasswordHasher();
    const stored = await hasher.hash('the real password');
    const dummy: number[] = [];
    const wrong: number[] = [];
    for (let i = 0; i < 5; i++) {
      const promise = hasher.verifyDummy('a guess');
      assert.deepEqual(hasher.stats, { running: 1, queued: 0 });
      dummy.push(await elapsed(() => promise));
      wrong.push(await elapsed(() => hasher.verify('a guess', stored)));
    }
    assert.equal(await hasher.verifyDummy('a guess'), undefined);
    assert.ok(median(dummy) > 0.5 * median(wrong) && median(dummy) < 2 * median(wrong), `dummy ${median(dummy)} ms, wrong ${median(wrong)} ms`);
  });

  it('follows the configured cost', async () => {
    const cheap = new PasswordHasher({ memory: 1024, passes: 1, allowWeakParameters: true });
    const costly = new PasswordHasher({ memory: 65_536, passes: 3 });
    await cheap.verifyDummy('warm');
    const cheapTime = median(await Promise.all([0, 1, 2].map(() => elapsed(() => cheap.verifyDummy('x')))));
    const costlyTime = await elapsed(() => costly.verifyDummy('x'));
    assert.ok(costlyTime > 3 * cheapTime, `costly ${costlyTime} ms vs cheap ${cheapTime} ms`);
  });
});

describe('bounded concurrency (SEC-12)', () => {
  it('runs at most maxConcurrent of 20 hashes at once and queues the rest', async () => {
    const hasher = new PasswordHasher({ maxConcurrent: 2 });
    let maxRunning = 0;
    let maxQueued = 0;
    const sample = (): void => {
      maxRunning = Math.max(maxRunning, hasher.stats.running);
      maxQueued = Math.max(maxQueued, hasher.stats.queued);
    };
    const calls: Array<Promise<string>> = [];
    for (let i = 0; i < 20; i++) {
      calls.push(hasher.hash(`password ${i}`));
      sample();
    }
    const sampler = setInterval(sample, 1);
    const hashes = await Promise.all(calls.map((call) => call.finally(sample)));
    clearInterval(sampler);
    assert.equal(maxRunning, 2);
    assert.equal(maxQueued, 18);
    assert.equal(new Set(hashes).size, 20);
    assert.deepEqual(hasher.stats, { running: 0, queued: 0 });
    assert.equal((await hasher.verify('password 7', hashes[7] as string)).ok, true);
  });

  it('refuses calls beyond maxQueue at once with ERR_LATCHKEY_HASHER_BUSY, then recovers', async () => {
    const hasher = new PasswordHasher({ maxConcurrent: 2, maxQueue: 3 });
    const accepted = [hasher.hash('a'), hasher.verify('b', 'garbage'), hasher.verifyDummy('c'), hasher.hash('d'), hasher.hash('e')];
    assert.deepEqual(hasher.stats, { running: 2, queued: 3 });
    // "At once" without a clock (tests never time themselves): each refusal settles while the two
    // running hashes and the three queued ones are all still pending, so it waited for none of them.
    let settled = 0;
    for (const p of accepted) void p.then(() => settled++);
    for (const extra of [hasher.hash('f'), hasher.verify('g', 'x'), hasher.verifyDummy('h')]) {
      await assert.rejects(extra, (error: unknown) => {
        assert.ok(error instanceof HasherBusyError);
        assert.ok(error instanceof LatchkeyError);
        assert.equal(error.code, 'ERR_LATCHKEY_HASHER_BUSY');
        assert.equal(error.name, 'HasherBusyError');
        return true;
      });
      assert.equal(settled, 0, 'refused before any accepted hash finished');
      assert.deepEqual(hasher.stats, { running: 2, queued: 3 });
    }
    await Promise.all(accepted);
    assert.deepEqual(hasher.stats, { running: 0, queued: 0 });
    assert.match(await hasher.hash('after the rush'), /^\$argon2id\$/);
  });
});

describe('options are checked once (SEC-01)', () => {
  it('default to m=19456, t=2, p=1, 2 at once, 64 waiting, frozen', () => {
    const hasher = new PasswordHasher();
    assert.deepEqual(hasher.options, { memory: 19456, passes: 2, parallelism: 1, maxConcurrent: 2, maxQueue: 64, allowWeakParameters: false });
    assert.ok(Object.isFrozen(hasher.options));
  });

  it('refuse parameters below SEC-01 unless allowWeakParameters is set, and misuse', () => {
    for (const options of [
      { memory: 12_288 }, { passes: 1 }, { memory: 19_456.5 }, { parallelism: 0 }, { parallelism: 17 }, { maxConcurrent: 0 },
      { maxQueue: -1 }, { memory: 2_000_000 }, { memory: 1_048_576, passes: 8 }, { memoryCost: 19456 }, { allowWeakParameters: 'yes' },
      { memory: '19456' },
    ]) {
      assert.throws(() => new PasswordHasher(options as never), TypeError, JSON.stringify(options));
    }
    assert.throws(() => new PasswordHasher(null as never), TypeError);
  });

  it('make cheap hashes for tests with allowWeakParameters', async () => {
    const weak = new PasswordHasher({ memory: 1024, passes: 1, allowWeakParameters: true });
    const stored = await weak.hash('fast test password');
    assert.match(stored, /^\$argon2id\$v=19\$m=1024,t=1,p=1\$/);
    assert.deepEqual(await weak.verify('fast test password', stored), { ok: true, needsRehash: false });
    assert.deepEqual(await new PasswordHasher().verify('fast test password', stored), { ok: true, needsRehash: true });
  });
});

describe('scrypt fallback (SEC-02)', () => {
  it('hashes with N=2^17, r=8, p=1 and a 16-byte salt, and verifies, asking for argon2id', async () => {
    const stored = await hashScrypt('correct horse battery staple');
    const match = /^\$scrypt\$ln=17,r=8,p=1\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(stored);
    assert.ok(match, stored);
    assert.equal(Buffer.from(match[1] as string, 'base64').length, 16);
    assert.equal(Buffer.from(match[2] as string, 'base64').length, 32);
    const parsed = parseLegacy(stored);
    assert.equal(parsed?.scheme, 'scrypt');
    assert.deepEqual(await new PasswordHasher().verify('correct horse battery staple', stored), { ok: true, needsRehash: true });
  });

  it('needs maxmem raised: Node refuses N=2^17 under its 32 MiB default', async () => {
    await assert.rejects(
      new Promise((resolve, reject) => scrypt('pw', 'salt', 32, { N: 2 ** 17 }, (e, k) => (e ? reject(e) : resolve(k)))),
      { code: 'ERR_CRYPTO_INVALID_SCRYPT_PARAMS' },
    );
  });

  it('refuses a werkzeug string without parameters rather than guess 260000 or 600000 iterations', () => {
    const f = fixture('werkzeug-pbkdf2', (x) => x.hash.startsWith('pbkdf2:sha256:260000$'));
    assert.notEqual(parseLegacy(f.hash), null);
    assert.equal(parseLegacy(f.hash.replace(':260000$', '$')), null);
  });
});
