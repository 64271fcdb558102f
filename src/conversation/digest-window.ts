/**
 * Windowed digests (hello feature `have_window`, docs/protocol.md): between Bun peers that offer
 * it, a batch call's `have` digest lists only the items the caller learnt within
 * {@link HAVE_WINDOW} seconds and says so (`window`), and the callee answers only with what it
 * learnt lately. The full digest still goes out once every {@link FULL_DIGEST_SECONDS} (and in
 * every idle pull), so that an item a node lacks past the window still comes by pull. So a digest
 * and its walk cost the news of the last seconds, not everything a node remembers (at least 10 s
 * of items: at a broadcast a second, ten broadcasts' replies).
 *
 * @module
 */
import { monotonicMs } from "../util/time.ts";
import type { DigestWindow, ItemMemory } from "./item-memory.ts";

/**
 * Seconds of news a windowed digest lists: the items this node learnt within them. A broadcast's
 * replies reach a 200-node swarm on two cores within about a second.
 */
export const HAVE_WINDOW = 2;
/**
 * Seconds by which a served windowed digest is read generously: the entries learnt within `window`
 * + this are matched against it (an item the caller lists is not taken for one this node lacks), and
 * only those learnt within `window` − this are answered (an item the caller learnt just before its
 * window, so does not list, is not sent back to it).
 */
export const WINDOW_SLACK = 1;
/** Seconds after which a node's next batch call carries the full digest even to a peer that takes windowed ones. */
export const FULL_DIGEST_SECONDS = 1;

/** What a served batch looks at of a caller's `window` (seconds), or undefined for a full digest (a `window` that is not a positive finite number). */
export function digestWindow(window: unknown, now = monotonicMs()): DigestWindow | undefined {
  if (typeof window !== "number" || !Number.isFinite(window) || window <= 0) return undefined;
  return { matchSince: now - (window + WINDOW_SLACK) * 1000, answerSince: now - Math.max(0, window - WINDOW_SLACK) * 1000 };
}

/** Which digest one node's batch calls carry. */
export class DigestChoice {
  /** When this node last sent its full digest (ms, monotonic). */
  private fullAt = -Infinity;

  /**
   * The digest of a call, and its `window` (undefined: the full digest): windowed to a peer that
   * takes it (`offered`, asked only when a windowed digest is due), but full when `full` (an idle
   * pull) or when the last full one went out {@link FULL_DIGEST_SECONDS} ago or more.
   */
  pick(memory: Pick<ItemMemory, "haveDigest" | "haveDigestSince">, offered: () => boolean, full: boolean, now = monotonicMs()): { have: Uint8Array; window: number | undefined } {
    if (!full && now - this.fullAt < FULL_DIGEST_SECONDS * 1000 && offered()) return { have: memory.haveDigestSince(now - HAVE_WINDOW * 1000), window: HAVE_WINDOW };
    this.fullAt = now;
    return { have: memory.haveDigest(), window: undefined };
  }
}

/** The keyword arguments of a batch call (one shape per case, each always built alike). */
export function batchKwargs(from: string, have: Uint8Array, refs: boolean, window: number | undefined): Record<string, unknown> {
  if (window === undefined) return refs ? { from, have, refs: true } : { from, have };
  return refs ? { from, have, refs: true, window } : { from, have, window };
}
