/**
 * What the session list can honestly say about a session it cannot see: the server knows when a
 * session was last used (to the minute: the sliding expiry is written at most once a minute) and
 * when it ends, not whether its browser still holds the cookie. A browser that was closed or
 * cleared its cookies leaves its session behind until the idle timeout ends it (a remembered
 * login then restores a new one), so a session unused for a while is marked idle, with when it
 * ends on its own, rather than shown as a device that is logged in. The same words say what
 * "log out other sessions" really ended (SEC-32).
 *
 * @module app/views/session-status
 */
import type { SessionInfo } from 'latchkey';
import { describeDevice, formatUtc } from './device.ts';

/** Unused this long, a session is called idle: well over the one-minute precision of last seen. */
export const IDLE_AFTER = 5 * 60_000;

export function isIdle(s: SessionInfo, now: number): boolean {
  return !s.current && now - s.lastSeenAt >= IDLE_AFTER;
}

/** "2 h 5 min", "12 min": how long a session has been unused. */
export function formatSpan(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h${minutes % 60 ? ` ${minutes % 60} min` : ''}`;
  return `${Math.floor(hours / 24)} days`;
}

/** The idle line of a session: how long unused, when it ends by itself. */
export function idleNote(s: SessionInfo, now: number): string {
  return `Not used for ${formatSpan(now - s.lastSeenAt)}; ends on its own at ${formatUtc(s.expiresAt)} unless used again.`;
}

/**
 * What "log out other sessions" ended, in words: `n` is what the store ended, `before` the list
 * shown before (the devices). "Logged out 2 other sessions: Firefox on Linux, Chrome on Android (idle)."
 */
export function endedSummary(n: number, before: readonly SessionInfo[], now: number): string {
  if (n === 0) return 'There were no other sessions to log out.';
  const counts = new Map<string, number>();
  // Devices in use first, then the idle ones.
  const others = before.filter((x) => !x.current).sort((a, b) => Number(isIdle(a, now)) - Number(isIdle(b, now)));
  for (const s of others) {
    const label = `${describeDevice(s.userAgent)}${isIdle(s, now) ? ' (idle)' : ''}`;
    counts.set(label, (counts.get(label) ?? 0) + 1);
  }
  const devices = [...counts].map(([label, count]) => (count > 1 ? `${label}, ${count} sessions` : label)).join('; ');
  return `Logged out ${n === 1 ? '1 other session' : `${n} other sessions`}${devices ? `: ${devices}` : ''}.`;
}
