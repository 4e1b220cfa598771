/**
 * TOTP (SEC-77, SEC-78) through the package's exports: the published vectors of
 * RFC 4648, RFC 4226 and RFC 6238 (test/vectors/otp.json), 200 random (secret, time) pairs checked
 * against an independent implementation (`oathtool`, Debian package of that name, installed by
 * .ci/run), and the attacker's inputs: replays, codes from outside the window, malformed codes.
 *
 * @module test/totp
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { base32Decode, base32Encode, generateTotpSecret, totpCode, totpStep, totpUri, verifyTotp } from '../src/index.ts';

const vectors = JSON.parse(readFileSync(join(import.meta.dirname, 'vectors', 'otp.json'), 'utf8'));
const ascii = (text: string) => new TextEncoder().encode(text);
const RFC_KEY = ascii('12345678901234567890');
const STEP_MS = 30_000;
/** A time (ms) inside step 1, where RFC 4226's counter-1 code '287082' is the current code. */
const AT_STEP_1 = 45_000;

describe('base32 (RFC 4648 §6), the encoding of TOTP secrets', () => {
  it('SEC-77: encodes and decodes the RFC 4648 §10 vectors, without padding, in either case', () => {
    for (const [plain, encoded] of vectors.rfc4648_base32.vectors as [string, string][]) {
      assert.equal(base32Encode(ascii(plain)), encoded);
      assert.deepEqual(base32Decode(encoded), ascii(plain));
      assert.deepEqual(base32Decode(encoded.toLowerCase()), ascii(plain));
    }
  });

  it('SEC-77: round trips 0 to 64 random bytes, and views into a larger buffer', () => {
    for (let n = 0; n <= 64; n++) {
      const bytes = new Uint8Array(randomBytes(n + 3).buffer, 3, n);
      assert.deepEqual(base32Decode(base32Encode(bytes)), new Uint8Array(bytes));
    }
  });

  it('SEC-77 attacker: garbage is null, never a throw: other characters, padding, spaces, impossible lengths, stray bits, non-strings', () => {
    const garbage: unknown[] = ['MY======', 'MZXW 6YTB', ' MZXW6YTB', 'MZXW6YTB\n', 'MZXW1YTB', 'MZXW0YTB', 'MZXW8YTB', 'MZXW-YTB', 'MZXWÉYTB', 'MZXW😀TB', '\u0000', '=', 'M', 'MZX', 'MZXW6Y', 'MZ', 'MZXR', 'ＭＹ'];
    garbage.push(42, null, undefined, ['MY'], { toString: () => 'MY' }, ascii('MY'));
    for (const value of garbage) assert.equal(base32Decode(value), null, JSON.stringify(String(value)));
    assert.deepEqual(base32Decode('MY'), ascii('f'), 'the canonical neighbour of MZ decodes');
  });
});

describe('TOTP codes against the RFC vectors (SEC-77)', () => {
  it('SEC-77: RFC 6238 Appendix B, SHA-1 rows: the step and the 8-digit code at each published time', () => {
    assert.deepEqual(ascii(vectors.rfc6238_totp_sha1.secret_ascii), RFC_KEY);
    for (const row of vectors.rfc6238_totp_sha1.rows) {
      assert.equal(totpStep(row.seconds * 1000), row.step, `step at ${row.seconds}`);
      assert.equal(totpCode(RFC_KEY, row.step, 8), row.code, `code at ${row.seconds}`);
      assert.equal(totpCode(base32Encode(RFC_KEY), row.step, 8), row.code, 'the same secret as base32 text');
    }
  });

  it('SEC-77: RFC 4226 Appendix D: the 6-digit HOTP values of counters 0 to 9', () => {
    vectors.rfc4226_hotp.codes.forEach((code: string, counter: number) => assert.equal(totpCode(RFC_KEY, counter), code, `counter ${counter}`));
  });

  it('SEC-77: 30-second steps from T0 = 0 on a millisecond clock, exact at the boundaries', () => {
    assert.equal(totpStep(0), 0);
    assert.equal(totpStep(STEP_MS - 1), 0);
    assert.equal(totpStep(STEP_MS), 1);
    assert.equal(totpStep(59_999), 1);
    assert.equal(totpStep(60_000), 2);
    assert.equal(totpStep(59_999, 60), 0);
    assert.equal(totpStep(60_000, 60), 1);
    for (const bad of [-1, Number.NaN, Infinity]) assert.throws(() => totpStep(bad), TypeError);
    for (const bad of [0, 1.5, -30]) assert.throws(() => totpStep(0, bad), TypeError);
  });

  it('SEC-77: a new secret is 160 bits from the given randomBytes, as 32 base32 characters; every call differs', () => {
    const asked: number[] = [];
    const secret = generateTotpSecret((size) => {
      asked.push(size);
      return RFC_KEY;
    });
    assert.deepEqual(asked, [20]);
    assert.equal(secret, 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
    const drawn = new Set(Array.from({ length: 50 }, () => generateTotpSecret()));
    assert.equal(drawn.size, 50);
    for (const value of drawn) assert.equal(base32Decode(value)?.byteLength, 20);
    assert.throws(() => generateTotpSecret(() => new Uint8Array(16)), TypeError);
  });

  it('SEC-77: secrets under 128 bits, secrets that are not base32, 5 or 9 digits are the caller\'s misuse: TypeError', () => {
    assert.throws(() => totpCode(new Uint8Array(15), 1), TypeError);
    assert.throws(() => totpCode('not base32!', 1), TypeError);
    assert.throws(() => verifyTotp('GEZDGNBVGY3TQOJQ', '123456', AT_STEP_1), TypeError, '80 bits');
    assert.throws(() => totpCode(RFC_KEY, 1, 5), TypeError);
    assert.throws(() => totpCode(RFC_KEY, 1, 9), TypeError);
    assert.throws(() => totpCode(RFC_KEY, -1), TypeError);
    for (const window of [-1, 11, 0.5]) assert.throws(() => verifyTotp(RFC_KEY, '287082', AT_STEP_1, { window }), TypeError);
  });
});

describe('verifyTotp: the window, replays and malformed codes (SEC-77, SEC-78)', () => {
  const codeAt = (step: number) => totpCode(RFC_KEY, step);

  it('SEC-77: accepts the previous, current and next step, at the first and last millisecond of a step, and says which', () => {
    const step = 1000;
    for (const now of [step * STEP_MS, step * STEP_MS + STEP_MS - 1]) {
      for (const offset of [-1, 0, 1]) assert.deepEqual(verifyTotp(RFC_KEY, codeAt(step + offset), now), { ok: true, step: step + offset });
    }
    assert.deepEqual(verifyTotp(base32Encode(RFC_KEY), codeAt(step), step * STEP_MS), { ok: true, step }, 'the secret as base32');
    assert.deepEqual(verifyTotp(RFC_KEY, '755224', 0), { ok: true, step: 0 }, 'step 0 has no previous step');
  });

  it('SEC-77 attacker: a code from two steps away is refused, on either side; window 0 refuses the neighbours', () => {
    const step = 1000;
    for (const now of [step * STEP_MS, step * STEP_MS + STEP_MS - 1]) {
      for (const offset of [-2, 2, -3, 3]) assert.deepEqual(verifyTotp(RFC_KEY, codeAt(step + offset), now), { ok: false }, `offset ${offset}`);
    }
    assert.deepEqual(verifyTotp(RFC_KEY, codeAt(step - 1), step * STEP_MS, { window: 0 }), { ok: false });
    assert.deepEqual(verifyTotp(RFC_KEY, codeAt(step + 1), step * STEP_MS, { window: 0 }), { ok: false });
    assert.deepEqual(verifyTotp(RFC_KEY, codeAt(step + 2), step * STEP_MS, { window: 2 }), { ok: true, step: step + 2 });
  });

  it('SEC-78 attacker: a replayed code gives back the step already used, which the caller\'s last-step check refuses', () => {
    // The caller's side of SEC-78, as the docs of verifyTotp prescribe.
    let lastStep = -1;
    const login = (code: unknown, now: number) => {
      const result = verifyTotp(RFC_KEY, code, now);
      if (!result.ok || result.step <= lastStep) return false;
      lastStep = result.step;
      return true;
    };
    const step = 2000;
    const code = codeAt(step);
    assert.equal(login(code, step * STEP_MS + 1_000), true, 'the user');
    assert.deepEqual(verifyTotp(RFC_KEY, code, step * STEP_MS + 20_000), { ok: true, step }, 'the code alone is still valid');
    assert.equal(login(code, step * STEP_MS + 20_000), false, 'the attacker replaying it in the same step');
    assert.equal(login(code, (step + 1) * STEP_MS + 20_000), false, 'the attacker replaying it in the next step');
    assert.equal(login(codeAt(step - 1), step * STEP_MS + 25_000), false, 'an older code, seen earlier');
    assert.equal(login(codeAt(step + 1), (step + 1) * STEP_MS), true, 'the next code, once');
  });

  it('SEC-78: when one code matches two steps of the window, the later step is returned so its whole window is spent', () => {
    const { secret, step, code } = vectors.adjacent_step_collision;
    assert.equal(totpCode(secret, step), code);
    assert.equal(totpCode(secret, step + 1), code, 'the fixture still collides');
    assert.deepEqual(verifyTotp(secret, code, step * STEP_MS), { ok: true, step: step + 1 });
    assert.deepEqual(verifyTotp(secret, code, (step + 1) * STEP_MS), { ok: true, step: step + 1 });
  });

  it('SEC-77 attacker: anything but exactly 6 ASCII digits is refused without a throw', () => {
    assert.deepEqual(verifyTotp(RFC_KEY, '287082', AT_STEP_1), { ok: true, step: 1 }, 'the valid code, so that each refusal below is about its form');
    const malformed: unknown[] = [287082, 287082n, ['287082'], { code: '287082' }, { toString: () => '287082' }, null, undefined, true, '', '28708', '2870820', '94287082'];
    malformed.push(' 287082', '287082 ', '287082\n', '287 082', '287-082', '+287082', '-287082', '２８７０８２', '٢٨٧٠٨٢', '28708a', '0x4616a', '2.87082', '287082\u0000', '2'.repeat(10_000));
    for (const code of malformed) assert.deepEqual(verifyTotp(RFC_KEY, code, AT_STEP_1), { ok: false }, JSON.stringify(String(code)).slice(0, 40));
  });
});

describe('totpUri: the Key Uri Format', () => {
  it('SEC-77: percent-encodes the label and issuer and spells out SHA1, 6 digits, 30 s', () => {
    const uri = totpUri({ secret: RFC_KEY, account: 'ada+1@example.com', issuer: 'Example & Co/Ünï' });
    assert.equal(uri, 'otpauth://totp/Example%20%26%20Co%2F%C3%9Cn%C3%AF:ada%2B1%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Example%20%26%20Co%2F%C3%9Cn%C3%AF&algorithm=SHA1&digits=6&period=30');
    const parsed = new URL(uri);
    assert.equal(parsed.host, 'totp');
    assert.equal(decodeURIComponent(parsed.pathname), '/Example & Co/Ünï:ada+1@example.com');
    assert.equal(parsed.searchParams.get('issuer'), 'Example & Co/Ünï');
    assert.equal(parsed.searchParams.get('secret'), base32Encode(RFC_KEY));
    assert.equal(totpUri({ secret: 'gezdgnbvgy3tqojqgezdgnbvgy3tqojq', account: 'a', issuer: 'b' }).split('secret=')[1]?.slice(0, 32), 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
  });

  it('SEC-77: refuses a colon in the account or the issuer, an empty one, and a bad secret, with TypeError', () => {
    for (const input of [
      { secret: RFC_KEY, account: 'a:b', issuer: 'X' },
      { secret: RFC_KEY, account: 'a', issuer: 'X:Y' },
      { secret: RFC_KEY, account: '', issuer: 'X' },
      { secret: 'MY======', account: 'a', issuer: 'X' },
    ]) {
      assert.throws(() => totpUri(input), TypeError);
    }
  });
});

/** Why oathtool cannot be used here, or null when it can. */
function oathtoolMissing(): string | null {
  const probe = spawnSync('oathtool', ['--version'], { encoding: 'utf8' });
  if (probe.status === 0) return null;
  const reason = `oathtool is not installed (${probe.error?.message ?? probe.stderr.trim()}): apt-get install oathtool, as .ci/run does`;
  if (process.env.CI === 'true') throw new Error(`${reason} (CI=true: the cross-check must run in CI, not be skipped)`);
  console.log(`# skipping the oathtool cross-check: ${reason}`);
  return reason;
}

function oathtool(secret: string, seconds: number, args: string[] = []): string[] {
  const run = spawnSync('oathtool', ['--totp', '-b', '--now', `@${seconds}`, ...args, secret], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  return run.stdout.trim().split('\n');
}

describe('TOTP against oathtool, an independent implementation (SEC-77)', () => {
  const skip = oathtoolMissing() ?? false;
  const pairs = Array.from({ length: 200 }, (_, i) => ({
    secret: base32Encode(randomBytes(i % 4 === 0 ? 20 : randomInt(16, 65))),
    seconds: randomInt(60, 20_000_000_001),
    digits: i % 5 === 0 ? 8 : 6,
  }));

  it('SEC-77: the codes of 200 random (secret, time) pairs equal oathtool --totp', { skip }, () => {
    for (const { secret, seconds, digits } of pairs) {
      const [expected] = oathtool(secret, seconds, ['-d', String(digits)]);
      assert.equal(totpCode(secret, totpStep(seconds * 1000), digits), expected, `${secret} at ${seconds}`);
    }
  });

  it('SEC-77 attacker: of oathtool --window codes from two steps before to two after, verifyTotp accepts exactly the middle three', { skip }, () => {
    for (const { secret, seconds } of pairs.slice(0, 40)) {
      const codes = oathtool(secret, seconds - 2 * 30, ['-w', '4']);
      assert.equal(codes.length, 5);
      const step = totpStep(seconds * 1000);
      for (let i = 1; i <= 3; i++) {
        const later = codes.lastIndexOf(codes[i] as string, 3); // the later step, if the same digits come again in the window
        assert.deepEqual(verifyTotp(secret, codes[i], seconds * 1000), { ok: true, step: step + later - 2 }, `${secret} at ${seconds}, offset ${i - 2}`);
      }
      for (const i of [0, 4]) {
        if (codes.slice(1, 4).includes(codes[i] as string)) continue; // the same 6 digits as a code in the window (about 1 in 10^5)
        assert.deepEqual(verifyTotp(secret, codes[i], seconds * 1000), { ok: false }, `${secret} at ${seconds}, offset ${i - 2}`);
      }
    }
  });
});
