/**
 * `conversation/item-bytes.ts`: a batch's items as bytes (hello feature `item_bytes`). Read one by
 * one as a list's items are read; each item's own bytes kept only when its maps have exactly the keys
 * of its form (so a relay never sends on more than it read); malformed bytes refused whole with
 * `bad_request`; each peer sent the form it takes, kept bytes reused only for that form.
 */
import { concatBytes } from "../../src/util/bytes.ts";
import { describe, expect, test } from "bun:test";
import { BATCH_BYTES, FORM_MAC, FORM_REF, MAX_BATCH_ITEMS, rawKey, readItem, readItems, type Item, type RawItem } from "../../src/conversation/batch-items.ts";
import { SHARED_BIN_BYTES, hasReplyItem, itemList, keptForm, readBatchItems, readItemBytes, readRefReply } from "../../src/conversation/item-bytes.ts";
import { packFor, type Entry } from "../../src/conversation/item-memory.ts";
import { BinParts } from "../../src/wire/bin-parts.ts";
import { decode, encode } from "../../src/wire/codec.ts";
import { EndpointError, ErrorCode } from "../../src/errors.ts";
import type { Peer } from "../../src/types.ts";

const peer: Peer = { id: "r".repeat(64), address: "127.0.0.1", port: 9, swarm: "s", team: null, name: "r", kind: "node", capabilities: ["x"], last_seen: 1 };
/** A well-formed MAC vector: version 1, one entry (4-byte hint, 16-byte tag). */
const mac = Uint8Array.from([1, ...new Array(20).fill(7)]);
const event = { conversation_id: "c", event_id: "e1", kind: "note", peer, payload: { a: 1 }, parent_id: null, created_at: 1, metadata: {} };

/** Items' encodings back to back, and each one's bytes. */
function join(items: unknown[]): { bin: Uint8Array; parts: Uint8Array[] } {
  const parts = items.map((i) => new Uint8Array(encode(i)));
  return { bin: concatBytes(parts), parts };
}

/** The bad_request a call throws (fails the test when it does not). */
function refusal(read: () => unknown): EndpointError {
  try {
    read();
  } catch (error) {
    expect(error).toBeInstanceOf(EndpointError);
    expect((error as EndpointError).code).toBe(ErrorCode.BadRequest);
    return error as EndpointError;
  }
  throw new Error("not refused");
}

describe("item bytes - reading", () => {
  test("items as bytes read as the same list reads, each item in its form with its own bytes", () => {
    const items = [
      { event },
      { event, mac },
      { reply: { nonce: "n", peer, result: { x: 1 } } },
      { reply: { nonce: "n", peer_id: peer.id, result: 2, sig: new Uint8Array(64) } },
      { reply: { nonce: "n", peer_id: "q".repeat(64), result: null, mac } },
    ];
    const { bin, parts } = join(items);
    const read = readItemBytes(bin);
    const strip = (r: RawItem | null) => r && { ...r, bytes: null, form: 0 };
    expect(read.map(strip)).toEqual(readItems(items).map(strip));
    expect(read.map((r) => r!.form)).toEqual([0, FORM_MAC, 0, FORM_REF, FORM_REF | FORM_MAC]);
    read.forEach((r, i) => expect(r!.bytes).toEqual(parts[i]!));
    // A small bin that owns its buffer (as the decoder hands one over) is shared by its items' views.
    for (const r of read) expect(r!.bytes!.buffer).toBe(bin.buffer);
    // A reply read straight from its bytes keeps its signature as a view of them too.
    const signed = read[3]!;
    expect(signed.kind === "reply" && (signed.sig as Uint8Array).buffer).toBe(bin.buffer);
    // A bin that is a view of a buffer more than twice its size (a socket read of several frames,
    // say) is not kept alive by an item: copies.
    const framed = new Uint8Array(2 * bin.length + 10);
    framed.set(bin, 5);
    const fromFrame = readItemBytes(framed.subarray(5, 5 + bin.length));
    fromFrame.forEach((r, i) => {
      expect(r!.bytes).toEqual(parts[i]!);
      expect(r!.bytes!.buffer).not.toBe(framed.buffer);
      expect(r!.bytes!.byteLength).toBe(r!.bytes!.buffer.byteLength);
      // A signature or MACs read as views are views of the item's own copy, not of the frame.
      if (r!.kind === "reply" && r!.sig instanceof Uint8Array) expect(r!.sig.buffer).toBe(r!.bytes!.buffer);
      if (r!.mac) expect(r!.mac.buffer).not.toBe(framed.buffer);
    });
    expect(fromFrame.map(strip)).toEqual(read.map(strip));
    // A view of a buffer at most twice its size (the decoder's view of an owned socket read that
    // held little else: fastDecode) is shared as a bin of its own is.
    const read2 = new Uint8Array(2 * bin.length);
    read2.set(bin, 7);
    const fromRead = readItemBytes(read2.subarray(7, 7 + bin.length));
    fromRead.forEach((r, i) => {
      expect(r!.bytes).toEqual(parts[i]!);
      expect(r!.bytes!.buffer).toBe(read2.buffer);
    });
    expect(fromRead.map(strip)).toEqual(read.map(strip));
    // readBatchItems takes either way.
    expect(readBatchItems(bin).map(strip)).toEqual(read.map(strip));
    expect(readBatchItems(items).map(strip)).toEqual(read.map(strip));
  });

  test("a bin over SHARED_BIN_BYTES is not kept whole by its items: each keeps a copy of its own bytes", () => {
    const many = Array.from({ length: 300 }, (_, i) => ({ reply: { nonce: "n", peer_id: peer.id, result: "x".repeat(300 + (i % 7)) } }));
    const { bin, parts } = join(many);
    expect(bin.length).toBeGreaterThan(SHARED_BIN_BYTES);
    expect(bin.byteLength).toBe(bin.buffer.byteLength);
    const read = readItemBytes(bin);
    read.forEach((r, i) => {
      expect(r!.bytes).toEqual(parts[i]!);
      expect(r!.bytes!.buffer).not.toBe(bin.buffer);
    });
  });

  test("an item with a key this node does not know, or a shape it would not write back, keeps no bytes (it is encoded again)", () => {
    const notKept = [
      { event, extra: 1 },
      { event: { ...event, extra: 1 } },
      { event: { ...event, peer: { ...peer, extra: 1 } } },
      { event: { ...event, peer: { ...peer, name: null } } }, // read as "" (lenient)
      { event: { ...event, peer: { ...peer, kind: "other" } } }, // read as "node"
      { event: { ...event, peer: { ...peer, capabilities: [1, "x"] } } }, // the number is dropped
      { event: { ...event, payload: undefined } }, // nil payload: read as {}
      { event, mac: new Uint8Array([9, 9]) }, // a malformed vector is dropped when read
      { reply: { nonce: "n", peer, result: 1, extra: 1 } },
      { reply: { nonce: "n", peer: { ...peer, extra: 1 }, result: 1 } },
      { reply: { nonce: "n", peer: (({ last_seen: _l, ...p }) => p)(peer), result: 1 } }, // a missing key is filled in
      { reply: { nonce: "n", peer_id: peer.id, peer, result: 1 } }, // the record wins: peer_id would be relayed too
      { reply: { nonce: "n", peer_id: peer.id, result: 1, sig: null } },
      { reply: { nonce: "n", peer_id: peer.id } }, // no result: read as nil
      { reply: { nonce: "n", peer_id: peer.id, result: 1 }, mac },
      { reply: { nonce: "n", peer_id: peer.id, result: 1, mac: "not a vector" } },
    ];
    const read = readItemBytes(join(notKept).bin);
    expect(read.every((r) => r !== null)).toBe(true);
    read.forEach((r, i) => expect([i, r!.bytes]).toEqual([i, null]));
  });

  test("replies by reference in the bytes this node writes are read straight from them, as the general path reads them", () => {
    const uuid = "0193a5c2-7b7e-7c3a-9f0e-3d2b1a0c9e8f";
    const ref = (nonce: string, id: string, result: unknown) => ({ reply: { nonce, peer_id: id, result } });
    const sig = Uint8Array.from({ length: 64 }, (_, i) => i);
    // 60 entries: a vector of 1,201 bytes, written as a bin 16.
    const longMac = Uint8Array.from([1, ...Array.from({ length: 60 * 20 }, (_, i) => i % 251)]);
    const signed = (extra: Record<string, unknown>) => ({ reply: { nonce: uuid, peer_id: peer.id, result: { from: "node-2" }, ...extra } });
    const cases: Array<[unknown, boolean]> = [
      [signed({ sig }), true], // signed, no MACs
      [signed({ sig, mac }), true],
      [signed({ sig, mac: longMac }), true],
      [signed({ sig: new Uint8Array(3) }), true], // any bin: its length is the signature check's to refuse
      [signed({ sig, mac: new Uint8Array(5) }), false], // a malformed vector: dropped, bytes not kept
      [signed({ sig, mac: "not a vector" }), false],
      [signed({ mac, sig }), false], // keys in another order
      [signed({ sig: null }), false],
      [signed({ sig: "s".repeat(88) }), false], // a signature as text (read, not straight)
      [signed({ sig, mac, more: 1 }), false],
      [ref(uuid, peer.id, { from: "node-1" }), true],
      [ref(uuid, "q".repeat(64), null), true], // the nonce read before
      [ref("n", peer.id, [1, "two", { three: 3 }]), true], // a short nonce (fixstr)
      [ref(uuid, peer.id, 1.5), true],
      [ref("n\u00e9", peer.id, 1), false], // not ASCII
      [ref(uuid, "\u00e9".repeat(3), 1), false],
      [ref("", peer.id, 1), false], // not an item either way
      [ref(uuid, "", 1), false],
      [ref("x".repeat(300), peer.id, 1), false], // a nonce too long (and a str 16)
      [{ reply: { peer_id: peer.id, nonce: uuid, result: 1 } }, false], // keys in another order: bytes kept all the same
      [{ reply: { nonce: uuid, peer_id: peer.id, result: 1, sig: "s" } }, false],
      [{ reply: { nonce: uuid, peer_id: peer.id, result: 1, mac } }, false],
      [{ reply: { nonce: uuid, peer, result: 1 } }, false],
    ];
    const { bin, parts } = join(cases.map(([item]) => item));
    // How the general path reads each: the item from its map, its bytes kept in the form its keys make.
    const general = parts.map((part) => {
      const entry = decode(part) as Record<string, unknown>;
      const raw = readItem(entry);
      const form = raw ? keptForm(entry, raw) : -1;
      return raw && (form >= 0 ? { ...raw, bytes: part, form } : raw);
    });
    expect(readItemBytes(bin)).toEqual(general);
    expect(parts.map((part) => readRefReply(part, 0, part.length) !== null)).toEqual(cases.map(([, fast]) => fast));
    // Cut short anywhere, it is not read straight (the general path refuses it).
    for (const whole of [parts[1]!, parts[2]!, parts[10]!]) for (let end = 1; end < whole.length; end++) expect(readRefReply(whole, 0, end)).toBeNull();
  });

  test("an entry that is not shaped like an item is null in its place, as in a list", () => {
    const items = [7, { event: { event_id: 3 } }, { reply: { nonce: "n" } }, { event }];
    expect(readItemBytes(join(items).bin).map((r) => (r ? rawKey(r) : null))).toEqual([null, null, null, "e1"]);
  });

  test("bytes that are not whole items, too many items, or an item over the batch limit: the whole batch refused with bad_request", () => {
    const { bin } = join([{ event }, { event: { ...event, event_id: "e2" } }]);
    expect(refusal(() => readItemBytes(bin.subarray(0, bin.length - 3))).message).toContain("item 1");
    refusal(() => readItemBytes(Uint8Array.of(...bin.subarray(0, 10), 0xc1)));
    refusal(() => readItemBytes(Uint8Array.of(0xdd, 0xff, 0xff, 0xff, 0xff)));
    expect(readItemBytes(new Uint8Array(MAX_BATCH_ITEMS).fill(0xc0)).length).toBe(MAX_BATCH_ITEMS);
    expect(refusal(() => readItemBytes(new Uint8Array(MAX_BATCH_ITEMS + 1).fill(0xc0))).message).toContain(`more than ${MAX_BATCH_ITEMS}`);
    const big = join([{ event: { ...event, payload: { text: "x".repeat(BATCH_BYTES) } } }]).bin;
    expect(refusal(() => readItemBytes(big)).message).toContain(`longer than ${BATCH_BYTES}`);
    // A value the fast decoder leaves to the general one (an unknown extension): read as it reads it, not an item.
    expect(readItemBytes(Uint8Array.of(0xd4, 0x42, 0x00, ...encode({ event })))).toMatchObject([null, { kind: "event", id: "e1" }]);
    expect(readItemBytes(new Uint8Array(0))).toEqual([]);
  });

  test("a value only the general decoder reads (a map with an integer key) is read through it", () => {
    const item = Uint8Array.of(...encode({ reply: { nonce: "n", peer_id: peer.id, result: null } }));
    // result: {1: "a"}, written by hand in place of nil (the last byte).
    const bytes = Uint8Array.of(...item.subarray(0, item.length - 1), 0x81, 0x01, 0xa1, 0x61, ...encode({ event }));
    const [reply, second] = readItemBytes(bytes);
    expect(reply).toMatchObject({ kind: "reply", result: { 1: "a" }, form: FORM_REF });
    expect(second).toMatchObject({ kind: "event", id: "e1" });
  });
});

describe("item bytes - what travelled", () => {
  test("hasReplyItem says for items as bytes what it says for the same list (the broadcast bench counts by it)", () => {
    const cases: unknown[][] = [[], [{ event }], [{ event }, { reply: { nonce: "n", peer_id: "p", result: 1 } }], [{ reply: { nonce: "n", peer, result: { reply: 1 } } }], [{ event: { ...event, payload: { reply: 1 } } }]];
    for (const items of cases) {
      const { bin, parts } = join(items);
      expect(hasReplyItem(bin)).toBe(hasReplyItem(items));
      expect(itemList(bin)).toEqual(items);
      // In parts, as a batch goes out (one item a part): the same, part by part.
      const given = new BinParts(parts);
      expect(hasReplyItem(given)).toBe(hasReplyItem(items));
      expect(itemList(given)).toEqual(items);
    }
    expect(cases.map(hasReplyItem)).toEqual([false, false, true, true, false]);
    expect(hasReplyItem(Uint8Array.of(0xc1))).toBe(false);
    expect(hasReplyItem("no")).toBe(false);
  });
});

describe("item bytes - each peer gets the form it takes", () => {
  /** An entry learnt from items as bytes (a reply by reference with MACs), as the dissemination remembers it. */
  function learnt(): { entry: Entry; came: Uint8Array } {
    const [raw] = readItemBytes(join([{ reply: { nonce: "n", peer_id: peer.id, result: { x: 1 }, mac } }]).bin) as [RawItem & { kind: "reply" }];
    const item: Item = { kind: "reply", nonce: raw.nonce, peer, result: raw.result, sig: null, mac: raw.mac };
    const entry: Entry = { item, wire: null, ref: null, bytes: raw.bytes, form: raw.form, at: 0, learntAt: 0, size: raw.bytes!.length, pushes: 0, waiters: null, hash: 0, peers: null };
    return { entry, came: raw.bytes! };
  }

  test("a peer that takes the form the bytes came in gets them as they came; another gets its form encoded, which is kept then", () => {
    const { entry, came } = learnt();
    const same = packFor([entry], true, true);
    expect(same.bytes.parts).toEqual([came]);
    expect(same.bytes.parts[0]).toBe(came); // the kept bytes themselves, not a copy
    expect(same.bytes.bytes()).toEqual(came);
    expect(entry.bytes).toBe(came); // not encoded again
    expect(same.sent).toEqual([entry]);

    // Whole records, with MACs (a peer without `reply_ref`).
    const whole = itemList(packFor([entry], false, true).bytes);
    expect(whole).toEqual([{ reply: { nonce: "n", peer, result: { x: 1 }, mac } }]);
    expect(entry.form).toBe(FORM_MAC);
    expect(entry.size).toBe(entry.bytes!.length);
    // By reference without MACs (a peer that did not offer `mac`).
    expect(itemList(packFor([entry], true, false).bytes)).toEqual([{ reply: { nonce: "n", peer_id: peer.id, result: { x: 1 } } }]);
    expect(entry.form).toBe(FORM_REF);
    // And back: what is kept now is reused for the next peer of that form.
    const kept = entry.bytes;
    packFor([entry], true, false);
    expect(entry.bytes).toBe(kept);
  });

  test("an item that can no longer be encoded (a value changed since it was checked) is left out, not thrown from a round", () => {
    const ok = learnt().entry;
    const broken = learnt().entry;
    broken.bytes = null;
    (broken.item as { result: unknown }).result = { f: () => 1 };
    const { bytes, sent } = packFor([broken, ok], true, true);
    expect(sent).toEqual([ok]);
    expect(itemList(bytes)).toHaveLength(1);
  });

  test("the batch budget counts the exact bytes of each peer's form: what does not fit is left out of `sent`", () => {
    const big = (id: string): Entry => {
      const item: Item = { kind: "event", event: { ...event, event_id: id, payload: { text: "x".repeat(BATCH_BYTES / 3) } } };
      return { item, wire: null, ref: null, bytes: null, form: 0, at: 0, learntAt: 0, size: 1, pushes: 0, waiters: null, hash: 0, peers: null };
    };
    const entries = [big("a"), big("b"), big("c"), big("d")];
    const { bytes, sent } = packFor(entries, true, true);
    expect(sent.map((e) => (e.item as { event: { event_id: string } }).event.event_id)).toEqual(["a", "b"]);
    expect(bytes.length).toBeLessThanOrEqual(BATCH_BYTES);
    expect(bytes.length).toBe(bytes.bytes().length);
    expect((itemList(bytes) as Array<{ event: { event_id: string } }>).map((i) => i.event.event_id)).toEqual(["a", "b"]);
    expect(decode(entries[0]!.bytes!)).toEqual({ event: entries[0]!.item.kind === "event" ? entries[0]!.item.event : null });
  });
});
