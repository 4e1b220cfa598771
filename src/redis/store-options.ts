/**
 * The options of `RedisStore`, checked once at construction (misuse throws `TypeError`): the app's
 * client, the key prefix and a test clock; and the longest duration a script can add to a
 * time exactly, which every method checks its durations against.
 *
 * @module redis/store-options
 */
import { requireMs as requireMsIn } from '../duration.ts';
import { requireClock, requireOptions } from '../lib/store-kit.ts';
import type { RedisCommander } from './commands.ts';

/** Options of {@link RedisStore}. */
export interface RedisStoreOptions {
  /**
   * A connected client, shared with the app, which owns it: `close()` leaves it open. A node-redis
   * client fits as it is (see the example for its options). Wrap ioredis as
   * `{ sendCommand: (args) => redis.call(args[0], ...args.slice(1)) }`, and give it
   * `enableOfflineQueue: false`, a `connectTimeout` and an `'error'` listener for the same reasons.
   * A client-side `keyPrefix` is fine: the scripts derive every key from the declared ones.
   * A node-redis cluster client has another `sendCommand` signature and is not supported.
   */
  readonly client: RedisCommander;
  /** Prepended to every key: 1 to 100 characters. Default `'latchkey:'`. */
  readonly prefix?: string;
  /**
   * The store's clock, ms since the epoch. Default: the Redis server's `TIME`. For tests:
   * key TTLs still run on Redis's own clock, as durations from this one.
   */
  readonly now?: () => number;
}

/**
 * Longest duration accepted, in ms (about 31,700 years): Lua computes `now + duration` in doubles,
 * which are exact integers only below 2^53 ms.
 */
const MAX_DURATION = 1e15;
/** Lua numbers are exact below 2^53: durations are capped well below (about 31 700 years). */
export const requireMs = (name: string, value: unknown, min: number): number => requireMsIn(name, value, min, MAX_DURATION);

/** The checked options: the client, the prefix, the test clock or null (Redis's `TIME`). */
export interface ResolvedRedisOptions {
  readonly client: RedisCommander;
  readonly prefix: string;
  readonly now: (() => number) | null;
}

/** Checks `options` once; throws `TypeError` for misuse. */
export function resolveRedisOptions(options: RedisStoreOptions): ResolvedRedisOptions {
  requireOptions('RedisStore', options);
  const { client } = options;
  if (typeof client !== 'object' || client === null || typeof client.sendCommand !== 'function') {
    throw new TypeError('RedisStore: client must have sendCommand(args) (a node-redis client, or an adapter)');
  }
  const prefix = options.prefix ?? 'latchkey:';
  if (typeof prefix !== 'string' || prefix.length < 1 || prefix.length > 100) {
    throw new TypeError('RedisStore: prefix must be a string of 1 to 100 characters');
  }
  return Object.freeze({ client, prefix, now: requireClock('RedisStore', options.now) });
}
