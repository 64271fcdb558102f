/**
 * The changes made to a member list, in the order they were made: what answers a catch-up pull
 * (`MemberList.state` with `since`) without walking every member.
 *
 * A joiner pulls what changed at a node since the version it last saw, about once a second for
 * its first seconds (`SwimCore`'s catch-up): in the 1,000-node paced join each answer held 25 to 40
 * records and walked all 1,000 members to find them (3.3% of a worker's CPU). The log is walked
 * backwards from its end instead, as far as the asker's version: the cost is the changes made
 * since, not the list's size.
 *
 * It is an append-only log of (member, version) pairs, one per change (the list stamps each
 * change with a new, higher version: `SwimMember.version`), so the versions rise along it. An
 * entry stands while its member's version is still the one it holds (a later change has an entry
 * of its own, further on) and the list still holds that member (a member it forgot, or a store
 * that lost it, is never answered). Entries that no longer stand are dropped together once the
 * log holds more than one and a half entries per member, and {@link LOG_SLACK} more: a pass over
 * the log per half as many changes as the list has members (a check and a lookup per entry), for
 * at most one and a half entries of 16 bytes per member. Measured on 20,000 members: 31 bytes per
 * member at the bound, with the arrays' spare room (47 at twice the members, the bound first tried).
 *
 * @module
 */

/** A member as the log holds it: its id (the list's key) and the version its last change stamped. */
export interface Versioned {
  readonly id: string;
  readonly version: number;
}

/** Entries the log keeps beyond one and a half per member before it drops the ones that no longer stand (a small list compacts no more often than this). */
export const LOG_SLACK = 64;

/** A member list's changes in order (see the module header). */
export class ChangeLog<M extends Versioned> {
  /** The member of each change, oldest first; {@link #versions} holds each one's version at the same index. */
  #members: M[] = [];
  #versions: number[] = [];

  /** `holds(m)`: true while the list still holds record `m` (the same object under its id). */
  constructor(private readonly holds: (m: M) => boolean) {}

  /** Entries now, standing or not (for tests). */
  get length(): number {
    return this.#members.length;
  }

  /** `m` changed just now (its `version` is the new one); the list holds `size` members. */
  add(m: M, size: number): void {
    this.#members.push(m);
    this.#versions.push(m.version);
    this.fit(size);
  }

  /**
   * Drop the entries that no longer stand once the log is past its bound for `size` members (the
   * list calls it after it forgets members too, so that their records are not kept for the log).
   */
  fit(size: number): void {
    const members = this.#members, versions = this.#versions;
    if (members.length <= size + (size >> 1) + LOG_SLACK) return;
    let kept = 0;
    for (let i = 0; i < members.length; i++) {
      const m = members[i]!, version = versions[i]!;
      if (m.version !== version || !this.holds(m)) continue;
      members[kept] = m;
      versions[kept++] = version;
    }
    members.length = kept;
    versions.length = kept;
  }

  /**
   * Call `each` with every member held whose record changed after version `since`, oldest change
   * first: the members whose `version` is above `since`, as a walk of them all would find them.
   */
  after(since: number, each: (m: M) => void): void {
    const members = this.#members, versions = this.#versions;
    let start = versions.length;
    while (start > 0 && versions[start - 1]! > since) start--;
    for (let i = start; i < members.length; i++) {
      const m = members[i]!;
      if (m.version === versions[i] && this.holds(m)) each(m);
    }
  }
}
