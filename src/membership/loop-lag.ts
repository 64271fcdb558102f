/**
 * How long this process's event loop has been blocked: one timer per process (however many nodes
 * it runs) ticks every {@link LAG_TICK} seconds and adds up how late each tick came, past a small
 * tolerance. Gossip membership reads the running total ({@link LoopLag.stalled}) so that a SWIM
 * timeout does not count time in which this process could not have read an answer that had
 * arrived, and so that a node that finds itself late grows more careful before accusing others
 * (Lifeguard's local health). The timer keeps no process alive and stops with its last user.
 *
 * @module
 */
import { monotonicMs } from "../util/time.ts";
import { afterReads } from "../util/turn.ts";

/** Seconds between ticks. */
export const LAG_TICK = 0.05;

/** Lateness of one tick (seconds) that is ordinary timer jitter, not a blocked loop. */
const TOLERANCE = 0.01;

/** A user's handle on the process's monitor. */
export interface LoopLag {
  /** Seconds the event loop was blocked since the monitor started (monotonic, never decreases). */
  stalled(): number;
  /** Stop using the monitor (it stops with its last user). Idempotent. */
  release(): void;
}

let users = 0;
let total = 0;
let last = 0;
let timer: ReturnType<typeof setInterval> | null = null;

function tick(): void {
  const now = monotonicMs();
  const late = (now - last) / 1000 - LAG_TICK;
  if (late > TOLERANCE) total += late;
  last = now;
}

/** A handle on the process's event-loop monitor, started with its first user. */
export function watchLoopLag(): LoopLag {
  users++;
  if (timer === null) {
    last = monotonicMs();
    timer = setInterval(tick, LAG_TICK * 1000);
    timer.unref?.();
  }
  let released = false;
  return {
    // With the lateness of a tick that is due and has not run yet: the loop is blocked right now.
    stalled: () => {
      const pending = (monotonicMs() - last) / 1000 - LAG_TICK;
      return pending > TOLERANCE ? total + pending : total;
    },
    release: () => {
      if (released) return;
      released = true;
      if (--users > 0 || timer === null) return;
      clearInterval(timer);
      timer = null;
    },
  };
}

/**
 * Run `fn` after `delay` seconds (a plain time, 0 meaning "now") and the socket reads of the turn
 * its timer fires in (`afterReads`), keeping no process alive; returns a cancel function. The
 * reads matter after a stall: the timer would otherwise fire before an answer that already
 * arrived is read. What SWIM's timeouts and a seed join's wait (`afterOwnTime`) are scheduled with.
 */
export function afterTurn(delay: number, fn: () => void): () => void {
  let cancelRead: (() => void) | null = null;
  const timer = setTimeout(() => (cancelRead = afterReads(fn)), Math.max(0, delay * 1000));
  timer.unref?.();
  return () => {
    cancelRead?.();
    clearTimeout(timer);
  };
}
