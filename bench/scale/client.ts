/**
 * The load client of `bench/scale.ts`: a process of its own (never the app's), in which VUS
 * virtual users run at once, each in a loop until the time is up:
 *
 *   1. POST /register {email, name, password}     → 201 and a session cookie (the app logs in at once).
 *      Every RACE_EVERY-th iteration of a user sends two registrations of the same address at
 *      once, the second in upper case (the same canonical address): one must get 201, the other 409.
 *   2. POST /login {login, password, remember}    → 200, a new session cookie (and a remember cookie
 *      every other iteration, when remember is true).
 *   3. GET /protected, PROTECTED_PER_ITER times    → 200 "Hello, NAME! …" (this user's name).
 *      A 401 here is a lost session: the client logged in and has not logged out.
 *   4. POST /logout {}                             → 200; the cookies are cleared.
 *   5. GET /protected with the cookies from before the logout → 401 (the server ended the session
 *      and the remember-me login; a 200 here means logout did not revoke).
 *
 * Each user has its own keep-alive agent (at most 2 sockets, for the race pair) and one
 * User-Agent, as one browser would. A 429 or 503 (the hasher's bounded queue, back-pressure) ends
 * the iteration after waiting its Retry-After (at most 5 s); any other unexpected answer or a
 * network error ends it too and is counted. It prints one JSON line (see `ClientReport`).
 *
 *   node bench/scale/client.ts '{"base":"http://127.0.0.1:3000","vus":32,"seconds":60,...}'
 *
 * @module bench/scale/client
 */
import { randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import { send, CookieJar, type Answer } from './http.ts';

/** The app's trusted-device cookie (app/throttles.ts), which a logout leaves in place (SEC-52). */
const DEVICE_COOKIES = new Set(['lk-device', '__Host-lk-device']);

export interface ClientOptions {
  readonly base: string;
  readonly vus: number;
  readonly seconds: number;
  readonly protectedPerIter: number;
  /** 0: never race. */
  readonly raceEvery: number;
  readonly userAgent: string;
  /** Makes the run's addresses unique: scale-<tag>-<vu>-<i>@example.com. */
  readonly tag: string;
}

export type Kind = 'register' | 'register race' | 'login' | 'protected' | 'logout' | 'after logout';
export const KINDS: readonly Kind[] = ['register', 'register race', 'login', 'protected', 'logout', 'after logout'];

export interface KindReport {
  readonly n: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  /** Status → count; 0 stands for a network error or timeout. */
  readonly statuses: Record<string, number>;
}

export interface ClientReport {
  readonly seconds: number;
  readonly vus: number;
  /** Iterations started, and those that reached the end (after-logout check) with every answer as expected. */
  readonly iterations: number;
  readonly completed: number;
  /** Requests answered (network errors are not counted here). */
  readonly requests: number;
  readonly kinds: Record<Kind, KindReport>;
  /** Canonical addresses whose registration answered 201. */
  readonly registered: string[];
  readonly races: number;
  /** Race pairs where both registrations answered 201: the same address registered twice. */
  readonly raceBoth201: number;
  /** /protected 401s between login and logout, and the iterations that had any. */
  readonly lostRequests: number;
  readonly lostIterations: number;
  /** /protected 200s whose message named another user. */
  readonly wrongUser: number;
  /** /protected answers during a logged-in stretch that set a cookie (the session was re-issued). */
  readonly reissued: number;
  /** After-logout replays that answered 200. */
  readonly replayAccepted: number;
  readonly logins: { readonly remember: number; readonly plain: number; readonly rememberCookieMissing: number };
  readonly backoffs: number;
  readonly networkErrors: number;
  readonly unexpected: number;
  readonly samples: string[];
  /** Iterations completed in each 5 s of the run. */
  readonly timeline: number[];
  /** Cores this process used (user + system CPU seconds per second). */
  readonly cpuCores: number;
}

const options = JSON.parse(process.argv[2] ?? '') as ClientOptions;
const start = performance.now();
const deadline = start + options.seconds * 1000;

const latencies = Object.fromEntries(KINDS.map((k) => [k, [] as number[]])) as Record<Kind, number[]>;
const statuses = Object.fromEntries(KINDS.map((k) => [k, {} as Record<string, number>])) as Record<Kind, Record<string, number>>;
const registered: string[] = [];
const samples: string[] = [];
const timeline: number[] = [];
const counts = {
  iterations: 0,
  completed: 0,
  requests: 0,
  races: 0,
  raceBoth201: 0,
  lostRequests: 0,
  lostIterations: 0,
  wrongUser: 0,
  reissued: 0,
  replayAccepted: 0,
  remember: 0,
  plain: 0,
  rememberCookieMissing: 0,
  backoffs: 0,
  networkErrors: 0,
  unexpected: 0,
};

function sample(line: string): void {
  if (samples.length < 20) samples.push(line);
}

function note(kind: Kind, status: number, ms: number): void {
  if (status > 0) counts.requests++;
  latencies[kind].push(ms);
  statuses[kind][status] = (statuses[kind][status] ?? 0) + 1;
}

/** Sends and records; a network error is recorded as status 0 and returned as null. */
async function call(kind: Kind, agent: Agent, path: string, init: Parameters<typeof send>[2]): Promise<Answer | null> {
  const t0 = performance.now();
  try {
    const answer = await send(options.base, path, { ...init, agent });
    note(kind, answer.status, answer.ms);
    return answer;
  } catch (error) {
    note(kind, 0, performance.now() - t0);
    counts.networkErrors++;
    sample(`${kind}: ${(error as Error).message}`);
    return null;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Handles an answer that is not the expected one; returns after any back-off. */
async function refused(kind: Kind, answer: Answer | null, expected: string): Promise<void> {
  if (answer === null) return sleep(100);
  if (answer.status === 429 || answer.status === 503) {
    counts.backoffs++;
    const after = Number(answer.headers['retry-after'] ?? 1);
    return sleep(Math.min(5, Number.isFinite(after) && after > 0 ? after : 1) * 1000);
  }
  counts.unexpected++;
  sample(`${kind}: expected ${expected}, got ${answer.status} ${answer.body.slice(0, 200)}`);
}

async function iteration(vu: number, i: number, agent: Agent): Promise<void> {
  const email = `scale-${options.tag}-${vu}-${i}@Example.com`;
  const canonical = email.toLowerCase();
  const name = `Scale ${vu}-${i}`;
  const password = `${randomBytes(12).toString('base64url')} kettle drums`;
  const ua = { 'user-agent': options.userAgent, accept: 'application/json' };
  let jar = new CookieJar();

  // 1. register (sometimes as a race of two)
  const race = options.raceEvery > 0 && i % options.raceEvery === vu % options.raceEvery;
  if (race) {
    counts.races++;
    const jars = [new CookieJar(), new CookieJar()];
    const bodies = [{ email, name, password }, { email: email.toUpperCase(), name, password }];
    const answers = await Promise.all(bodies.map((json) => call('register race', agent, '/register', { method: 'POST', headers: ua, json })));
    const won = answers.map((a) => a?.status === 201);
    if (won[0] && won[1]) {
      counts.raceBoth201++;
      sample(`register race: both registrations of ${canonical} answered 201`);
    }
    const winner = won.indexOf(true);
    const other = answers[1 - Math.max(0, winner)] ?? null;
    if (winner < 0) return refused('register race', answers.find((a) => a?.status !== 409) ?? answers[0] ?? null, 'one 201 and one 409');
    registered.push(canonical);
    if (won[0] && won[1]) registered.push(canonical);
    else if (other?.status !== 409) await refused('register race', other, '409 for the loser of the race');
    jar = jars[winner] as CookieJar;
    jar.take((answers[winner] as Answer).setCookies);
  } else {
    const answer = await call('register', agent, '/register', { method: 'POST', headers: ua, json: { email, name, password } });
    if (answer?.status !== 201) return refused('register', answer, '201');
    registered.push(canonical);
    jar.take(answer.setCookies);
  }

  // 2. login, with remember every other iteration
  const remember = i % 2 === 0;
  const login = await call('login', agent, '/login', { method: 'POST', headers: { ...ua, ...jar.headers() }, json: { login: email, password, remember } });
  if (login?.status !== 200) return refused('login', login, '200');
  const set = jar.take(login.setCookies);
  if (remember) {
    counts.remember++;
    if (!set.includes('remember_token')) {
      counts.rememberCookieMissing++;
      sample(`login: remember=true but no remember_token cookie (${login.setCookies.join(' | ')})`);
    }
  } else {
    counts.plain++;
  }
  if (!set.includes('session')) {
    counts.unexpected++;
    sample(`login: 200 without a new session cookie (${login.setCookies.join(' | ')})`);
  }

  // 3. the protected route, several times
  let lost = false;
  let ok = true;
  for (let k = 0; k < options.protectedPerIter; k++) {
    const answer = await call('protected', agent, '/protected', { headers: { ...ua, ...jar.headers() } });
    if (answer?.status === 200) {
      if (!answer.body.includes(`Hello, ${name}!`)) {
        counts.wrongUser++;
        sample(`protected: ${name} got ${answer.body.slice(0, 200)}`);
      }
      if (answer.setCookies.length > 0) {
        counts.reissued++;
        jar.take(answer.setCookies);
        sample(`protected: the answer set cookies: ${answer.setCookies.map((c) => c.split(';')[0]?.split('=')[0]).join(', ')}`);
      }
      continue;
    }
    if (answer?.status === 401) {
      counts.lostRequests++;
      if (!lost) {
        lost = true;
        counts.lostIterations++;
        sample(`protected: 401 for ${name}, logged in ${remember ? 'with' : 'without'} remember, request ${k + 1} of ${options.protectedPerIter}`);
      }
      continue;
    }
    ok = false;
    await refused('protected', answer, '200');
    break;
  }

  // 4. logout; 5. the old cookies must no longer work
  const before = jar.headers();
  const logout = await call('logout', agent, '/logout', { method: 'POST', headers: { ...ua, ...before }, json: {} });
  if (logout?.status !== 200) return refused('logout', logout, '200');
  jar.take(logout.setCookies);
  // The trusted-device cookie outlives a logout by design (SEC-52): it names the browser, not a login.
  const left = jar.names().filter((name) => !DEVICE_COOKIES.has(name));
  if (left.length > 0) {
    counts.unexpected++;
    sample(`logout: cookies left in the jar: ${left.join(', ')}`);
  }
  const replay = await call('after logout', agent, '/protected', { headers: { ...ua, ...before } });
  if (replay?.status === 200) {
    counts.replayAccepted++;
    sample(`after logout: the old cookies of ${name} still answered 200`);
  } else if (replay?.status !== 401) {
    return refused('after logout', replay, '401');
  }
  if (ok && !lost) counts.completed++;
}

async function vu(index: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 2 });
  try {
    for (let i = 1; performance.now() < deadline; i++) {
      counts.iterations++;
      await iteration(index, i, agent);
      const bucket = Math.floor((performance.now() - start) / 5000);
      timeline[bucket] = (timeline[bucket] ?? 0) + 1;
    }
  } finally {
    agent.destroy();
  }
}

function summary(values: number[], status: Record<string, number>): KindReport {
  const sorted = values.sort((a, b) => a - b);
  const at = (q: number) => (sorted.length === 0 ? Number.NaN : (sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(sorted.length * q) - 1))] as number));
  return { n: sorted.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted.at(-1) ?? Number.NaN, statuses: status };
}

async function main(): Promise<void> {
  const cpu0 = process.cpuUsage();
  await Promise.all(Array.from({ length: options.vus }, (_, k) => vu(k + 1)));
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const report: ClientReport = {
    seconds,
    vus: options.vus,
    iterations: counts.iterations,
    completed: counts.completed,
    requests: counts.requests,
    kinds: Object.fromEntries(KINDS.map((k) => [k, summary(latencies[k], statuses[k])])) as Record<Kind, KindReport>,
    registered,
    races: counts.races,
    raceBoth201: counts.raceBoth201,
    lostRequests: counts.lostRequests,
    lostIterations: counts.lostIterations,
    wrongUser: counts.wrongUser,
    reissued: counts.reissued,
    replayAccepted: counts.replayAccepted,
    logins: { remember: counts.remember, plain: counts.plain, rememberCookieMissing: counts.rememberCookieMissing },
    backoffs: counts.backoffs,
    networkErrors: counts.networkErrors,
    unexpected: counts.unexpected,
    samples,
    timeline: Array.from(timeline, (n) => n ?? 0),
    cpuCores: (cpu.user + cpu.system) / 1e6 / seconds,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
