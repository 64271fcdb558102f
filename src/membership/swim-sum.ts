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
 * the periodic full exchange was minutes away (30 s scaled up past 32 members). A node that meets a
 * peer with another sum, and still meets one {@link SUM_WAIT} probe intervals later without its
 * own set of live members having changed meanwhile (gossip, which usually brings a change to every
 * node within a second, has not brought it this one; suspicions and refutations do not count, a
 * loaded swarm has them all the time), exchanges digests with that peer: each side gets the
 * members it lacks, in alive records only (no verdict spreads this way), and a few members the
 * peer holds alive and this node dead are pinged directly, their death first, so that a live one
 * refutes ({@link SUM_DOUBTS}). While members still come and go no exchange is made, nor while
 * deaths are in flight (taken here lately, or held by the sender's filter of recent deaths: an
 * exchange of alive records cannot settle those), so a join or a kill costs little more; in a
 * settled swarm the sums agree and nothing is sent. In the spirit of ringpop's membership
 * checksums, which its pings carry for the same reason.
 *
 * @module
 */
import { fmix32 } from "../util/hash.ts";
import { idHash } from "./swim-digest.ts";

/** Probe intervals a difference must last (this node's set of live members unchanged meanwhile) before it makes an exchange. */
export const SUM_WAIT = 1;
/**
 * Members a checksum's exchange found alive at the peer and held dead here that this node then
 * asks directly, at most, each a ping with its death first (a live one refutes in its ack).
 */
export const SUM_DOUBTS = 4;
/** Probe intervals between two such exchanges at least; doubled after each that changed nothing. */
export const SUM_GAP = 2;

/** One live member's share of a sum: its id mixed into 32 bits. */
export function memberMix(id: string): number {
  return hashMix(idHash(id));
}

/** {@link memberMix} from the id's {@link idHash} (a member's record keeps it: `SwimMember.hash`). */
export function hashMix(h: number): number {
  return fmix32((h >>> 0) ^ Math.imul(Math.floor(h / 0x1_0000_0000), 0x9e3779b1));
}

/** True for a sum as the network may carry it. */
export function isSum(raw: unknown): raw is number {
  return typeof raw === "number" && Number.isInteger(raw) && raw >= 0 && raw <= 0xffff_ffff;
}

/**
 * When a node that meets a different sum may start an exchange: once the difference has lasted
 * `wait` seconds (from the first different sum met since its set of live members last changed),
 * one at a time, at least `gap` seconds apart, the gap doubled (up to `max`) after each exchange
 * that changed nothing in that set, and back to `gap` once it changes (by an exchange or by
 * gossip; `version` counts its changes). Two views that cannot agree (a member one side may not
 * hold) then cost an exchange every few minutes, not every few seconds.
 */
export class SumExchanges {
  #busy = false;
  #gap: number;
  #endedAt = Number.NEGATIVE_INFINITY;
  /** The set's version when the last exchange ended. */
  #version = -1;
  /** The set's version when a different sum was first met since it changed, and when. */
  #seenVersion = -1;
  #seenAt = 0;

  /** `gap` and `wait` in seconds. */
  constructor(
    private readonly gap: number,
    private readonly wait: number,
  ) {
    this.#gap = gap;
  }

  /** A different sum was met at `now`, this node's set of live members at `version`: true when an exchange may start. */
  differs(now: number, version: number): boolean {
    if (version !== this.#seenVersion) {
      this.#seenVersion = version;
      this.#seenAt = now;
    }
    if (this.#busy || now - this.#seenAt < this.wait) return false;
    if (version !== this.#version) this.#gap = this.gap;
    return now >= this.#endedAt + this.#gap;
  }

  /** An exchange started, the set at `version`. */
  begin(version: number): void {
    this.#busy = true;
    this.#version = version;
  }

  /** The exchange ended at `now`, the set at `version`; `max`: the longest gap, seconds. */
  end(now: number, version: number, max: number): void {
    this.#busy = false;
    this.#gap = version !== this.#version ? this.gap : Math.min(Math.max(max, this.gap), this.#gap * 2);
    this.#version = version;
    this.#endedAt = now;
  }
}
