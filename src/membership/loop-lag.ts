/**
 * How long this process's event loop has been blocked: one timer per process (however many nodes
 * it runs) ticks every {@link LAG_TICK} seconds and adds up how late each tick came, past a small
 * tolerance. Gossip membership reads the running total ({@link LoopLag.stalled}) so that a SWIM
 * timeout does not count time in which this process could not have read an answer that had
 * arrived, and so that a node that finds itself late grows more careful before accusing others
 * (Lifeguard's local health). The reaper of silent peers reads how much of a peer's silence the
 * loop was blocked ({@link LoopLag.stalledWithin}), which it does not count: a process stopped
 * and continued (`SIGSTOP`), or blocked by a long task, heard nobody meanwhile.
 * The timer keeps no process alive and stops with its last user.
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
  /**
   * Seconds the event loop was blocked within the last `seconds` seconds, at most `seconds`: the
   * stalls that ended in that window (one that began before it counts from the window's start),
   * and the one under way. Kept for the last {@link STALL_HISTORY} seconds in which a stall ended.
   */
  stalledWithin(seconds: number): number;
  /** Stop using the monitor (it stops with its last user). Idempotent. */
  release(): void;
}

/** Seconds (of the monotonic clock, each one in which a stall ended) whose stalls are kept for {@link LoopLag.stalledWithin}. */
export const STALL_HISTORY = 1024;

let users = 0;
let total = 0;
let last = 0;
let timer: ReturnType<typeof setInterval> | null = null;

// The stalls of each second in which one ended, newest at `newest`: when the last of them ended
// (monotonic ms) and how long they were in all (seconds).
const endedAt = new Float64Array(STALL_HISTORY);
const lasted = new Float64Array(STALL_HISTORY);
let newest = -1;
let kept = 0;

function tick(): void {
  const now = monotonicMs();
  const late = (now - last) / 1000 - LAG_TICK;
  if (late > TOLERANCE) {
    total += late;
    remember(now, late);
  }
  last = now;
}

function remember(now: number, late: number): void {
  if (newest >= 0 && Math.floor(endedAt[newest]! / 1000) === Math.floor(now / 1000)) {
    lasted[newest]! += late;
    endedAt[newest] = now;
    return;
  }
  newest = (newest + 1) % STALL_HISTORY;
  endedAt[newest] = now;
  lasted[newest] = late;
  kept = Math.min(kept + 1, STALL_HISTORY);
}

/** See {@link LoopLag.stalledWithin}. */
function stalledWithin(seconds: number): number {
  if (!(seconds > 0)) return 0;
  const now = monotonicMs();
  const from = now - seconds * 1000;
  const pending = (now - last) / 1000 - LAG_TICK;
  let sum = timer !== null && pending > TOLERANCE ? Math.min(pending, seconds) : 0;
  for (let k = 0, i = newest; k < kept; k++, i = (i - 1 + STALL_HISTORY) % STALL_HISTORY) {
    const end = endedAt[i]!;
    if (end <= from) break;
    sum += Math.min(lasted[i]!, (end - from) / 1000);
  }
  return Math.min(sum, seconds);
}

/** @internal A stall of `seconds` ending now, as a tick would record it (tests). */
export function recordStall(seconds: number): void {
  total += seconds;
  remember(monotonicMs(), seconds);
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
    stalledWithin,
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
