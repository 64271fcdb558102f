/**
 * The CPU one node spends per reply it files in a 200-peer broadcast, without sockets: one
 * conversation layer (the node measured) and N fake Bun peers around it. Per broadcast the layer
 * takes the N replies in batches from its peers, as `_synapse.conversation.batch` requests (a
 * batch of `--chunk` replies each, decoded from MessagePack bytes as the transport would hand them
 * over), and runs its rounds until it is quiet; its own batch calls are answered with nothing new
 * (they carry its pushes and digest, as on the wire). Reported: CPU microseconds per filed reply
 * (user + system of the process, over every broadcast), and the batch calls the layer made.
 *
 * It isolates the conversation layer's share of issue #12's 200-peer broadcast (decoding the batch
 * bytes, de-duplication, the checks, filing in the log, node events, re-batching, the rounds) from
 * the transport's and from the other 200 nodes a one-machine swarm runs beside it.
 *
 * `--wire bytes` sends the batches as Bun peers send them to each other in the swarm (hello features
 * `item_bytes` and `reply_ref`: the items as one `bin` of their encodings, each reply by its
 * replier's id); the default `list` sends a list of replies with whole Peer records, as to a peer
 * that offers neither.
 *
 * `--retained`: the layers are kept, not stopped, after their broadcasts, and the heap one node holds
 * for each reply it filed is reported after a full collection, by part: the dissemination's memory of
 * recent items (what `stop()` frees: kept 10 s at least, `KEEP_SECONDS`), the log (what its `close()`
 * frees: its own structures), and the rest (what the reply book still holds: the replies' events,
 * which it shares with the log, and their values). The CPU figures then count the kept layers'
 * quiet rounds too.
 *
 * Run: `bun bench/lib/broadcast-ingest.ts [--peers 200] [--broadcasts 40] [--chunk 20] [--wire list|bytes] [--retained]`
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { Conversations } from "../../src/conversation/conversations.ts";
import { ConversationEndpoint, type ConversationHost } from "../../src/conversation/contracts.ts";
import { decode, encode } from "../../src/wire/codec.ts";
import { fastEncodeInto } from "../../src/wire/fast-codec.ts";
import { concatBytes } from "../../src/util/bytes.ts";
import { uuidv7 } from "../../src/conversation/uuid.ts";
import type { Peer } from "../../src/types.ts";
import { heapStats } from "bun:jsc";

const arg = (name: string, fallback: number) => (process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : fallback);
const PEERS = arg("--peers", 200);
const BROADCASTS = arg("--broadcasts", 40);
const CHUNK = arg("--chunk", 20);
const BYTES = process.argv.includes("--wire") && process.argv[process.argv.indexOf("--wire") + 1] === "bytes";
const RETAINED = process.argv.includes("--retained");

const peerRecord = (i: number): Peer => ({
  id: `${i.toString(16).padStart(8, "0")}${"ab".repeat(28)}`,
  address: "127.0.0.1",
  port: 20000 + i,
  swarm: "bench",
  team: null,
  name: `peer${i}`,
  kind: "node",
  capabilities: ["bench.question", "bench.silent", "bench.echo"],
  last_seen: 1_790_000_000.5,
});

const self = peerRecord(0);
const peers = Array.from({ length: PEERS }, (_, i) => peerRecord(i + 1));
let batchCalls = 0;
/** Stands for a connection's outbox (64 KiB, as the transport's). */
const outbox = new Uint8Array(64 * 1024);
let listened = 0;
const host: ConversationHost = {
  self: () => self,
  peers: () => peers,
  admit: () => null,
  call: async (_peer, endpoint, args, kwargs) => {
    // What the transport does with every call: the hot-path encoder into its outbox (the general
    // codec only for what that declines), not the general codec, which costs several times as much.
    if (fastEncodeInto([args, kwargs], outbox, 0, outbox.length) < 0) encode([args, kwargs]);
    if (endpoint === ConversationEndpoint.Batch) batchCalls++;
    return endpoint === ConversationEndpoint.Batch ? { items: [] } : { ok: true };
  },
  // The bench's node listens to `broadcast.reply` only, as the broadcast bench's nodes do.
  emit: (event) => void (event === "broadcast.reply" && listened++),
  batches: () => true,
  ...(BYTES ? { itemBytes: () => true, replyRefs: () => true } : {}),
};

/** The batch requests of one broadcast's replies, as bytes (what the transport decodes). */
function batches(nonce: string): Array<{ from: string; bytes: Uint8Array }> {
  const out: Array<{ from: string; bytes: Uint8Array }> = [];
  for (let at = 0; at < PEERS; at += CHUNK) {
    const chunk = peers.slice(at, at + CHUNK);
    if (BYTES) {
      // One bin of the items' encodings back to back, each reply by its replier's id.
      const bin = concatBytes(chunk.map((p) => encode({ reply: { nonce, peer_id: p.id, result: { from: p.name } } })));
      out.push({ from: peers[at]!.id, bytes: encode([bin]) });
    } else {
      const items = chunk.map((p) => ({ reply: { nonce, peer: p, result: { from: p.name } } }));
      out.push({ from: peers[at]!.id, bytes: encode([items]) });
    }
  }
  return out;
}

/** CPU microseconds of this process's main thread (Linux: /proc; the process's other threads, JIT and GC helpers, left out), or NaN. */
function mainThreadUs(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return Number.NaN;
  }
}

/** The layers kept (`--retained`), with the replies each filed. */
const kept: Array<{ layer: Conversations; filed: number }> = [];
let filed = 0;
let mainUs = 0;
const perReply: number[] = [];
const servePerReply: number[] = [];
for (let b = 0; b < BROADCASTS + 2; b++) {
  const nonce = uuidv7();
  const work = batches(nonce);
  // A fresh layer per broadcast: what one node holds in the bench's rounds (seconds apart), not the
  // items of every earlier broadcast that back-to-back broadcasts would keep remembered.
  const layer = new Conversations(host);
  layer.start();
  const before = process.cpuUsage();
  const mainBefore = mainThreadUs();
  const listenedBefore = listened;
  // The broadcast call reached this node first (its opening message is the replies' parent).
  layer.observe({ nonce, origin: peers[0]!, endpoint: "bench.question" }, "bench.question", [], { q: b });
  for (const { from, bytes } of work) {
    const [items] = decode(bytes) as [unknown];
    await layer.serveBatch(items, from, new Uint8Array(0), BYTES);
  }
  const served = process.cpuUsage(before);
  await layer.flush();
  const cpu = process.cpuUsage(before);
  const mainSpent = mainThreadUs() - mainBefore;
  const n = listened - listenedBefore;
  if (RETAINED && b >= 2) kept.push({ layer, filed: n });
  else layer.stop();
  if (b < 2) continue; // warm-up
  mainUs += mainSpent;
  filed += n;
  perReply.push((cpu.user + cpu.system) / n);
  servePerReply.push((served.user + served.system) / n);
}
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const r1 = (x: number) => Math.round(x * 10) / 10;
console.log(
  JSON.stringify({
    peers: PEERS,
    wire: BYTES ? "bytes" : "list",
    broadcasts: BROADCASTS,
    chunk: CHUNK,
    filed,
    // Medians over the broadcasts: the whole broadcast (batches served, then rounds until quiet), and the batches served alone.
    cpuUsPerReply: r1(median(perReply)),
    serveUsPerReply: r1(median(servePerReply)),
    // Over every broadcast, the main thread only (the one a node's work runs on).
    mainThreadUsPerReply: r1(mainUs / filed),
    batchCallsPerBroadcast: r1(batchCalls / (BROADCASTS + 2)),
    ...(RETAINED ? { retainedBytesPerReply: retained() } : {}),
  }),
);

/**
 * The heap freed per filed reply (after full collections) as the kept layers let go of it, part by
 * part: `stop()` (the dissemination's memory), the log's `close()`, then the layers themselves.
 */
function retained(): { itemMemory: number; log: number; rest: number; total: number } {
  const heap = () => {
    Bun.gc(true);
    Bun.gc(true);
    return heapStats().heapSize;
  };
  const replies = kept.reduce((k, x) => k + x.filed, 0);
  const before = heap();
  for (const { layer } of kept) layer.stop();
  const stopped = heap();
  for (const { layer } of kept) void layer.log.close();
  const closed = heap();
  kept.length = 0;
  const after = heap();
  const per = (bytes: number) => Math.round(bytes / replies);
  return { itemMemory: per(before - stopped), log: per(stopped - closed), rest: per(closed - after), total: per(before - after) };
}
