/**
 * A small typed event emitter whose listeners can never break the emitter: a listener that throws
 * (or rejects) is reported (a warning line by default) and the others still run. Also the default
 * report of errors thrown by user code ({@link reportUserError}).
 *
 * @module
 */
import { ConfigError, WaitTimeoutError } from "./errors.ts";
import { createLogger, logEnabled } from "./log.ts";
import { errorMessage } from "./util/guards.ts";
import { MAX_TIMER_DELAY_MS, isDuration, secondsToMs } from "./util/time.ts";
import { afterReads } from "./util/turn.ts";

const log = createLogger("events");

/** A listener of an {@link Emitter} event; may be async. */
export type EmitterListener<T> = (payload: T) => unknown;

/**
 * Where an error thrown by user code goes (an event listener, a periodic task): `source` says
 * which, e.g. `listener of peer.joined` or `periodic task "sync"`.
 */
export type UserErrorHandler = (error: unknown, source: string) => void;

/**
 * The default {@link UserErrorHandler}: one warning line on stderr, so that a bug in a listener or
 * a task is never silent (the package's own logging, when on, prints it with its stack instead).
 */
export const reportUserError: UserErrorHandler = (error, source) => {
  if (logEnabled("error")) {
    log.error(`${source} failed`, error);
    return;
  }
  console.warn(`synapse: warning: ${source} failed: ${errorMessage(error)}`);
};

/** Options of {@link Emitter}. */
export interface EmitterOptions {
  /** Where a listener's error goes (default {@link reportUserError}). */
  onError?: UserErrorHandler;
}

/** Typed emitter keyed by event name. `EventMap` maps each name to its payload type. */
export class Emitter<EventMap extends object> {
  private readonly listeners = new Map<string, Set<EmitterListener<never>>>();
  private readonly onError: UserErrorHandler;

  constructor(options: EmitterOptions = {}) {
    this.onError = options.onError ?? reportUserError;
  }

  /** Report a listener's error; a failing handler is only logged. */
  private fail(event: string, error: unknown): void {
    try {
      this.onError(error, `listener of ${event}`);
    } catch (inner) {
      log.error(`error handler failed on an error of a listener of ${event}`, inner);
    }
  }

  /** Subscribe; returns a function that unsubscribes. */
  on<K extends keyof EventMap & string>(event: K, listener: EmitterListener<EventMap[K]>): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as EmitterListener<never>);
    return () => this.off(event, listener);
  }

  /** Subscribe for the next event only. */
  once<K extends keyof EventMap & string>(event: K, listener: EmitterListener<EventMap[K]>): () => void {
    const off = this.on(event, (payload) => {
      off();
      return listener(payload);
    });
    return off;
  }

  /** Unsubscribe. */
  off<K extends keyof EventMap & string>(event: K, listener: EmitterListener<EventMap[K]>): void {
    this.listeners.get(event)?.delete(listener as EmitterListener<never>);
  }

  /** True when anybody listens to `event`. */
  has(event: string): boolean {
    return (this.listeners.get(event)?.size ?? 0) > 0;
  }

  /** Call every listener of `event` with `payload`. Never throws. */
  emit<K extends keyof EventMap & string>(event: K, payload: EventMap[K]): void {
    const set = this.listeners.get(event);
    if (!set || set.size === 0) return;
    // One listener (the usual case, called per filed event): no copy of the set to call it.
    if (set.size === 1) return this.call(event, set.values().next().value as EmitterListener<EventMap[K]>, payload);
    for (const listener of [...set]) this.call(event, listener as EmitterListener<EventMap[K]>, payload);
  }

  private call<K extends keyof EventMap & string>(event: K, listener: EmitterListener<EventMap[K]>, payload: EventMap[K]): void {
    try {
      const out = listener(payload);
      if (out && typeof (out as Promise<unknown>).then === "function") {
        (out as Promise<unknown>).then(undefined, (error) => this.fail(event, error));
      }
    } catch (error) {
      this.fail(event, error);
    }
  }
}

/**
 * Wait for the next `event` (for which `predicate` holds), mostly for tests and scripts.
 *
 * @param timeout seconds to wait; 0 or Infinity wait forever (as every timeout of the package).
 * @throws {WaitTimeoutError} (rejects) when no matching event came in time.
 * @throws {ConfigError} (rejects) when `timeout` is not a number of seconds >= 0.
 */
export function waitFor<EventMap extends object, K extends keyof EventMap & string>(
  emitter: Emitter<EventMap>,
  event: K,
  timeout: number,
  predicate: (payload: EventMap[K]) => boolean = () => true,
): Promise<EventMap[K]> {
  if (!isDuration(timeout)) return Promise.reject(new ConfigError(`waitFor: timeout must be a number of seconds >= 0, got ${String(timeout)}`));
  // Made now rather than when the timer fires, so that its stack shows who waited.
  const timedOut = new WaitTimeoutError(event, timeout);
  const ms = secondsToMs(timeout);
  return new Promise((resolve, reject) => {
    const expire = () => {
      off();
      reject(timedOut);
    };
    // Beyond setTimeout's range the wait is as good as unbounded: arm no timer rather than one
    // that would fire at once. The verdict waits for the socket reads of the timer's turn
    // (`afterReads`): an event brought by what arrived while the event loop was blocked is in time.
    const timer = ms <= MAX_TIMER_DELAY_MS ? setTimeout(() => afterReads(expire), ms) : undefined;
    const off = emitter.on(event, (payload) => {
      if (!predicate(payload)) return;
      clearTimeout(timer);
      off();
      resolve(payload);
    });
  });
}
