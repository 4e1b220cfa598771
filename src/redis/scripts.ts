/**
 * Every Lua script of `latchkey/redis`, by operation: how they are written and what they share is
 * in redis/lua; the scripts are in redis/session-scripts, redis/remember-scripts,
 * redis/counter-scripts and redis/token-scripts.
 *
 * @module redis/scripts
 */
import { COUNTER_SCRIPTS } from './counter-scripts.ts';
import { REMEMBER_SCRIPTS } from './remember-scripts.ts';
import { SESSION_SCRIPTS } from './session-scripts.ts';
import { TOKEN_SCRIPTS } from './token-scripts.ts';

/** Every script, by operation. */
export const SCRIPTS = Object.freeze({ ...SESSION_SCRIPTS, ...REMEMBER_SCRIPTS, ...COUNTER_SCRIPTS, ...TOKEN_SCRIPTS });
