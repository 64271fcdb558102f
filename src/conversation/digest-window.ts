/**
 * Windowed digests (hello feature `have_window`, docs/protocol.md): between Bun peers that offer
 * it, a batch call's `have` digest lists only the items the caller learnt within
 * {@link HAVE_WINDOW} seconds and says so (`window`), and the callee answers only with what it
 * learnt lately. The full digest still goes out once every {@link FULL_DIGEST_SECONDS} (and in
 * every idle pull), so that an item a node lacks past the window still comes by pull. So a digest
 * and its walk cost the news of the last seconds, not everything a node remembers (at least 10 s
 * of items: at a broadcast a second, ten broadcasts' replies). A node whose latest broadcast is
 * spreading slowly (for longer than {@link WINDOWED_SPREAD}) pulls with the full digest.
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
/**
 * Seconds a broadcast may have been spreading at a node (since the first of its replies the node
 * learnt: its own, as a rule, made when the broadcast came) for the node's calls to carry windowed
 * digests. A callee answers a windowed digest only with what it learnt within
 * {@link HAVE_WINDOW} − {@link WINDOW_SLACK} seconds, so a slower spread pulls with the full
 * digest: with all 201 nodes of the 200-peer broadcast on one thread (signed), windows made its
 * rounds take 2.0 to 3.2 s against 1.7 to 2.2 s, and 8.7 to 12.4 reply-carrying calls a peer
 * against 7.6 to 9.1 (docs/performance-log.md).
 */
export const WINDOWED_SPREAD = 0.75;
/** Broadcasts whose first reply's time a node keeps (the latest ones; replies of several may interleave). */
const SPREAD_NONCES = 64;

/** What a served batch looks at of a caller's `window` (seconds), or undefined for a full digest (a `window` that is not a positive finite number). */
export function digestWindow(window: unknown, now = monotonicMs()): DigestWindow | undefined {
  if (typeof window !== "number" || !Number.isFinite(window) || window <= 0) return undefined;
  return { matchSince: now - (window + WINDOW_SLACK) * 1000, answerSince: now - Math.max(0, window - WINDOW_SLACK) * 1000 };
}

/** Which digest one node's batch calls carry. */
export class DigestChoice {
  /** When this node last sent its full digest (ms, monotonic). */
  private fullAt = -Infinity;
  /** When this node learnt the first reply of each of the latest broadcasts (ms, monotonic), by nonce, oldest first. */
  private readonly firstReplyAt = new Map<string, number>();
  /** The nonce of the reply learnt last, and when the first reply of its broadcast was learnt. */
  private newestNonce: string | null = null;
  private newestSince = 0;

  /** A reply to the broadcast `nonce` was learnt (at `now`, ms monotonic). */
  noteReply(nonce: string, now: number): void {
    if (nonce === this.newestNonce) return; // the usual case: a broadcast's replies come together
    let since = this.firstReplyAt.get(nonce);
    if (since === undefined) {
      since = now;
      this.firstReplyAt.set(nonce, now);
      if (this.firstReplyAt.size > SPREAD_NONCES) this.firstReplyAt.delete(this.firstReplyAt.keys().next().value!);
    }
    this.newestNonce = nonce;
    this.newestSince = since;
  }

  /**
   * The digest of a call, and its `window` (undefined: the full digest): windowed to a peer that
   * takes it (`offered`, asked only when a windowed digest is due), but full when `full` (an idle
   * pull), when the last full one went out {@link FULL_DIGEST_SECONDS} ago or more, or when the
   * broadcast whose reply this node learnt last has been spreading here for more than
   * {@link WINDOWED_SPREAD} seconds.
   */
  pick(memory: Pick<ItemMemory, "haveDigest" | "haveDigestSince">, offered: () => boolean, full: boolean, now = monotonicMs()): { have: Uint8Array; window: number | undefined } {
    const quick = this.newestNonce === null || now - this.newestSince <= WINDOWED_SPREAD * 1000;
    if (!full && quick && now - this.fullAt < FULL_DIGEST_SECONDS * 1000 && offered()) return { have: memory.haveDigestSince(now - HAVE_WINDOW * 1000), window: HAVE_WINDOW };
    this.fullAt = now;
    return { have: memory.haveDigest(), window: undefined };
  }
}

/** The keyword arguments of a batch call (one shape per case, each always built alike). */
export function batchKwargs(from: string, have: Uint8Array, refs: boolean, window: number | undefined): Record<string, unknown> {
  if (window === undefined) return refs ? { from, have, refs: true } : { from, have };
  return refs ? { from, have, refs: true, window } : { from, have, window };
}
