/**
 * A `Set` that counts its changes, so that something derived from it can be kept while its
 * `version` stands (gossip's owned peers: membership keeps the list of the others).
 *
 * @module
 */

/** A set whose {@link version} moves on every add of a new value, delete of a held one, and clear of a non-empty set. */
export class CountedSet<T> extends Set<T> {
  /** Changes so far. */
  version = 0;

  override add(value: T): this {
    if (!this.has(value)) this.version++;
    return super.add(value);
  }

  override delete(value: T): boolean {
    const deleted = super.delete(value);
    if (deleted) this.version++;
    return deleted;
  }

  override clear(): void {
    if (this.size > 0) this.version++;
    super.clear();
  }
}
