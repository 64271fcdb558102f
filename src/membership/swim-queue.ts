/**
 * The SWIM core's helpers that hold no protocol logic of their own: the transmit-limited broadcast
 * queue (memberlist's `queue.go`), the suspicion timer that shrinks with confirmations
 * (`suspicion.go`) and Lifeguard's local-health score (`awareness.go`).
 *
 * @module
 */
import type { MemberUpdate } from "./swim-types.ts";

interface Queued {
  update: MemberUpdate;
  /** Times sent so far. */
  transmits: number;
  /** Insertion order: newer first among equally sent ones. */
  order: number;
  bytes: number;
}

/**
 * Membership updates waiting to be piggybacked: one per member (a newer update about a member
 * replaces the queued one), each sent at most `limit(n)` times, fewest-sent (then newest) first,
 * as many as fit a byte budget. Bounded: past `capacity` the most-sent entry is dropped.
 */
export class BroadcastQueue {
  readonly #items = new Map<string, Queued>();
  #order = 0;

  constructor(
    private readonly measure: (update: MemberUpdate) => number,
    private readonly capacity = 4096,
  ) {}

  /** Updates waiting. */
  get size(): number {
    return this.#items.size;
  }

  /** Queue `update`, replacing any queued update about the same member. */
  push(update: MemberUpdate): void {
    this.#items.delete(update.id);
    if (this.#items.size >= this.capacity) this.#dropMostSent();
    this.#items.set(update.id, { update, transmits: 0, order: ++this.#order, bytes: this.measure(update) });
  }

  /** Forget the queued update about `id` (the member was forgotten). */
  delete(id: string): void {
    this.#items.delete(id);
  }

  /**
   * Take the updates to send in one message: fewest-sent first, newest among equals, within
   * `budget` bytes; each counts one transmission and leaves the queue after `limit`.
   */
  take(budget: number, limit: number): MemberUpdate[] {
    if (this.#items.size === 0 || budget <= 0) return [];
    const ordered = [...this.#items.values()].sort((a, b) => a.transmits - b.transmits || b.order - a.order);
    const out: MemberUpdate[] = [];
    let used = 0;
    for (const item of ordered) {
      if (used + item.bytes > budget) continue;
      used += item.bytes;
      out.push(item.update);
      if (++item.transmits >= limit) this.#items.delete(item.update.id);
    }
    return out;
  }

  #dropMostSent(): void {
    let worst: Queued | undefined;
    for (const item of this.#items.values()) if (!worst || item.transmits > worst.transmits || (item.transmits === worst.transmits && item.order < worst.order)) worst = item;
    if (worst) this.#items.delete(worst.update.id);
  }
}

/**
 * One member's suspicion: the timeout starts at `max` and shrinks towards `min` as independent
 * members confirm it, logarithmically in the confirmations (k expected), as in Lifeguard.
 */
export class Suspicion {
  readonly #confirmed = new Set<string>();

  constructor(
    /** When the suspicion started (seconds). */
    readonly start: number,
    readonly min: number,
    readonly max: number,
    /** Confirmations that bring the timeout down to `min`. */
    readonly k: number,
    from: string,
  ) {
    this.#confirmed.add(from);
  }

  /** Count a confirmation from `from`; true when it is new (not the first suspecter, not a repeat). */
  confirm(from: string): boolean {
    if (this.#confirmed.size - 1 >= this.k || this.#confirmed.has(from)) return false;
    this.#confirmed.add(from);
    return true;
  }

  /** When the member is declared dead (seconds). */
  get deadline(): number {
    const c = this.#confirmed.size - 1;
    if (this.k < 1) return this.start + this.min;
    const frac = Math.log(c + 1) / Math.log(this.k + 1);
    return this.start + Math.max(this.min, this.max - (this.max - this.min) * frac);
  }
}

/**
 * Lifeguard's local health: failed probes, refutations and missing nacks raise the score, a good
 * probe lowers it; timeouts are multiplied by score + 1, so a node that is itself slow (overloaded,
 * paused) waits longer before it accuses others.
 */
export class Awareness {
  #score = 0;

  constructor(private readonly max: number) {}

  get score(): number {
    return this.#score;
  }

  apply(delta: number): void {
    this.#score = Math.min(this.max, Math.max(0, this.#score + delta));
  }

  scale(timeout: number): number {
    return timeout * (this.#score + 1);
  }
}
