/**
 * The fallback load generator of `bench/protected.ts`, used only when `wrk` is not installed.
 * It runs in its own process (never in the server's), keeps `connections` keep-alive sockets
 * busy with GET requests for `seconds`, and prints one JSON line:
 * `{"requests":…,"seconds":…,"rps":…,"p99Ms":…,"non2xx":…,"errors":…}`.
 *
 *   node bench/load.ts '{"url":"http://127.0.0.1:3000/bare","connections":32,"seconds":10,"headers":{}}'
 *   node bench/load.ts '{"url":"…/protected","connections":32,"seconds":10,"headers":{…},"cookies":["session=…",…]}'
 *
 * With `cookies`, each request carries the next one as its Cookie header, in turn across all
 * connections, as wrk does with bench/lib.ts's `writeCookieScript`: the stores coalesce the session
 * reads of one event-loop turn, so one cookie for every request would read one row per batch.
 * The header sets are built once, so rotating costs no more per request than a fixed cookie.
 *
 * It is slower than wrk (a Node client spends more per request than the server it measures), so
 * with it the fast route is under-measured and the ratio reads higher than wrk's.
 */
import { Agent, request } from 'node:http';

interface LoadOptions {
  url: string;
  connections: number;
  seconds: number;
  headers: Record<string, string>;
  /** Cookie header values to send in turn, one per request; absent or empty: `headers` as they are. */
  cookies?: string[];
}

function once(agent: Agent, url: URL, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, method: 'GET', headers }, (res) => {
      res.on('data', () => {});
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? '') as LoadOptions;
  const url = new URL(options.url);
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections, maxFreeSockets: options.connections });
  const cookies = options.cookies ?? [];
  // A cookie in `headers` (whatever its case) gives way to the rotating ones, or a request would carry two.
  const base = Object.fromEntries(Object.entries(options.headers).filter(([name]) => cookies.length === 0 || name.toLowerCase() !== 'cookie'));
  const headerSets = cookies.length > 0 ? cookies.map((cookie) => ({ ...base, cookie })) : [base];
  let next = 0;
  const latencies: number[] = [];
  let non2xx = 0;
  let errors = 0;
  const start = performance.now();
  const deadline = start + options.seconds * 1000;

  async function loop(): Promise<void> {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      try {
        const headers = headerSets[next] as Record<string, string>;
        next = (next + 1) % headerSets.length;
        const status = await once(agent, url, headers);
        if (status < 200 || status > 299) non2xx++;
        latencies.push(performance.now() - t0);
      } catch {
        errors++;
      }
    }
  }

  await Promise.all(Array.from({ length: options.connections }, loop));
  const seconds = (performance.now() - start) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const p99 = latencies.length === 0 ? 0 : (latencies[Math.min(latencies.length - 1, Math.ceil(latencies.length * 0.99) - 1)] as number);
  const result = { requests: latencies.length, seconds, rps: latencies.length / seconds, p99Ms: p99, non2xx, errors };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
