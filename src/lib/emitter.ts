/**
 * A minimal typed emitter, shared by the login manager's and the accounts module's events.
 * Listeners run synchronously, in subscription order; an exception in a listener propagates to
 * the caller, as with Node's EventEmitter, so a broken audit hook is seen rather than skipped.
 *
 * @module lib/emitter
 */

/** Subscribes to and emits the events of `Events` (a map of event name to payload). */
export class Emitter<Events extends object> {
  readonly #listeners = new Map<keyof Events, Array<(payload: never) => void>>();

  /** Subscribes to an event; returns a function that unsubscribes. */
  on<E extends keyof Events>(event: E, listener: (payload: Events[E]) => void): () => void {
    if (typeof listener !== 'function') throw new TypeError('listener must be a function');
    const list = this.#listeners.get(event) ?? [];
    list.push(listener as (payload: never) => void);
    this.#listeners.set(event, list);
    return () => {
      const index = list.indexOf(listener as (payload: never) => void);
      if (index >= 0) list.splice(index, 1);
    };
  }

  /** Calls the listeners of `event` with `payload`. */
  emit<E extends keyof Events>(event: E, payload: Events[E]): void {
    const list = this.#listeners.get(event);
    if (!list) return;
    for (const listener of [...list]) (listener as (payload: Events[E]) => void)(payload);
  }
}
