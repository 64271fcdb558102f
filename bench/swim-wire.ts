/**
 * One SWIM gossip message with 32 alive updates (each with a node's meta and a 64-byte signature,
 * about 250 bytes, as a swarm's nodes send them), inside its `_synapse.swim.gossip` request, in the
 * two wire forms of `src/membership/swim-wire.ts`:
 *
 * - `map` (the baseline, what every Bun node sent before): each update a MessagePack map;
 * - `packed`: each update one `bin` holding its map, encoded once per update and reused.
 *
 * Nanoseconds per message (p50):
 * - encode: the request into a buffer with the hot-path coder, as the transport writes it (for
 *   `packed`, with the message made by `toWire`, whose updates were packed by an earlier message:
 *   what every message after an update's first costs); and packing the 32 updates the first time
 *   (of a shallow copy of each, so that nothing is cached: the copies are counted too);
 * - decode, all old news: the request decoded as the server decodes it, then read by `readMessage`
 *   (the core's reader): the receiver then drops every update on its id, incarnation and state;
 * - decode, all news: the same, and every update's body read too (`PackedUpdate.read`), as a
 *   receiver does for news before applying it.
 * Applying an update (the member list's checks, a signature check, the member's record) costs the
 * same in both forms and is not measured here.
 *
 * Prints a table and writes `bench/results/swim-wire.json`; docs/performance-log.md reports its runs.
 *
 * Run: `bun bench/swim-wire.ts [--quick]`
 *
 * @module
 */
import { PackedUpdate, packUpdate, readMessage, toWire } from "../src/membership/swim-wire.ts";
import type { MemberUpdate, SwimGossip } from "../src/membership/swim-types.ts";
import { decode } from "../src/wire/codec.ts";
import { fastEncodeInto } from "../src/wire/fast-codec.ts";
import { request } from "../src/wire/messages.ts";
import { QUICK, micro, printTable, round, watchdog, writeResults } from "./lib/harness.ts";

/** Updates in the message. */
const UPDATES = 32;

/** One form's figures. */
export interface SwimWireResult {
  form: "map" | "packed";
  bytes: number;
  encodeNs: number;
  /** Packing the updates the first time (packed form only; 0 for the map form). */
  firstPackNs: number;
  decodeOldNewsNs: number;
  decodeNewsNs: number;
}

/** 32 alive updates as a swarm's nodes make them: 64-hex ids, a meta record, a 64-byte signature. */
function updates(): MemberUpdate[] {
  return Array.from({ length: UPDATES }, (_, i) => {
    const id = (i.toString(16).padStart(4, "0") + "9f3c").repeat(8);
    const sig = new Uint8Array(64).map((_, j) => (i * 31 + j * 7) & 0xff);
    const meta = { swarm: "bench", team: "default", name: `node-${i}`, kind: "node", capabilities: ["echo", "summarize"] };
    return { id, incarnation: 1_796_000_000 + i, state: "alive", address: "127.0.0.1", port: 40_000 + i, meta, sig };
  });
}

const frame = (message: unknown) => request("_synapse.swim.gossip", "0190b4a1c2d3", [message], {});

async function measure(form: "map" | "packed"): Promise<SwimWireResult> {
  const out = Buffer.alloc(1 << 20);
  const message: SwimGossip = { kind: "gossip", from: "f".repeat(64), updates: updates() };
  const wire = () => (form === "packed" ? toWire(message, { pack: true, reads: true }) : toWire(message, { pack: false, reads: true }));
  const end = fastEncodeInto(frame(wire()), out, 0, out.length);
  if (end < 0) throw new Error(`${form}: the message did not encode`);
  const bytes = out.slice(0, end);
  const read = () => readMessage((decode(bytes) as { args: unknown[] }).args[0]);
  // Both forms must read back as the same updates.
  const back = read();
  if (!back || back.malformed !== 0 || back.message.kind !== "gossip") throw new Error(`${form}: the message did not read back`);
  // Signatures compare by content (a decoded one may be a Buffer, whose JSON differs).
  const text = (list: Array<MemberUpdate | null>) => JSON.stringify(list.map((u) => u && { ...u, sig: u.sig && [...u.sig] }));
  if (text(back.message.updates.map((u) => (u instanceof PackedUpdate ? u.read() : u))) !== text(message.updates)) {
    throw new Error(`${form}: the updates changed on the way`);
  }
  return {
    form,
    bytes: bytes.length,
    encodeNs: round((await micro(() => fastEncodeInto(frame(wire()), out, 0, out.length))).p50Ns),
    // A fresh copy of each update each time (a shallow copy: nothing cached; the copy is counted too).
    firstPackNs: form === "packed" ? round((await micro(() => message.updates.map((u) => packUpdate({ ...u })))).p50Ns) : 0,
    decodeOldNewsNs: round((await micro(() => read())).p50Ns),
    decodeNewsNs: round(
      (
        await micro(() => {
          const r = read();
          if (r?.message.kind === "gossip") for (const u of r.message.updates) if (u instanceof PackedUpdate) u.read();
        })
      ).p50Ns,
    ),
  };
}

/** Measure both forms, print the table, write the JSON; returns the results. */
export async function runSwimWireBench(): Promise<SwimWireResult[]> {
  const results = [await measure("map"), await measure("packed")];
  printTable(
    `SWIM gossip message, ${UPDATES} alive updates: bytes and ns per message (p50)`,
    ["form", "bytes", "encode", "first pack", "decode: old news", "decode: news"],
    results.map((r) => [r.form, r.bytes, r.encodeNs, r.firstPackNs, r.decodeOldNewsNs, r.decodeNewsNs]),
  );
  const [map, packed] = results as [SwimWireResult, SwimWireResult];
  writeResults("swim-wire", { quick: QUICK, updates: UPDATES, forms: results }, [
    { metric: `SWIM message of ${UPDATES} updates: encode map / packed`, value: `${map.encodeNs} / ${packed.encodeNs}`, unit: "ns" },
    { metric: `SWIM message of ${UPDATES} updates, all old news: decode map / packed`, value: `${map.decodeOldNewsNs} / ${packed.decodeOldNewsNs}`, unit: "ns" },
  ]);
  return results;
}

if (import.meta.main) {
  watchdog(QUICK ? 120 : 600);
  await runSwimWireBench();
  process.exit(0);
}
