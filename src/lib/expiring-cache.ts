/**
 * A small per-process cache of store reads, shared by the session cache and the accounts' user
 * cache: entries live at most `ttl` from the start of the read that filled them, the map is
 * bounded (oldest first out), and a read that overlapped an invalidation never fills it.
 *
 * The last rule is what keeps a cache from resurrecting a row (R-06): a read sent before a logout
 * or a deactivation may answer after it, with the row as it was. Every invalidation bumps an
 * epoch; a fill carries the epoch its read began in, and is dropped if the epoch moved. One epoch
 * for the whole cache is coarse (any write stops every overlapping fill) but cannot miss a case.
 *
 * @module lib/expiring-cache
 */
import { requireDuration } from '../duration.ts';

/** When a store read began, and the invalidation epoch it began in. */
export interface ReadTicket {
  readonly epoch: number;
  readonly startedAt: number;
}

/** a per-instance cache may delay another instance's change by at most 5 s. */
export const MAX_CACHE_TTL = 5_000;

/** Options of a per-instance cache, as the public options take them. */
export type CacheOptions = { ttl: number | string; maxEntries?: number } | null;
/** The same, checked. */
export type ResolvedCacheOptions = { readonly ttl: number; readonly maxEntries: number } | null;

/** Checks `{ ttl ≤ 5s, maxEntries? }` once, at construction; `name` is the option's name in messages. */
export function resolveCacheOptions(name: string, value: CacheOptions | undefined): ResolvedCacheOptions {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object') throw new TypeError(`${name} must be { ttl, maxEntries? } or null`);
  const ttl = requireDuration(`${name}.ttl`, value.ttl, 1);
  if (ttl > MAX_CACHE_TTL) throw new TypeError(`${name}.ttl cannot exceed 5s: changes made on other instances must take effect within 5 s (R-07)`);
  const maxEntries = value.maxEntries === undefined ? 10_000 : value.maxEntries;
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) throw new TypeError(`${name}.maxEntries must be a positive integer`);
  return Object.freeze({ ttl, maxEntries });
}

/**
 * Runs a store write with `drop` before it and after it: before, so that nothing cached is
 * served while it runs; after, because a read that began while the write ran carries the new
 * epoch and may have cached the row as it was before the write.
 */
export async function dropAround<T>(drop: () => void, write: () => Promise<T>): Promise<T> {
  drop();
  try {
    return await write();
  } finally {
    drop();
  }
}

/** A bounded map of key → value whose entries expire `ttl` after the read that filled them began. */
export class ExpiringCache<V> {
  readonly #ttl: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, { readonly value: V; readonly until: number }>();
  #epoch = 0;

  constructor(ttl: number, maxEntries: number, now: () => number) {
    this.#ttl = ttl;
    this.#maxEntries = maxEntries;
    this.#now = now;
  }

  /** The value cached under `key`, if it is still within its ttl. */
  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (this.#now() < entry.until) return entry.value;
    this.#entries.delete(key);
    return undefined;
  }

  /** What to pass to {@link put} for a read that starts now. */
  begin(): ReadTicket {
    return { epoch: this.#epoch, startedAt: this.#now() };
  }

  /**
   * Caches what a read begun with `ticket` returned, unless something was invalidated since.
   * The ttl counts from the start of the read, not its answer: a slow read must not stretch the
   * R-07 bound to ttl + the read's duration.
   */
  put(key: string, value: V, ticket: ReadTicket): void {
    if (ticket.epoch !== this.#epoch) return;
    this.#entries.delete(key); // re-inserted last: the Map's order is the eviction order
    this.#entries.set(key, { value, until: ticket.startedAt + this.#ttl });
    if (this.#entries.size > this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value as string);
  }

  /** Drops one key. */
  drop(key: string): void {
    this.#epoch++;
    this.#entries.delete(key);
  }

  /** Drops every entry whose value matches (a scan: for rare, wide invalidations). */
  dropWhere(matches: (value: V) => boolean): void {
    this.#epoch++;
    for (const [key, entry] of this.#entries) if (matches(entry.value)) this.#entries.delete(key);
  }

  /** How many entries are held (for tests). */
  get size(): number {
    return this.#entries.size;
  }
}
