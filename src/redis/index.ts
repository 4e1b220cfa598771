/**
 * `latchkey/redis`: sessions, remember-me tokens, throttle counters and one-time tokens
 * ({@link RedisStore}) in Redis, through a node-redis client the app passes in: Lua scripts on
 * Redis time, every key with a TTL, and {@link checkEvictionPolicy} for
 *
 *
 * @module redis
 */
import { requireNode } from '../lib/runtime.ts';
export { RedisStore } from './store.ts';
export type { RedisStoreOptions } from './store-options.ts';
export { checkEvictionPolicy } from './eviction.ts';
export type { EvictionCheck } from './eviction.ts';
export type { RedisCommander } from './commands.ts';

// Fails here, at import, on a Node older than 24, with the fix in the message (lib/runtime.ts).
requireNode('latchkey/redis', 'URL.parse, crypto.argon2');
