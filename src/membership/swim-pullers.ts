/**
 * The members that pull what changes at this node (joiners catching up here, `SwimCore`'s
 * catch-up), so that a seed can answer a paged joiner with them, keep answering them past its
 * budget for joiners, and name them to a joiner it answers busy.
 *
 * Each joiner catches up at the member its state came from: the seed when the seed answered its
 * whole state, else the member of the seed's page that gave it. With a page of random members, the
 * pulls of a mass join formed a random tree, each node pulling from one that joined before it,
 * and news of the last joiners went down it one pull after another: in a census of the 1,000-node
 * paced join, 437 nodes pulled at the seed, 340 were three hops from it or more (up to ten), and
 * those lacking the most, 0.8 s after the last join returned, were two to six hops away. A page
 * made of the seed's own pullers keeps every paged joiner two hops from it. A joiner whose pull at
 * the seed is answered busy goes on at one of them too, which holds only if they stay: a seed
 * keeps answering a member that pulled within the window past its budget (refusing newcomers
 * only, and taking a newcomer in while it holds fewer than its bound). With random members for
 * the movers, and the seed's pullers moved off in turn, a census of the same join (s57) found 276
 * nodes three to eleven hops away; in the simulator, rings of members pulling from each other.
 *
 * Bounded: {@link RecentPullers.max} ids at most, the one that pulled longest ago dropped first.
 *
 * @module
 */

/** Probe intervals since its last pull within which a member counts as pulling here. */
export const PULLER_WINDOW = 3;

/** The members that pulled here lately, the one that pulled longest ago first. */
export class RecentPullers {
  /** Member id to the time of its last pull (seconds, the core's clock), in the order of those times. */
  readonly #at = new Map<string, number>();

  /** `max`: ids kept at most. */
  constructor(readonly max: number) {}

  /** Member `id` pulled at `now`. */
  add(id: string, now: number): void {
    this.#at.delete(id);
    this.#at.set(id, now);
    if (this.#at.size > this.max) this.#at.delete(this.#at.keys().next().value!);
  }

  /** Ids kept. */
  get size(): number {
    return this.#at.size;
  }

  /** True when `id` pulled at `since` or later. */
  holds(id: string, since: number): boolean {
    return (this.#at.get(id) ?? -Infinity) >= since;
  }

  /** How many pulled at `since` or later; those that pulled before are forgotten. */
  count(since: number): number {
    for (const [id, at] of this.#at) {
      if (at >= since) break;
      this.#at.delete(id);
    }
    return this.#at.size;
  }

  /** The ids that pulled at `since` or later and that `accept` takes; those that pulled before `since` are forgotten. */
  since(since: number, accept: (id: string) => boolean): string[] {
    const ids: string[] = [];
    for (const [id, at] of this.#at) {
      if (at < since) this.#at.delete(id);
      else if (accept(id)) ids.push(id);
    }
    return ids;
  }
}
