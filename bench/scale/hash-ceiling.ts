/**
 * The argon2id ceiling of this machine, for `bench/scale.ts`: in a process of its own, a
 * `PasswordHasher` with the defaults the app uses (argon2id m=19 MiB t=2 p=1, at most 2 at once)
 * keeps 8 hash() calls in flight for 1 s of warm-up and then `seconds`, and prints one JSON line
 * `{"opsPerSec":…,"msPerOp":…}`, msPerOp being the mean time of one hash on one core. A
 * registration costs one hash and a login one verify (the same work), so the load part's
 * throughput is measured against this.
 *
 *   node --conditions=source bench/scale/hash-ceiling.ts 5
 *
 * @module bench/scale/hash-ceiling
 */
import { PasswordHasher } from '../../src/passwords/hasher.ts';

const seconds = Number(process.argv[2] ?? 5);
const hasher = new PasswordHasher();
const CALLERS = 8;

async function run(ms: number): Promise<number> {
  let done = 0;
  const until = performance.now() + ms;
  await Promise.all(
    Array.from({ length: CALLERS }, async (_, k) => {
      while (performance.now() < until) {
        await hasher.hash(`ceiling password number ${k} ${done}`);
        done++;
      }
    }),
  );
  return done;
}

await run(1_000);
const t0 = performance.now();
const ops = await run(seconds * 1000);
const elapsed = (performance.now() - t0) / 1000;
const concurrent = hasher.options.maxConcurrent;
process.stdout.write(`${JSON.stringify({ opsPerSec: ops / elapsed, msPerOp: (concurrent * 1000 * elapsed) / ops, maxConcurrent: concurrent })}\n`);
