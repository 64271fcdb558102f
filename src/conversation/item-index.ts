/**
 * The remembered items of a node's dissemination by their de-duplication key (`itemKey`), without
 * making that key: events by id, replies by nonce and then by replier id. Every item a batch brings
 * is looked up here (a few hundred a node in a 200-peer broadcast), and a key string joining a
 * reply's two parts, made and hashed for each and looked up in one map of every item, took 6% of
 * that broadcast's samples; a broadcast's replies now share the map of their nonce.
 *
 * @module
 */
import type { Item, RawItem } from "./batch-items.ts";

/** Remembered values by their item's key (what `ItemMemory` keeps its entries in). */
export class ItemIndex<V> {
  private readonly events = new Map<string, V>();
  private readonly replies = new Map<string, Map<string, V>>();
  /** Items held. */
  size = 0;

  /** The value of `item`, if held. */
  find(item: Item): V | undefined {
    return item.kind === "event" ? this.events.get(item.event.event_id) : this.replies.get(item.nonce)?.get(item.peer.id);
  }

  /** The value of the item `raw` becomes, if held (a reply by its nonce and replier id, as read). */
  findRaw(raw: RawItem): V | undefined {
    return raw.kind === "event" ? this.events.get(raw.id) : this.replies.get(raw.nonce)?.get(raw.peerId);
  }

  /** Hold `value` for `item`, which is not held yet. */
  add(item: Item, value: V): void {
    if (item.kind === "event") this.events.set(item.event.event_id, value);
    else {
      let byReplier = this.replies.get(item.nonce);
      if (byReplier === undefined) this.replies.set(item.nonce, (byReplier = new Map()));
      byReplier.set(item.peer.id, value);
    }
    this.size++;
  }

  /** Let go of `item`'s value (a nonce's map goes with its last reply). */
  delete(item: Item): void {
    let gone: boolean;
    if (item.kind === "event") gone = this.events.delete(item.event.event_id);
    else {
      const byReplier = this.replies.get(item.nonce);
      gone = byReplier?.delete(item.peer.id) ?? false;
      if (byReplier?.size === 0) this.replies.delete(item.nonce);
    }
    if (gone) this.size--;
  }

  /** Let go of everything. */
  clear(): void {
    this.events.clear();
    this.replies.clear();
    this.size = 0;
  }
}
