/**
 * msgpackr's record extension on the payloads swarm traffic repeats (issue 12), not only the RPC
 * envelope: one Peer record, a `_synapse.peers` answer of 50 Peer records, one conversation event,
 * a `_synapse.conversation.batch` request of 20 replies (with its `have` digest) and one of 20
 * events, each inside its request message as it travels.
 *
 * Three coders, bytes and nanoseconds per message (p50) to encode and to decode:
 *
 * - `standard`: what every peer gets today (the hot-path coder, `src/wire/fast-codec.ts`; msgpackr
 *   where it declines), plain MessagePack as Python reads it;
 * - `records, per message`: `useRecords` without shared state: each message defines the shapes it
 *   uses, once per message (no connection state; what a negotiated payload could use);
 * - `records, per connection`: `useRecords` with `sequential` structures shared by both ends of a
 *   connection (the steady state, after the first message of each shape defined it).
 *
 * Prints a table and writes `bench/results/records.json`; the verdict (a coder wins on a payload
 * with fewer bytes and at least {@link WIN_MARGIN} less CPU) is printed and recorded, and
 * docs/performance.md reports it.
 *
 * Run: `bun bench/records.ts [--quick]`
 *
 * @module
 */
import { Packr, Unpackr } from "msgpackr";
import { decode, encode } from "../src/wire/codec.ts";
import { fastEncodeInto } from "../src/wire/fast-codec.ts";
import { request } from "../src/wire/messages.ts";
import { makeEvent } from "../src/conversation/events.ts";
import { uuidv7 } from "../src/conversation/uuid.ts";
import { keyHash, writeDigest } from "../src/conversation/batch-items.ts";
import type { Peer } from "../src/types.ts";
import { QUICK, micro, printTable, round, watchdog, writeResults } from "./lib/harness.ts";

/** CPU saving (encode + decode) a coder must show to count as a win. */
export const WIN_MARGIN = 0.1;

/** One payload's figures. */
export interface RecordsResult {
  payload: string;
  standardBytes: number;
  perMessageBytes: number;
  perConnectionBytes: number;
  standardEncodeNs: number;
  standardDecodeNs: number;
  perMessageEncodeNs: number;
  perMessageDecodeNs: number;
  perConnectionEncodeNs: number;
  perConnectionDecodeNs: number;
}

function peer(i: number): Peer {
  const hex = (i * 2654435761).toString(16).padStart(8, "0");
  return {
    id: hex.repeat(8),
    address: `10.0.${i >> 8}.${i & 255}`,
    port: 7000 + i,
    swarm: "bench",
    team: "default",
    name: `peer${i}`,
    kind: "node",
    capabilities: ["summarize", "search"],
    last_seen: 1_796_000_000 + i / 7,
  };
}

/** The payloads, each as the request message it travels in. */
function payloads(): Array<[string, unknown]> {
  const nonce = uuidv7();
  const peers = Array.from({ length: 50 }, (_, i) => peer(i + 1));
  const event = (i: number) => makeEvent({ conversationId: nonce, kind: "task.claim", peer: peers[i % 50]!, payload: { task: `t${i}`, note: "on it" }, parentId: nonce, metadata: { priority: i % 3 } });
  const replies = peers.slice(0, 20).map((p, i) => ({ reply: { nonce, peer: p, result: { from: p.name, answer: `answer ${i}` } } }));
  const have = writeDigest(Array.from({ length: 200 }, (_, i) => keyHash(`key${i}`)));
  return [
    ["Peer record (_synapse.heartbeat)", request("_synapse.heartbeat", "id1", [peers[0]], {})],
    ["50 Peer records (_synapse.peers answer)", { id: "id2", ok: true, result: peers }],
    ["one conversation event", request("_synapse.conversation.event", "id3", [event(1)], {})],
    ["batch: 20 replies + digest", request("_synapse.conversation.batch", "id4", [replies], { from: peers[0]!.id, have })],
    ["batch: 20 events", request("_synapse.conversation.batch", "id5", [Array.from({ length: 20 }, (_, i) => ({ event: event(i) }))], { from: peers[0]!.id, have: new Uint8Array(0) })],
  ];
}

async function measure(name: string, message: unknown): Promise<RecordsResult> {
  const out = Buffer.alloc(1 << 20);
  const standard = encode(message);
  // Per message: a fresh coder pair each time, so every message defines its own shapes.
  const perMessage = new Packr({ useRecords: true, moreTypes: false } as ConstructorParameters<typeof Packr>[0]).pack(message).slice();
  // Per connection: both ends keep the structures; measure after the first message defined them.
  const seqPackr = new Packr({ useRecords: true, sequential: true, moreTypes: false } as ConstructorParameters<typeof Packr>[0]);
  const seqUnpackr = new Unpackr({ useRecords: true, sequential: true, mapsAsObjects: true } as ConstructorParameters<typeof Unpackr>[0]);
  seqUnpackr.unpack(seqPackr.pack(message));
  const perConnection = seqPackr.pack(message).slice();
  // Each coder must give back the message it was given.
  const back = [decode(standard), new Unpackr({ useRecords: true, mapsAsObjects: true } as ConstructorParameters<typeof Unpackr>[0]).unpack(perMessage), seqUnpackr.unpack(perConnection)];
  // Bytes compare by content (a Buffer's JSON is {type, data}, a Uint8Array's an index map).
  const bytes = (x: unknown) => (x instanceof Uint8Array ? [...x] : x !== null && typeof x === "object" && (x as { type?: unknown }).type === "Buffer" ? (x as { data: number[] }).data : x);
  const text = (v: unknown) => JSON.stringify(v, (_k, x) => bytes(x));
  for (const value of back) if (text(value) !== text(message)) throw new Error(`${name}: a coder changed the message`);
  return {
    payload: name,
    standardBytes: standard.length,
    perMessageBytes: perMessage.length,
    perConnectionBytes: perConnection.length,
    standardEncodeNs: round((await micro(() => fastEncodeInto(message, out, 4, out.length))).p50Ns),
    standardDecodeNs: round((await micro(() => decode(standard))).p50Ns),
    perMessageEncodeNs: round((await micro(() => new Packr({ useRecords: true, moreTypes: false } as ConstructorParameters<typeof Packr>[0]).pack(message))).p50Ns),
    perMessageDecodeNs: round((await micro(() => new Unpackr({ useRecords: true, mapsAsObjects: true } as ConstructorParameters<typeof Unpackr>[0]).unpack(perMessage))).p50Ns),
    perConnectionEncodeNs: round((await micro(() => seqPackr.pack(message))).p50Ns),
    perConnectionDecodeNs: round((await micro(() => seqUnpackr.unpack(perConnection))).p50Ns),
  };
}

/** Measure every payload, print the table, write the JSON; returns the results. */
export async function runRecordsBench(): Promise<RecordsResult[]> {
  const results: RecordsResult[] = [];
  for (const [name, message] of payloads()) results.push(await measure(name, message));
  printTable(
    "msgpackr record extension: bytes and ns per message (p50)",
    ["payload", "bytes: std", "bytes: rec/msg", "bytes: rec/conn", "enc: std", "dec: std", "enc: rec/msg", "dec: rec/msg", "enc: rec/conn", "dec: rec/conn"],
    results.map((r) => [r.payload, r.standardBytes, r.perMessageBytes, r.perConnectionBytes, r.standardEncodeNs, r.standardDecodeNs, r.perMessageEncodeNs, r.perMessageDecodeNs, r.perConnectionEncodeNs, r.perConnectionDecodeNs]),
  );
  // "Wins" = fewer bytes AND at least WIN_MARGIN less CPU (encode + decode) than the standard coder:
  // a smaller difference is within the run-to-run noise of a shared 2-core machine, and would not
  // pay for the coder state both ends of a connection would have to keep.
  const wins = (bytes: number, ns: number, r: RecordsResult) => bytes < r.standardBytes && ns < (1 - WIN_MARGIN) * (r.standardEncodeNs + r.standardDecodeNs);
  const verdict = results.map((r) => ({
    payload: r.payload,
    perMessageWins: wins(r.perMessageBytes, r.perMessageEncodeNs + r.perMessageDecodeNs, r),
    perConnectionWins: wins(r.perConnectionBytes, r.perConnectionEncodeNs + r.perConnectionDecodeNs, r),
  }));
  for (const v of verdict) console.log(`${v.payload}: records per message ${v.perMessageWins ? "win" : "lose"}, per connection ${v.perConnectionWins ? "win" : "lose"}`);
  const batch = results.find((r) => r.payload.startsWith("batch: 20 replies"))!;
  writeResults("records", { quick: QUICK, payloads: results, verdict }, [
    { metric: "batch of 20 replies: bytes standard / records per connection", value: `${batch.standardBytes} / ${batch.perConnectionBytes}`, unit: "B" },
    { metric: "batch of 20 replies: encode+decode standard / records per connection", value: `${round(batch.standardEncodeNs + batch.standardDecodeNs)} / ${round(batch.perConnectionEncodeNs + batch.perConnectionDecodeNs)}`, unit: "ns" },
  ]);
  return results;
}

if (import.meta.main) {
  watchdog(QUICK ? 120 : 600);
  await runRecordsBench();
  process.exit(0);
}
