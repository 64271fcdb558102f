/**
 * Bounded collections of the signature checks (records.ts): a set and a map that forget their
 * oldest entry first, so that what a node remembers of signers and checks stays bounded.
 *
 * @module
 */

/** A bounded set that forgets its least recently added or touched entry first. */
export class BoundedSet {
  private readonly set = new Set<string>();
  constructor(private readonly max: number) {}
  has(key: string): boolean {
    return this.set.has(key);
  }
  add(key: string): void {
    this.set.delete(key);
    this.set.add(key);
    if (this.set.size > this.max) this.set.delete(this.set.values().next().value as string);
  }
}

/** A bounded map that forgets its oldest entry first (keyed by strings, or by numbers: claim-cache.ts). */
export class Bounded<V, K extends string | number = string> {
  private readonly map = new Map<K, V>();
  constructor(private readonly max: number) {}
  get(key: K): V | undefined {
    return this.map.get(key);
  }
  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as K);
  }
  has(key: K): boolean {
    return this.map.has(key);
  }
  delete(key: K): void {
    this.map.delete(key);
  }
  get size(): number {
    return this.map.size;
  }
}
