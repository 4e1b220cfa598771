/**
 * What the benchmarks share: knobs read from the environment, medians, peak memory from /proc,
 * the wrk version, the Lua script that makes wrk send many session cookies in turn, and the
 * reading of its output, stopping a server process, and a summary of a CPU profile. One copy, so
 * the three benches measure and report the same way.
 *
 * @module bench/lib
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A duration knob (`10s`, `1m`, `500ms`) from the environment, in whole seconds (wrk takes those). */
export function seconds(name: string, fallback: string): number {
  const raw = process.env[name] ?? fallback;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(raw.trim());
  if (!m) throw new TypeError(`${name} must be a duration like 10s or 1m, got ${raw}`);
  const scale = { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] ?? 's'] as number;
  return Math.max(1, Math.round(Number(m[1]) * scale));
}

/** A positive integer knob from the environment; unset or empty is `fallback`. */
export function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isSafeInteger(value) || value < 1) throw new TypeError(`${name} must be a positive integer, got ${raw}`);
  return value;
}

/** The median, NaN for no values. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Peak resident set size (VmHWM) of a process, in MiB, or NaN where /proc has none. */
export function peakRssMiB(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Resident set size now (VmRSS) of a process, in MiB, or NaN where /proc has none. */
export function rssMiB(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** How `npm start` runs the app: the environment it sets before `node`, and node's own flags. */
export interface StartEnv {
  /** The `NAME=value` assignments that open package.json's `scripts.start`, in order. */
  readonly vars: Readonly<Record<string, string>>;
  /** The flags between `node` and the script (`--expose-gc`, `--max-semi-space-size=…`), without `--conditions=source`, which every bench passes itself. */
  readonly nodeArgs: readonly string[];
  /** One line for the report: what the bench's app processes get, or a warning. */
  readonly note: string;
}

let startEnvCache: StartEnv | null = null;

/**
 * What opens package.json's `scripts.start` (`MALLOC_ARENA_MAX=1 … node --expose-gc … app/main.ts`),
 * so that a bench starts the app, and the servers that stand for it, as `npm start` does: its
 * environment assignments and node's flags. They decide the memory figures: MALLOC_ARENA_MAX and
 * GLIBC_TUNABLES (one malloc arena, and argon2id's blocks unmapped after each hash), V8's young
 * generation cap, `--expose-gc` for the app's collections (app/idle-gc.ts), and NODE_COMPILE_CACHE
 * (type-stripped sources cached, so the stripper is not loaded). Without MALLOC_ARENA_MAX in the
 * start script the note is a warning. Either way `withStartEnv` drops the malloc variables the shell
 * exported, so that what is measured is what `npm start` runs.
 */
export function startScriptEnv(): StartEnv {
  if (startEnvCache !== null) return startEnvCache;
  const root = join(import.meta.dirname, '..');
  let start = '';
  try {
    start = String((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts?: Record<string, string> }).scripts?.start ?? '');
  } catch {
    // no package.json: nothing to copy
  }
  const vars: Record<string, string> = {};
  const assignments = /([A-Za-z_][A-Za-z0-9_]*)=(\S*)\s+/y;
  let m: RegExpExecArray | null;
  let end = 0;
  while ((m = assignments.exec(start)) !== null) {
    vars[m[1] as string] = m[2] as string;
    end = assignments.lastIndex;
  }
  const rest = start.slice(end).split(/\s+/);
  const nodeArgs: string[] = [];
  if (rest[0] === 'node') for (const arg of rest.slice(1)) {
    if (!arg.startsWith('-')) break;
    if (arg !== '--conditions=source') nodeArgs.push(arg);
  }
  const shown = [...Object.entries(vars).map(([k, v]) => `${k}=${v}`), ...nodeArgs].join(' ');
  const note =
    vars.MALLOC_ARENA_MAX !== undefined ? `${shown} (from package.json scripts.start, as npm start runs the app)`
    : `WARNING: package.json scripts.start ("${start}") does not start with MALLOC_ARENA_MAX=…: the app runs with glibc's default malloc arenas, so its RSS reads higher than with MALLOC_ARENA_MAX=1`;
  startEnvCache = Object.freeze({ vars: Object.freeze(vars), nodeArgs: Object.freeze(nodeArgs), note });
  return startEnvCache;
}

/** `env` with the start script's assignments applied, and the malloc settings removed when it sets none. */
export function withStartEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out = { ...env };
  delete out.MALLOC_ARENA_MAX;
  delete out.GLIBC_TUNABLES;
  return Object.assign(out, startScriptEnv().vars);
}

/**
 * A bench's last lines and exit code: 1 with the first line of each problem (something broke),
 * else 0, whatever the goals said (they are reported, not enforced).
 */
export function finish(problems: readonly string[], log: (line: string) => void): 0 | 1 {
  log('');
  if (problems.length > 0) {
    log(`FAILED: ${problems.length} problem(s):`);
    for (const p of problems) log(`  - ${p.split('\n')[0]}`);
    return 1;
  }
  log('done: nothing broke (the goals above are reported, not enforced)');
  return 0;
}

/** wrk's version, or null when it is not installed. */
export function wrkVersion(): string | null {
  const result = spawnSync('wrk', ['-v'], { encoding: 'utf8' });
  if (result.error) return null;
  return /wrk\s+(\S+)/.exec(`${result.stdout}${result.stderr}`)?.[1] ?? 'unknown';
}

/**
 * Writes `cookies.lua` in `dir`: a wrk script that sends the requests with each Cookie header of
 * `cookies` in turn, and returns its path (for `wrk -s`). Many sessions, because the stores
 * coalesce the session reads of one event-loop turn (src/lib/read-batch.ts): with one cookie a
 * batch would read one row for all its requests, which no site with many users gets. The requests
 * are formatted once, in `init`; `request` only hands the next one out, so wrk's own cost per
 * request stays close to that of a fixed request (which the bare and peer targets send). Pass no
 * Cookie header with `-H` besides: wrk would send both.
 */
export function writeCookieScript(dir: string, cookies: readonly string[]): string {
  if (cookies.length === 0) throw new RangeError('writeCookieScript needs at least one cookie');
  const path = join(dir, 'cookies.lua');
  writeFileSync(
    path,
    [
      `local cookies = { ${cookies.map((c) => JSON.stringify(c)).join(', ')} }`,
      'local requests = {}',
      'local next_index = 0',
      'function init(args)',
      '  for i, cookie in ipairs(cookies) do',
      '    wrk.headers["Cookie"] = cookie',
      '    requests[i] = wrk.format()',
      '  end',
      'end',
      'function request()',
      '  next_index = next_index % #requests + 1',
      '  return requests[next_index]',
      'end',
      '',
    ].join('\n'),
  );
  return path;
}

/** What one `wrk --latency` run measured. */
export interface WrkRun {
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly requests: number;
  readonly non2xx: number;
  readonly socketErrors: number;
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

/** Reads wrk's `--latency` report; throws with the output when a figure is missing. */
export function parseWrk(out: string): WrkRun {
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(out);
  const p50 = /^\s+50%\s+([\d.]+)(us|ms|s|m)\s*$/m.exec(out);
  const p99 = /^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$/m.exec(out);
  const requests = /^\s*(\d+) requests in /m.exec(out);
  if (!rps || !p50 || !p99 || !requests) throw new Error(`could not read wrk's output:\n${out}`);
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out);
  const sockets = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    rps: Number(rps[1]),
    p50Ms: Number(p50[1]) * (UNIT_MS[p50[2] as string] as number),
    p99Ms: Number(p99[1]) * (UNIT_MS[p99[2] as string] as number),
    requests: Number(requests[1]),
    non2xx: non2xx ? Number(non2xx[1]) : 0,
    socketErrors: sockets ? sockets.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0,
  };
}

/** A server process started by {@link startJsonServer}: the first line it printed, parsed. */
export interface JsonServer<T> {
  readonly child: ChildProcess;
  readonly line: T;
  /** The last chunks it wrote to stderr, for error messages. */
  readonly stderr: string[];
}

/**
 * Starts `node --conditions=source <nodeArgs> <script> <args>` as a bench server (NODE_ENV=production,
 * PORT=0, a stdin pipe so that it dies with the driver) and resolves with the JSON line it prints
 * once ready; rejects, naming it `label`, if it exits, prints anything else, or says nothing
 * within `timeoutMs`. `track` is given the child at once, so an interrupted driver can kill it.
 */
export function startJsonServer<T>(
  script: string,
  options: { label: string; args?: readonly string[]; nodeArgs?: readonly string[]; timeoutMs: number; track: (child: ChildProcess) => void; env?: NodeJS.ProcessEnv },
): Promise<JsonServer<T>> {
  const child = spawn(process.execPath, ['--conditions=source', ...(options.nodeArgs ?? []), script, ...(options.args ?? [])], {
    env: { ...(options.env ?? process.env), NODE_ENV: 'production', LATCHKEY_BENCH_CHILD: '1', PORT: '0' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  options.track(child);
  const stderr: string[] = [];
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr.push(chunk);
    if (stderr.length > 50) stderr.shift();
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const fail = (why: string) => {
      clearTimeout(timer);
      child.kill('SIGTERM');
      reject(new Error(`the ${options.label} ${why}${stderr.length ? `; its stderr:\n${stderr.join('')}` : ''}`));
    };
    const timer = setTimeout(() => fail(`printed no {"port":…} line within ${options.timeoutMs / 1000} s`), options.timeoutMs);
    child.once('exit', (code, signal) => fail(`exited (${signal ?? code}) before it was ready`));
    child.once('error', (error) => fail(`could not be spawned: ${error.message}`));
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      child.removeAllListeners('error');
      try {
        resolve({ child, line: JSON.parse(out.slice(0, nl)) as T, stderr });
      } catch {
        fail(`printed something other than a JSON line: ${out.slice(0, nl)}`);
      }
    });
  });
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
export async function stopChild(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/** The `count` functions with the most self time in the newest .cpuprofile of `dir`, as report lines. */
export function topSelfTime(dir: string, count: number, what: string): string[] {
  const file = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort().at(-1);
  if (!file) return [`(no .cpuprofile in ${dir})`];
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { nodes: ProfileNode[]; samples: number[] };
  const total = profile.samples.length;
  const self = new Map<string, number>();
  for (const node of profile.nodes) {
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? `${url.replace(/^file:\/\//, '').replace(`${process.cwd()}/`, '')}:${lineNumber + 1}` : '';
    const key = `${functionName || '(anonymous)'} ${where}`.trim();
    self.set(key, (self.get(key) ?? 0) + (node.hitCount ?? 0));
  }
  const busy = total - (self.get('(idle)') ?? 0);
  self.delete('(idle)');
  const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, count);
  return [
    `top self time of ${what} (${join(dir, file)}; % of ${busy} busy samples out of ${total}):`,
    ...rows.map(([key, hits]) => `  ${((100 * hits) / busy).toFixed(1).padStart(5)} %  ${key}`),
  ];
}

/**
 * Runs a command to its end and resolves its stdout; rejects with its output on a non-zero exit,
 * and kills it after `timeoutMs`. `track` sees the child first, for the bench's stop-everything.
 */
export function collect(
  command: string,
  args: readonly string[],
  options: Pick<SpawnOptions, 'cwd' | 'env'> & { timeoutMs: number; track?: (child: ChildProcess) => void },
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    options.track?.(child);
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${command} ${args.join(' ').slice(0, 120)} exited (${signal ?? code}):\n${(err || out).slice(-3000)}`));
    });
  });
}

/**
 * Stops a bench server on SIGTERM or SIGINT, or when the driver's stdin pipe closes (a driver that
 * died without signalling; only when started with LATCHKEY_BENCH_CHILD=1): closes the server and
 * its keep-alive connections (the driver has finished with them, and they would hold close()
 * open), runs `close`, and exits 0, or 1 if `close` failed.
 */
export function stopWithDriver(server: { close(): unknown }, close: () => Promise<unknown>): void {
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    server.close();
    if ('closeAllConnections' in server && typeof server.closeAllConnections === 'function') server.closeAllConnections();
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  if (process.env.LATCHKEY_BENCH_CHILD === '1') process.stdin.on('end', stop).on('error', stop).resume();
}
