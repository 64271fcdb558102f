/**
 * A small typed event emitter whose listeners can never break the emitter: a listener that throws
 * (or rejects) is logged and the others still run.
 *
 * @module
 */
import { createLogger } from "./log.ts";

const log = createLogger("events");

/** A listener; may be async. */
export type Listener<T> = (payload: T) => unknown;

/** Typed emitter keyed by event name. `EventMap` maps each name to its payload type. */
export class Emitter<EventMap extends Record<string, unknown>> {
  private readonly listeners = new Map<string, Set<Listener<never>>>();

  /** Subscribe; returns a function that unsubscribes. */
  on<K extends keyof EventMap & string>(event: K, listener: Listener<EventMap[K]>): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as Listener<never>);
    return () => this.off(event, listener);
  }

  /** Subscribe for the next event only. */
  once<K extends keyof EventMap & string>(event: K, listener: Listener<EventMap[K]>): () => void {
    const off = this.on(event, (payload) => {
      off();
      return listener(payload);
    });
    return off;
  }

  /** Unsubscribe. */
  off<K extends keyof EventMap & string>(event: K, listener: Listener<EventMap[K]>): void {
    this.listeners.get(event)?.delete(listener as Listener<never>);
  }

  /** True when anybody listens to `event`. */
  has(event: string): boolean {
    return (this.listeners.get(event)?.size ?? 0) > 0;
  }

  /** Call every listener of `event` with `payload`. Never throws. */
  emit<K extends keyof EventMap & string>(event: K, payload: EventMap[K]): void {
    const set = this.listeners.get(event);
    if (!set || set.size === 0) return;
    for (const listener of [...set]) {
      try {
        const out = (listener as Listener<EventMap[K]>)(payload);
        if (out && typeof (out as Promise<unknown>).then === "function") {
          (out as Promise<unknown>).then(undefined, (error) => log.error(`listener of ${event} rejected`, error));
        }
      } catch (error) {
        log.error(`listener of ${event} threw`, error);
      }
    }
  }
}

/** Wait for one event (with a timeout in ms), mostly for tests and scripts. */
export function waitFor<EventMap extends Record<string, unknown>, K extends keyof EventMap & string>(
  emitter: Emitter<EventMap>,
  event: K,
  timeoutMs: number,
  predicate: (payload: EventMap[K]) => boolean = () => true,
): Promise<EventMap[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${event}`));
    }, timeoutMs);
    const off = emitter.on(event, (payload) => {
      if (!predicate(payload)) return;
      clearTimeout(timer);
      off();
      resolve(payload);
    });
  });
}
