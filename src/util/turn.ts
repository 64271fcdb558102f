/**
 * Run a callback once the event loop has read what arrived: the timeout helper of every deadline
 * that an answer can beat.
 *
 * A timer that comes due while the event loop is blocked (a long synchronous task, a collection,
 * a process stopped and continued) fires before the sockets are read, though an answer may have
 * arrived meanwhile. Measured with Bun 1.4.5: in the turn after a blocked stretch, timers run
 * first, then the immediates queued so far (a `setImmediate` from a timer runs before the reads
 * too), then the reads, then the immediates queued by those. So a deadline's verdict goes one
 * `setImmediate` deeper: after the reads of the turn in which its timer fired.
 *
 * @module
 */

/**
 * Run `fn` after the current turn's socket reads (see the module doc): from a timer's callback, it
 * runs once every answer that arrived before the timer fired has been handed over. Returns a
 * cancel function; cancelling after `fn` ran does nothing.
 */
export function afterReads(fn: () => void): () => void {
  let cancelled = false;
  setImmediate(() => {
    if (!cancelled) setImmediate(() => cancelled || fn());
  });
  return () => {
    cancelled = true;
  };
}
