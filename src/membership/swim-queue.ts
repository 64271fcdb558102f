/**
 * The SWIM core's helpers that hold no protocol logic of their own: the transmit-limited broadcast
 * queue (memberlist's `queue.go`), the suspicion timer that shrinks with confirmations
 * (`suspicion.go`) and Lifeguard's local-health score (`awareness.go`).
 *
 * @module
 */
import type { MemberUpdate, SwimState } from "./swim-types.ts";

interface Queued {
  update: MemberUpdate;
  /** Times sent so far: the bucket it is in. */
  transmits: number;
  /** Sent at most this many times, whatever the limit of a take (Infinity: the take's limit). */
  cap: number;
  bytes: number;
  /** Its bytes in a message to a peer that reads lean deaths (see `take`). */
  leanBytes: number;
  /** True once taken (its encoded form may be cached by the sender: see {@link EncodedBudget}). */
  encoded: boolean;
  /** Its neighbours in the queue's list of taken entries, least recently taken first (see `BroadcastQueue`'s `#oldestTaken`). */
  olderTaken: Queued | null;
  newerTaken: Queued | null;
  /** The member that last sent this node this very update (it holds it: no message to it carries it). */
  from: string | null;
  prev: Queued | null;
  next: Queued | null;
}

/**
 * How much of the queue a sender may keep encoded: updates taken for a message are encoded once
 * and their bytes kept with them (the packed form, `swim-wire.ts`) for their next messages. Past
 * `bytes` (as the queue measures updates) of taken updates still queued, the least recently taken
 * ones are handed to `release` (the sender drops their bytes; they are encoded again if taken
 * again). In a quiet swarm the queue is short and its few updates are taken again within moments;
 * in a saturated one it held a packed update per member for many seconds (about 600 bytes per
 * known peer per node at 1,000 nodes).
 */
export interface EncodedBudget {
  bytes: number;
  release(update: MemberUpdate): void;
}

/** Skipped entries (too big for what is left of the budget) after which a take stops looking. */
const MAX_SKIPS = 8;

/** Deaths left out because the receiver holds them (see `take`) after which a take stops looking (a walk bounded in a queue of thousands). */
const MAX_HELD_SKIPS = 512;

/**
 * Membership updates waiting to be piggybacked: one per member (a newer update about a member
 * replaces the queued one), each sent at most `limit(n)` times, fewest-sent (then newest) first,
 * as many as fit a byte budget. Bounded: past `capacity` the most-sent, oldest entry is dropped.
 *
 * Entries sit in one list per transmit count, newest first, so a take costs what it returns, not
 * the queue's length (a 10,000-node simulation holds thousands of queued updates per node).
 */
export class BroadcastQueue {
  readonly #items = new Map<string, Queued>();
  /** Heads (newest) and tails (oldest) of the lists by transmit count. */
  readonly #heads: Array<Queued | null> = [];
  readonly #tails: Array<Queued | null> = [];
  /**
   * Taken entries still queued, least recently taken first (see {@link EncodedBudget}), as a list
   * through the entries themselves, and their bytes. (A `Set` kept in that order cost a delete and
   * an add per update taken: 4% of a survivor's CPU over a kill, whose messages take a hundred
   * deaths each.)
   */
  #oldestTaken: Queued | null = null;
  #newestTaken: Queued | null = null;
  #encodedBytes = 0;
  /** The transmit limit of the last take (see {@link echo}). */
  #limit = Number.POSITIVE_INFINITY;

  constructor(
    private readonly measure: (update: MemberUpdate) => number,
    private readonly capacity = 4096,
    private readonly encodedBudget: EncodedBudget | null = null,
    /** An update's size in a message to a peer that reads lean deaths (`swim-wire.ts`); default: `measure`. */
    private readonly measureLean: ((update: MemberUpdate) => number) | null = null,
  ) {}

  /** Bytes (as measured) of the taken updates still queued whose encoded form the sender may keep. */
  get encodedBytes(): number {
    return this.#encodedBytes;
  }

  /** Updates waiting. */
  get size(): number {
    return this.#items.size;
  }

  /**
   * Queue `update`, replacing any queued update about the same member; sent at most `cap` times
   * (default: as many as each take's limit allows). `encoded`: the sender holds its encoded form
   * already (a relay that goes on as the bytes it came in): it counts against the
   * {@link EncodedBudget} from now, as a taken one does.
   */
  push(update: MemberUpdate, cap = Number.POSITIVE_INFINITY, encoded = false): void {
    this.delete(update.id);
    const wasEmpty = this.#items.size === 0;
    if (this.#items.size >= this.capacity) this.#dropMostSent();
    const bytes = this.measure(update);
    const item: Queued = { update, transmits: 0, cap, bytes, leanBytes: this.measureLean?.(update) ?? bytes, encoded: false, olderTaken: null, newerTaken: null, from: null, prev: null, next: null };
    this.#items.set(update.id, item);
    this.#link(item);
    if (encoded && this.encodedBudget) {
      this.#taken(item);
      this.#trimEncoded();
    }
    if (wasEmpty) this.onQueued?.();
  }

  /** Told when an update goes into an empty queue (the core's gossip rounds rest while it is empty). */
  onQueued: (() => void) | null = null;

  /** Forget the queued update about `id` (the member was forgotten, or a newer update replaces it). */
  delete(id: string): void {
    const item = this.#items.get(id);
    if (!item) return;
    this.#unlink(item);
    this.#items.delete(id);
    this.#unencoded(item);
  }

  /**
   * Take the updates to send in one message (to member `to`): fewest-sent first, newest among
   * equals, within `budget` bytes; each counts one transmission and leaves the queue after
   * `limit`. An update that `to` itself sent this node last ({@link heardFrom}, {@link echo}) is
   * left for other messages: an ack carried back the news its request had just brought, and in
   * a mass join that was one transmission in two of a newcomer's relayed claim. With `lean` (the
   * message goes to a peer that reads lean deaths) each update counts its lean size. A death that
   * `holds` says `to` has already (an answer to `to`'s request, which carried the filter of its
   * recent deaths) is left out and counts as one of its transmissions, as a copy received does
   * ({@link echo}): `to` has it, and the budget goes to news. Left out but not counted, such
   * deaths went on in requests to members that mostly held them too (a kill's copies sent rose).
   */
  take(budget: number, limit: number, to?: string, lean = false, holds?: ((id: string) => boolean) | null): MemberUpdate[] {
    this.#limit = limit;
    if (this.#items.size === 0 || budget <= 0) return [];
    const picked: Queued[] = [];
    let used = 0;
    let skips = 0;
    // Made at the first death left out, and counted apart: a take without `holds` (every take of a
    // join) touches no such array. (A frozen empty one there and a fresh one in a kill's answers
    // gave the compiled take two kinds of array, so the kill's first answers made it exit.)
    let held: Queued[] | null = null;
    let heldCount = 0;
    for (let t = 0; t < this.#heads.length && skips < MAX_SKIPS && heldCount < MAX_HELD_SKIPS; t++) {
      for (let item = this.#heads[t] ?? null; item && skips < MAX_SKIPS && heldCount < MAX_HELD_SKIPS; item = item.next) {
        if (to !== undefined && item.from === to) continue;
        if (holds && item.update.state === "dead" && holds(item.update.id)) {
          (held ??= []).push(item);
          heldCount++;
          continue;
        }
        const bytes = lean ? item.leanBytes : item.bytes;
        if (used + bytes > budget) {
          skips++;
          continue;
        }
        used += bytes;
        picked.push(item);
      }
    }
    // A death the receiver holds counts as sent (it has it: rumor mongering with feedback), not carried.
    if (held !== null) for (let i = held.length - 1; i >= 0; i--) this.#count(held[i]!, limit);
    // Moved after the walk (so none is picked twice), newest ending first in its new list.
    for (let i = picked.length - 1; i >= 0; i--) {
      const item = picked[i]!;
      if (this.#count(item, limit)) this.#taken(item);
    }
    this.#trimEncoded();
    return picked.map((item) => item.update);
  }

  /**
   * Another member sent this node the news queued about `id` (the same incarnation and state): it
   * is spreading it too, so that copy counts as one of the update's transmissions (rumor mongering
   * with feedback), and the update leaves the queue once its sends and such copies reach the last
   * take's limit. In a mass join every node relayed every newcomer's claim its full count while
   * receiving the same claim from many others: most of what the join's gossip moved was copies.
   */
  echo(id: string, incarnation: number, state: SwimState, from: string): void {
    const item = this.#items.get(id);
    if (item === undefined || item.update.incarnation !== incarnation || item.update.state !== state) return;
    item.from = from;
    this.#count(item, this.#limit);
  }

  /** Count one transmission of `item`, which moves to the list of its new count; false when that was its last (it left the queue). */
  #count(item: Queued, limit: number): boolean {
    this.#unlink(item);
    if (++item.transmits >= Math.min(limit, item.cap)) {
      this.#items.delete(item.update.id);
      this.#unencoded(item);
      return false;
    }
    this.#link(item);
    return true;
  }

  /** Member `from` sent this node the update queued about `id` (its news, applied): no message to `from` carries it (see {@link take}). */
  heardFrom(id: string, incarnation: number, state: SwimState, from: string): void {
    const item = this.#items.get(id);
    if (item !== undefined && item.update.incarnation === incarnation && item.update.state === state) item.from = from;
  }

  /** `item` was taken and stays queued: the most recently taken now. */
  #taken(item: Queued): void {
    if (!this.encodedBudget) return;
    if (item.encoded) {
      if (item === this.#newestTaken) return;
      this.#untake(item);
    } else {
      this.#encodedBytes += item.bytes;
      item.encoded = true;
    }
    item.olderTaken = this.#newestTaken;
    if (this.#newestTaken) this.#newestTaken.newerTaken = item;
    else this.#oldestTaken = item;
    this.#newestTaken = item;
  }

  /** `item` left the queue: its bytes go with its update (no release needed). */
  #unencoded(item: Queued): void {
    if (!item.encoded) return;
    item.encoded = false;
    this.#untake(item);
    this.#encodedBytes -= item.bytes;
  }

  /** Take `item` out of the list of taken entries. */
  #untake(item: Queued): void {
    if (item.olderTaken) item.olderTaken.newerTaken = item.newerTaken;
    else this.#oldestTaken = item.newerTaken;
    if (item.newerTaken) item.newerTaken.olderTaken = item.olderTaken;
    else this.#newestTaken = item.olderTaken;
    item.olderTaken = item.newerTaken = null;
  }

  /** Release the least recently taken entries' encoded forms while over the budget. */
  #trimEncoded(): void {
    const budget = this.encodedBudget;
    if (!budget) return;
    for (let item = this.#oldestTaken; item !== null && this.#encodedBytes > budget.bytes; item = this.#oldestTaken) {
      this.#unencoded(item);
      budget.release(item.update);
    }
  }

  #link(item: Queued): void {
    const head = this.#heads[item.transmits] ?? null;
    item.prev = null;
    item.next = head;
    if (head) head.prev = item;
    else this.#tails[item.transmits] = item;
    this.#heads[item.transmits] = item;
  }

  #unlink(item: Queued): void {
    if (item.prev) item.prev.next = item.next;
    else this.#heads[item.transmits] = item.next;
    if (item.next) item.next.prev = item.prev;
    else this.#tails[item.transmits] = item.prev;
    item.prev = item.next = null;
  }

  #dropMostSent(): void {
    for (let t = this.#tails.length - 1; t >= 0; t--) {
      const oldest = this.#tails[t];
      if (oldest) return this.delete(oldest.update.id);
    }
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

  /**
   * True while the score is above 0: this node is behind on its work. A seed then answers joiners
   * a page rather than its whole state, a relayed newcomer's claim is gossiped on fewer times, and
   * a gossip round goes to one member (`swim.ts`).
   */
  get degraded(): boolean {
    return this.#score > 0;
  }

  apply(delta: number): void {
    this.#score = Math.min(this.max, Math.max(0, this.#score + delta));
  }

  scale(timeout: number): number {
    return timeout * (this.#score + 1);
  }
}

/** A blocked stretch shorter than this (seconds) does not delay a timeout. */
const MIN_STALL = 0.005;

/**
 * Run `fn` after `delay` seconds of this node's own time: the time its event loop was blocked
 * while waiting (`stalled`, a running total in seconds) is waited again, since an answer that
 * arrived then may not have been read yet; at most `maxExtra` seconds more in all. `onStall` is
 * told each time the wait is stretched. Returns a cancel function. Without `stalled`, a plain timer.
 */
export function afterOwnTime(
  schedule: (delay: number, fn: () => void) => () => void,
  stalled: (() => number) | undefined,
  delay: number,
  maxExtra: number,
  fn: () => void,
  onStall?: (seconds: number) => void,
): () => void {
  if (!stalled) return schedule(delay, fn);
  let mark = stalled();
  let budget = maxExtra;
  let cancel = (): void => {};
  const arm = (wait: number): void => {
    cancel = schedule(wait, () => {
      const now = stalled();
      const extra = Math.min(now - mark, budget);
      mark = now;
      if (extra < MIN_STALL) return fn();
      budget -= extra;
      onStall?.(extra);
      arm(extra);
    });
  };
  arm(delay);
  return () => cancel();
}
