/**
 * A checksum of a node's membership view, carried on SWIM's requests and acks between Bun peers
 * that offer `swim_sum` (`wire/protocol.ts`), and the rule for when a difference is worth a digest
 * exchange (`swim-digest.ts`).
 *
 * The sum is the XOR of a 32-bit mix of the id of each member this node holds live (alive or
 * suspect: a suspicion is not a verdict), its own included: who is in the swarm, as this node sees
 * it. Two nodes that hold the same members live have the same sum, in whatever order they learnt
 * them and at whatever incarnations; the list keeps it as members come and go, so a message pays
 * one number.
 *
 * Gossip leaves a tail: in a 1,000-node join, seconds after the last join, a few (node, member)
 * pairs out of a million were still unknown, or held dead after a refutation the holder missed, and
 * the periodic full exchange was minutes away (30 s scaled up past 32 members). A node whose set of
 * live members has not changed for {@link SUM_QUIET} probe intervals (the epidemic has stopped
 * bringing it members or deaths; suspicions and refutations do not count, a loaded swarm has them
 * all the time) and that meets a peer with another sum exchanges digests with that peer: each side
 * gets what it lacks or holds older. While members still come and go no exchange is made, so a
 * join or a kill costs nothing more; in a settled swarm the sums agree and nothing is sent. In the
 * spirit of ringpop's membership checksums, which its pings carry for the same reason.
 *
 * @module
 */
import { idHash } from "./swim-digest.ts";

/** Probe intervals without a change in this node's set of live members before a different sum makes an exchange. */
export const SUM_QUIET = 1;
/** Probe intervals between two such exchanges at least; doubled after each that changed nothing. */
export const SUM_GAP = 2;

/** One live member's share of a sum: its id mixed into 32 bits. */
export function memberMix(id: string): number {
  const h = idHash(id);
  let x = (h >>> 0) ^ Math.imul(Math.floor(h / 0x1_0000_0000), 0x9e3779b1);
  // murmur3's finaliser
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** True for a sum as the network may carry it. */
export function isSum(raw: unknown): raw is number {
  return typeof raw === "number" && Number.isInteger(raw) && raw >= 0 && raw <= 0xffff_ffff;
}

/**
 * When a node that met a different sum may start an exchange: one at a time, at least
 * {@link SUM_GAP} probe intervals apart, the gap doubled (up to `max`) after each exchange that
 * changed nothing in this node's set of live members, and back to its shortest once that set
 * changes (by an exchange or by gossip; `version` counts its changes). Two views that cannot agree (a member one side may not hold) then cost an
 * exchange every few minutes, not every few seconds.
 */
export class SumExchanges {
  #busy = false;
  #gap: number;
  #endedAt = Number.NEGATIVE_INFINITY;
  /** The view's version when the last exchange ended. */
  #version = -1;

  /** `gap`: the shortest gap, in seconds. */
  constructor(private readonly gap: number) {
    this.#gap = gap;
  }

  /** True when an exchange may start at `now`, the view at `version`. */
  ready(now: number, version: number): boolean {
    if (this.#busy) return false;
    if (version !== this.#version) this.#gap = this.gap;
    return now >= this.#endedAt + this.#gap;
  }

  /** An exchange started, the view at `version`. */
  begin(version: number): void {
    this.#busy = true;
    this.#version = version;
  }

  /** The exchange ended at `now`, the view at `version`; `max`: the longest gap, seconds. */
  end(now: number, version: number, max: number): void {
    this.#busy = false;
    this.#gap = version !== this.#version ? this.gap : Math.min(Math.max(max, this.gap), this.#gap * 2);
    this.#version = version;
    this.#endedAt = now;
  }
}
