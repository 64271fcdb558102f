/**
 * The package's clocks, in one place.
 *
 * - {@link nowSeconds}: wall-clock time as float Unix seconds, the unit of every timestamp on the
 *   wire (`last_seen`, `created_at`). Sub-millisecond, so events of one node rarely tie, and it
 *   follows the system clock (NTP steps and slewing), so that a long-running node's timestamps stay
 *   comparable with its peers'.
 * - {@link monotonicMs}: milliseconds on a monotonic clock, for deadlines and intervals; never
 *   goes backwards and is much cheaper than `Date.now()`.
 *
 * The public API takes durations in seconds; {@link secondsToMs} converts one for a timer, with 0
 * (and Infinity) meaning "never", as a Python node has no timeout there.
 *
 * @module
 */

/**
 * The longest delay `setTimeout` honours (2^31 - 1 ms, about 24.8 days): a longer one fires at once,
 * so longer waits re-arm (or arm no timer).
 */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/** Offset from the monotonic clock to the wall clock, in ms; re-anchored when they drift apart. */
let wallOffset = Date.now() - performance.now();

/** A re-anchoring of at least this much (ms) is a step of the system clock, kept for {@link wallStepsSince}. */
const STEP_MS = 1000;
/** Steps kept, newest last: when each was noticed (monotonic ms) and by how much the wall clock moved (ms). */
const STEPS_KEPT = 64;
const stepAt: number[] = [];
const stepBy: number[] = [];

/**
 * Current wall-clock time as float Unix seconds, with sub-millisecond resolution, never earlier
 * than `Date.now()`'s millisecond: a UUIDv7 (a broadcast's nonce, which dates its opening event)
 * carries `Date.now()`, so an event dated after it by this clock is never dated before it.
 */
export function nowSeconds(): number {
  const mono = performance.now();
  const wall = Date.now();
  let t = wallOffset + mono;
  // Date.now() counts whole milliseconds: stay within the one it reads (t in [wall, wall + 1]),
  // else follow the wall clock (a step, slewing, or the monotonic clock reading ahead of it).
  if (t < wall || t > wall + 1) {
    const by = wall - mono - wallOffset;
    if (by >= STEP_MS || by <= -STEP_MS) {
      if (stepAt.length >= STEPS_KEPT) stepAt.shift(), stepBy.shift();
      stepAt.push(mono);
      stepBy.push(by);
    }
    wallOffset = wall - mono;
    t = wall;
  }
  return t / 1000;
}

/**
 * Seconds the system clock was stepped (NTP setting it on a box that booted without a real-time
 * clock, an administrator's `date -s`) since `at`, a time {@link nowSeconds} gave: forward steps
 * count positive, backward ones negative. `nowSeconds() - at - wallStepsSince(at)` is the time that
 * really passed since `at` (read `nowSeconds()` first: it is what notices a step). Steps of a
 * second or more are kept, the last 64. After a backward step the wall clock gives some times
 * twice; such a time is taken as given after the step unless that would put it in the future.
 */
export function wallStepsSince(at: number): number {
  // A time given between step k and the next one lies, on the monotonic clock with the offset
  // after step k, between the two steps (`at` and the steps are the same float ms: 10 µs spare).
  let offset = wallOffset;
  let sum = 0;
  let upTo = performance.now();
  for (let k = stepAt.length - 1; k >= 0; k--) {
    const mono = at * 1000 - offset;
    if (mono >= stepAt[k]! - 0.01 && mono <= upTo + 0.01) break;
    upTo = stepAt[k]!;
    offset -= stepBy[k]!;
    sum += stepBy[k]!;
  }
  return sum / 1000;
}

/** Milliseconds on a monotonic clock (`performance.now()`), for deadlines and elapsed times. */
export function monotonicMs(): number {
  return performance.now();
}

/**
 * A duration given in seconds as milliseconds for a timer; 0 and Infinity both mean "never"
 * (Infinity). The caller checks the value first (see {@link isDuration}).
 */
export function secondsToMs(seconds: number): number {
  return seconds === 0 || seconds === Infinity ? Infinity : seconds * 1000;
}

/** True for a valid duration in seconds: a non-negative number (Infinity included), not NaN. */
export function isDuration(value: unknown): value is number {
  return typeof value === "number" && value >= 0;
}
