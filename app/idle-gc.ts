/**
 * One full garbage collection when the server goes quiet after a burst of requests, so that the
 * memory a burst made V8 take is given back while nobody is waiting for an answer.
 *
 * Why the app does it itself: V8 grows its young generation (up to twice `--max-semi-space-size`)
 * and its old generation under load, and gives them back only from its "memory reducer". On Node 24
 * that reducer keeps judging an idle process's allocation rate "high" (its samples are taken at
 * collections, and an idle process makes none), so it never starts: after a login burst the app
 * held 180 MiB of V8 heap for as long as it stayed idle, 20 MiB of it live. A collection with the
 * `last-resort` flavour (V8's memory-reducing full GC) gave it back in 70 ms: 268 → 144 MiB of RSS.
 *
 * It needs `gc`, which Node exposes only with `--expose-gc` (npm start passes it); without it this
 * does nothing. It runs once per burst, never under load: a tick every `idleMs` collects only when
 * no request came since the previous tick and some came since the last collection, so between
 * `idleMs` and twice that after the last request. A request that arrives during the collection
 * waits for it (tens of ms), once, after at least `idleMs` of silence.
 *
 * Under load it also keeps V8's heap under a ceiling: on a tick with requests, when the heap V8
 * holds is above `heapCeiling`, it asks for one regular major collection. V8 itself lets the old
 * generation grow to a multiple of what is live before it collects: with sessions in Redis it
 * reached 92 MiB, 38 MiB of it live, under a login load, and the app's peak RSS 249 MiB. With the
 * ceiling at 80 MiB the peak was 202 MiB, at 64 MiB 189 MiB. At most one such collection per
 * tick: a few ms of pause every 2 s at worst, when the live heap itself is above the ceiling.
 * V8's own heap-growth setting did the same for 10 % more CPU per request
 * (`--heap-growing-percent=30`).
 *
 * @module app/idle-gc
 */

/** What a collection reports: how long it blocked and the RSS around it, in bytes. */
export interface IdleCollection {
  readonly ms: number;
  readonly rssBefore: number;
  readonly rssAfter: number;
}

export interface IdleCollectorOptions {
  /** The full, memory-reducing collection: `globalThis.gc` with `--expose-gc`. */
  readonly collect: () => void;
  /** Silence, in ms, after which a burst is over. */
  readonly idleMs: number;
  /** Told after each collection. */
  readonly onCollected?: (collection: IdleCollection) => void;
  /**
   * Under load: a regular major collection (`collect`), asked for at most once per tick while the
   * heap (bytes, as `heapTotal()` reads it) is above `heapCeiling`; nothing when unset.
   */
  readonly underLoad?: { readonly heapCeiling: number; readonly collect: () => void };
  /** Injectable for tests: the tick's timer, and the clock and RSS reported. */
  readonly setInterval?: (tick: () => void, ms: number) => { unref(): unknown };
  readonly clearInterval?: (timer: never) => void;
  readonly now?: () => number;
  readonly rss?: () => number;
  readonly heapTotal?: () => number;
}

export interface IdleCollector {
  /** Counts a request: call it once per request, it only bumps a number. */
  activity(): void;
  /** Stops the tick (shutdown). */
  stop(): void;
}

/** The silence after which a burst is over, by default: a tick every 2 s, a collection 2–4 s after the last request. */
export const IDLE_GC_MS = 2_000;

/**
 * The heap V8 may hold under load before a tick asks for a collection, by default: 64 MiB of
 * `heapTotal`, of which the young generation is 32 MiB with npm start's `--max-semi-space-size=16`.
 */
export const HEAP_CEILING = 64 * 1024 * 1024;

/**
 * With `--expose-gc`, a collector on `server`'s requests whose collection is V8's memory-reducing
 * one (`last-resort`: the young generation shrinks and the old one is compacted); `null` without it.
 *
 * @example
 * ```ts
 * const idle = collectAfterBursts(server, { onCollected: ({ ms }) => console.log(`collected in ${ms} ms`) });
 * // at shutdown: idle?.stop();
 * ```
 */
export function collectAfterBursts(
  server: { on(event: 'request', listener: () => void): unknown },
  options: { readonly idleMs?: number; readonly heapCeiling?: number; readonly onCollected?: (collection: IdleCollection) => void } = {},
): IdleCollector | null {
  const gc = globalThis.gc;
  if (gc === undefined) return null;
  const collector = idleCollector({
    collect: () => gc({ type: 'major', execution: 'sync', flavor: 'last-resort' }),
    idleMs: options.idleMs ?? IDLE_GC_MS,
    onCollected: options.onCollected,
    // Not the memory-reducing flavour: under load that would shrink what the next requests need.
    underLoad: { heapCeiling: options.heapCeiling ?? HEAP_CEILING, collect: () => void gc({ type: 'major', execution: 'async' }) },
  });
  server.on('request', collector.activity);
  return collector;
}

/** Starts the tick. `activity()` goes where every request passes (the HTTP server's `request` event). */
export function idleCollector(options: IdleCollectorOptions): IdleCollector {
  const { collect, idleMs, onCollected } = options;
  if (typeof collect !== 'function') throw new TypeError('idleCollector: collect must be a function');
  if (!Number.isSafeInteger(idleMs) || idleMs < 100) throw new TypeError(`idleCollector: idleMs must be an integer of at least 100 ms, got ${String(idleMs)}`);
  const { underLoad } = options;
  if (underLoad !== undefined) {
    if (!Number.isSafeInteger(underLoad.heapCeiling) || underLoad.heapCeiling <= 0) throw new TypeError(`idleCollector: underLoad.heapCeiling must be a positive integer of bytes, got ${String(underLoad.heapCeiling)}`);
    if (typeof underLoad.collect !== 'function') throw new TypeError('idleCollector: underLoad.collect must be a function');
  }
  const heapTotal = options.heapTotal ?? (() => process.memoryUsage().heapTotal);
  const every = options.setInterval ?? ((tick, ms) => setInterval(tick, ms));
  const cancel = options.clearInterval ?? ((timer: never) => clearInterval(timer));
  const now = options.now ?? (() => performance.now());
  const rss = options.rss ?? (() => process.memoryUsage.rss());
  let requests = 0;
  let atLastTick = 0;
  let atLastCollection = 0;
  const timer = every(() => {
    const seen = requests;
    if (seen !== atLastTick) {
      // Under load: a regular collection when the heap is above the ceiling.
      if (underLoad !== undefined && heapTotal() > underLoad.heapCeiling) underLoad.collect();
    } else if (seen !== atLastCollection) {
      // A whole tick without a request after some: the burst is over.
      atLastCollection = seen;
      const rssBefore = rss();
      const started = now();
      collect();
      onCollected?.({ ms: now() - started, rssBefore, rssAfter: rss() });
    }
    atLastTick = seen;
  }, idleMs);
  // The tick never keeps the process alive on its own.
  timer.unref();
  return {
    activity: () => {
      requests++;
    },
    stop: () => cancel(timer as never),
  };
}
