/**
 * The ids of the members a member list holds dead or left (`swim-members.ts`), in a table of
 * their strings: a copy of a death about one of them is old news, told without the list's map.
 *
 * In a 1,000-node kill a survivor reads a million copies of the 249 deaths, nearly all of
 * members it holds dead already, and each copy's lookup in the member map was the largest self
 * share of its CPU (12 to 14%): in a bench worker's heap (250 nodes' maps) a hit costs several
 * cache misses, 0.5 to 1 µs, where a script with the same maps takes 43 ns. This table is one
 * array of strings a list, probed at a slot made of a few of the id's characters: the peeked id
 * of a copy is most often the very string the table holds (`peeked-ids.ts`), so a hit compares
 * pointers.
 *
 * @module
 */

/** A removed id's place: probing goes on past it. */
const REMOVED = Symbol("removed");

/** A set of id strings, open addressing with linear probing over an array (see the module header). */
export class GoneIds {
  #slots: Array<string | typeof REMOVED | undefined> = new Array(16);
  #mask = 15;
  #size = 0;
  /** Slots holding {@link REMOVED}. */
  #removed = 0;

  get size(): number {
    return this.#size;
  }

  has(id: string): boolean {
    const slots = this.#slots;
    for (let at = slotOf(id) & this.#mask; ; at = (at + 1) & this.#mask) {
      const held = slots[at];
      if (held === undefined) return false;
      if (held === id) return true;
    }
  }

  add(id: string): void {
    if (this.has(id)) return;
    if (2 * (this.#size + this.#removed + 1) > this.#slots.length) this.#rebuild(this.#size + 1);
    const slots = this.#slots;
    let at = slotOf(id) & this.#mask;
    while (slots[at] !== undefined && slots[at] !== REMOVED) at = (at + 1) & this.#mask;
    if (slots[at] === REMOVED) this.#removed--;
    slots[at] = id;
    this.#size++;
  }

  delete(id: string): boolean {
    const slots = this.#slots;
    for (let at = slotOf(id) & this.#mask; ; at = (at + 1) & this.#mask) {
      const held = slots[at];
      if (held === undefined) return false;
      if (held === id) {
        slots[at] = REMOVED;
        this.#size--;
        this.#removed++;
        return true;
      }
    }
  }

  /** The table again, for at least `count` ids at half its length at most, without removed slots. */
  #rebuild(count: number): void {
    let length = 16;
    while (length < 2 * count) length *= 2;
    const old = this.#slots;
    this.#slots = new Array(length);
    this.#mask = length - 1;
    this.#size = 0;
    this.#removed = 0;
    for (const held of old) if (held !== undefined && held !== REMOVED) this.add(held);
  }
}

/** An id's first slot: four of its characters (first, a quarter in, middle, last) mixed. */
function slotOf(id: string): number {
  const n = id.length;
  if (n === 0) return 0;
  const x = id.charCodeAt(0) | (id.charCodeAt(n >> 2) << 8) | (id.charCodeAt(n >> 1) << 16) | (id.charCodeAt(n - 1) << 24);
  return Math.imul(x ^ n, 0x9e3779b1) >>> 12;
}
