/**
 * CPU and memory accounting of `bench/scale.ts` from /proc (Linux only; elsewhere every figure
 * reads NaN or 0 and the bench still runs): who used the two cores during a phase, and whether
 * something outside the bench did.
 *
 * - `threadGroups(pid)`: a process's CPU by thread group (Node's `MainThread`, the `libuv-worker`
 *   pool where argon2 runs, `V8Worker` GC/JIT helpers, anything else), from
 *   /proc/<pid>/task/<tid>/schedstat (ns on a CPU).
 * - `usage()`: the whole machine's busy ticks (/proc/stat) and the ticks of the bench's own
 *   processes: this process and every live descendant (each with its reaped children, so wrk and
 *   the load client count after they exit), plus the PostgreSQL backends connected to one of the
 *   bench's own databases (their command line names the database). What is left of the machine's
 *   busy time is "others": another test suite, a build, a neighbour.
 *
 * @module bench/scale/procfs
 */
import { readdirSync, readFileSync } from 'node:fs';
import { peakRssMiB } from '../lib.ts';

/** Clock ticks per second of /proc/stat and /proc/<pid>/stat (USER_HZ; 100 on every Linux we meet). */
const HZ = 100;

function read(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** Fields of /proc/<pid>/stat after the command name: index 0 is field 3 (state). */
function statFields(pid: number | 'self'): number[] | null {
  const stat = read(`/proc/${pid}/stat`);
  if (stat === null) return null;
  return stat
    .slice(stat.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);
}


export type ThreadGroup = 'main' | 'libuv' | 'v8' | 'other';
const GROUPS: Record<string, ThreadGroup> = { MainThread: 'main', 'libuv-worker': 'libuv', V8Worker: 'v8' };

export interface ThreadSnapshot {
  readonly ns: Record<ThreadGroup, number>;
  readonly at: number;
}

/** CPU ns of a process so far, by thread group. */
export function threadGroups(pid: number | undefined): ThreadSnapshot {
  const ns: Record<ThreadGroup, number> = { main: 0, libuv: 0, v8: 0, other: 0 };
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    // gone, or no /proc
  }
  for (const tid of tids) {
    const comm = read(`/proc/${pid}/task/${tid}/comm`);
    const sched = read(`/proc/${pid}/task/${tid}/schedstat`);
    if (comm === null || sched === null) continue; // the thread ended meanwhile
    ns[GROUPS[comm.trim()] ?? 'other'] += Number(sched.split(' ')[0]);
  }
  return { ns, at: performance.now() };
}

/** Cores (CPU-seconds per second) each thread group used between two snapshots. */
export function threadCores(before: ThreadSnapshot, after: ThreadSnapshot): Record<ThreadGroup, number> {
  const seconds = (after.at - before.at) / 1000;
  const out = { main: 0, libuv: 0, v8: 0, other: 0 };
  for (const key of Object.keys(out) as ThreadGroup[]) out[key] = (after.ns[key] - before.ns[key]) / 1e9 / seconds;
  return out;
}

/** utime + stime (+ reaped children's) of a process, in ticks; null when it is gone. */
function processTicks(pid: number | 'self'): number | null {
  const f = statFields(pid);
  if (f === null) return null;
  return (f[11] as number) + (f[12] as number) + (f[13] as number) + (f[14] as number);
}

/** pid → parent pid, for every process. */
function parents(): Map<number, number> {
  const map = new Map<number, number>();
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc');
  } catch {
    return map;
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    const f = statFields(Number(name));
    if (f !== null) map.set(Number(name), f[1] as number);
  }
  return map;
}

export interface Usage {
  /** Machine busy ticks (user+nice+system+irq+softirq+steal) and all ticks, summed over CPUs. */
  readonly busy: number;
  readonly total: number;
  /** Ticks per process of the bench (descendants of this process, and our PostgreSQL backends). */
  readonly ours: Map<number, number>;
  /** Ticks of the PostgreSQL backends serving the bench's databases. */
  readonly postgres: number;
  /** Ticks of the bench's processes by command name (/proc/<pid>/comm: redis-server, wrk, node…). */
  readonly byName: Map<string, number>;
  readonly at: number;
}

/**
 * A snapshot of CPU use. `dbPrefix` is the prefix of the bench's PostgreSQL database names: a
 * backend whose command line (`postgres: 15/main: postgres <db> 127.0.0.1(port) idle`) names one
 * is counted as the bench's, not as "others".
 */
export function usage(dbPrefix: string | null): Usage {
  const line = (read('/proc/stat') ?? '').split('\n', 1)[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = v.reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
  const busy = total - (v[3] ?? 0) - (v[4] ?? 0);
  const tree = parents();
  const ours = new Map<number, number>();
  const self = process.pid;
  const mine = (pid: number): boolean => {
    for (let p: number | undefined = pid, hops = 0; p !== undefined && p > 1 && hops < 64; p = tree.get(p), hops++) {
      if (p === self) return true;
    }
    return false;
  };
  let postgres = 0;
  const byName = new Map<string, number>();
  for (const pid of tree.keys()) {
    if (pid === self) continue;
    if (mine(pid)) {
      const t = processTicks(pid);
      if (t !== null) {
        ours.set(pid, t);
        const name = (read(`/proc/${pid}/comm`) ?? '?').trim();
        byName.set(name, (byName.get(name) ?? 0) + t);
      }
    } else if (dbPrefix !== null) {
      const cmd = read(`/proc/${pid}/cmdline`);
      if (cmd !== null && cmd.startsWith('postgres: ') && cmd.includes(` ${dbPrefix}`)) {
        const t = processTicks(pid);
        if (t !== null) {
          ours.set(pid, t);
          postgres += t;
        }
      }
    }
  }
  ours.set(self, processTicks('self') ?? 0);
  return { busy, total, ours, postgres, byName, at: performance.now() };
}

export interface UsageDelta {
  readonly seconds: number;
  /** Cores busy on the whole machine. */
  readonly machine: number;
  /** Cores used by the bench's processes (and its PostgreSQL backends). */
  readonly ours: number;
  /** Cores used by our PostgreSQL backends alone. */
  readonly postgres: number;
  /** machine − ours: what the rest of the machine took, in cores. */
  readonly others: number;
}

/** Cores used between two snapshots. A process that started in between counts from 0. */
export function usageDelta(a: Usage, b: Usage): UsageDelta {
  const seconds = (b.at - a.at) / 1000;
  const cpus = Math.max(1, (b.total - a.total) / HZ / Math.max(seconds, 1e-3));
  let ours = 0;
  for (const [pid, ticks] of b.ours) ours += Math.max(0, ticks - (a.ours.get(pid) ?? 0));
  const machine = ((b.busy - a.busy) / Math.max(1, b.total - a.total)) * cpus;
  const oursCores = ours / HZ / seconds;
  const postgres = Math.max(0, b.postgres - a.postgres) / HZ / seconds;
  return { seconds, machine, ours: oursCores, postgres, others: Math.max(0, machine - oursCores) };
}

/** Cores the bench's processes named `name` used between two snapshots. */
export function namedCores(a: Usage, b: Usage, name: string): number {
  return Math.max(0, (b.byName.get(name) ?? 0) - (a.byName.get(name) ?? 0)) / HZ / ((b.at - a.at) / 1000);
}

/** Cores one process (with its reaped children) used between two snapshots. */
export function processCores(a: Usage, b: Usage, pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  const before = a.ours.get(pid) ?? 0;
  const after = b.ours.get(pid);
  if (after === undefined) return Number.NaN;
  return (after - before) / HZ / ((b.at - a.at) / 1000);
}

/** CPU seconds (utime + stime of all its threads, with reaped children) one process used between two snapshots. */
export function processSeconds(a: Usage, b: Usage, pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  const after = b.ours.get(pid);
  if (after === undefined) return Number.NaN;
  return (after - (a.ours.get(pid) ?? 0)) / HZ;
}

/** CPU seconds of the bench's processes named `name` between two snapshots. */
export function namedSeconds(a: Usage, b: Usage, name: string): number {
  return Math.max(0, (b.byName.get(name) ?? 0) - (a.byName.get(name) ?? 0)) / HZ;
}

/**
 * Waits until the rest of the machine stays under `max` cores for `quietSeconds` in a row, at
 * most `maxWaitSeconds`. Returns the seconds waited and whether it got quiet.
 */
export async function waitForQuiet(dbPrefix: string | null, max: number, quietSeconds: number, maxWaitSeconds: number): Promise<{ waited: number; quiet: boolean; others: number }> {
  const start = performance.now();
  let calm = 0;
  let last = usage(dbPrefix);
  let others = 0;
  while ((performance.now() - start) / 1000 < maxWaitSeconds) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const now = usage(dbPrefix);
    others = usageDelta(last, now).others;
    last = now;
    calm = others <= max ? calm + 1 : 0;
    if (calm >= quietSeconds) return { waited: (performance.now() - start) / 1000, quiet: true, others };
  }
  return { waited: (performance.now() - start) / 1000, quiet: false, others };
}

export { peakRssMiB };
