/**
 * RPC round trips and throughput, against a raw length-prefixed echo measured in the same run.
 *
 * - raw: `Bun.listen`/`Bun.connect` echo of an opaque payload the size of the RPC request frame
 *   (no MessagePack, no ids, one promise per request): sequential round trips, and batches of
 *   requests pipelined on one connection. The baseline writes each frame with its own
 *   `socket.write` (the targets are relative to it); a second, "coalesced" raw echo gathers the
 *   writes of a tick into one, as the package's transport does, and shows the ceiling.
 * - client: the public `Client` calling `sum(1, 2)` on a `Node` in this process, sequentially
 *   (`await client.call("sum", 1, 2)`) and pipelined (a batch of concurrent calls, all carried by
 *   the one pooled connection).
 * - codec: encoding and decoding a request and a response: the general codec (msgpackr), the
 *   hot-path coder the transport uses, and msgpackr's record extension for comparison.
 *
 * Raw and client measurements alternate over several rounds; each figure is the median over the
 * rounds. Prints tables, writes `bench/results/rpc.json`. `--quick` (or `BENCH_QUICK=1`) for a
 * smoke run.
 *
 * @module
 */
import { Packr, Unpackr } from "msgpackr";
import { Client, Node } from "../src/index.ts";
import { decode, decodeGeneral, encode } from "../src/wire/codec.ts";
import { fastEncodeInto } from "../src/wire/fast-codec.ts";
import { okResponse, request } from "../src/wire/messages.ts";
import { RawEchoClient, RawEchoServer, frame } from "./lib/raw-echo.ts";
import {
  QUICK,
  latency,
  limits,
  micro,
  printTable,
  round,
  throughput,
  watchdog,
  writeResults,
  type LatencyStats,
  type ThroughputStats,
} from "./lib/harness.ts";

watchdog(QUICK ? 60 : 240);

/** Requests in flight per pipelined batch. */
const BATCHES = QUICK ? [1000] : [1000, 10_000];
const ROUNDS = QUICK ? 1 : 3;
const SEQ = limits({ minTimeMs: 600, maxSamples: 50_000 });
const PIPE = limits({ minTimeMs: 600, maxSamples: 200 }, { minTimeMs: 30, maxSamples: 3 });

/** Targets from the issue: Client p50 at most 1.5x raw; Client throughput at least 60% of raw. */
const TARGET_SEQUENTIAL_RATIO = 1.5;
const TARGET_THROUGHPUT_RATIO = 0.6;

// A request as the Client sends it (an id as long as the pool's), to size the raw payload.
const ID = "0123456789abcdef";
const sampleRequest = request("sum", ID, [1, 2], {});
const sampleResponse = okResponse(ID, 3);
const requestBytes = encode(sampleRequest).slice();
const responseBytes = encode(sampleResponse).slice();

/** One side's figures for one round. */
interface Side {
  sequential: LatencyStats;
  pipelined: Record<number, ThroughputStats>;
}

/** Something that makes one call; `pipelined` keeps `n` calls in flight at once. */
interface Caller {
  one(): Promise<unknown>;
}

async function measureSide(caller: Caller): Promise<Side> {
  const sequential = await latency(() => caller.one(), SEQ);
  const pipelined: Record<number, ThroughputStats> = {};
  for (const n of BATCHES) {
    const calls = new Array<Promise<unknown>>(n);
    pipelined[n] = await throughput(
      () => {
        for (let i = 0; i < n; i++) calls[i] = caller.one();
        return Promise.all(calls);
      },
      n,
      PIPE,
    );
  }
  return { sequential, pipelined };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Median over rounds of every figure. */
function summarise(rounds: Side[]) {
  return {
    sequential: {
      p50Us: median(rounds.map((r) => r.sequential.p50Us)),
      p99Us: median(rounds.map((r) => r.sequential.p99Us)),
      samples: rounds.reduce((a, r) => a + r.sequential.samples, 0),
    },
    pipelined: Object.fromEntries(
      BATCHES.map((n) => [
        n,
        {
          reqPerSec: median(rounds.map((r) => r.pipelined[n]!.opsPerSec)),
          bestReqPerSec: Math.max(...rounds.map((r) => r.pipelined[n]!.bestOpsPerSec)),
          batches: rounds.reduce((a, r) => a + r.pipelined[n]!.batches, 0),
        },
      ]),
    ) as Record<number, { reqPerSec: number; bestReqPerSec: number; batches: number }>,
  };
}

async function measureNetwork() {
  const rawServer = new RawEchoServer();
  const raw = new RawEchoClient(frame(requestBytes));
  const ceilingServer = new RawEchoServer({ coalesce: true });
  const ceiling = new RawEchoClient(frame(requestBytes), { coalesce: true });
  const node = new Node({ name: "bench", bind: "127.0.0.1", port: 0 });
  node.endpoint("sum", (a: number, b: number) => a + b);
  let client: Client | null = null;
  try {
    await raw.connect(rawServer.start());
    await ceiling.connect(ceilingServer.start());
    await node.start();
    client = new Client("127.0.0.1", node.port);
    const c = client;
    if ((await c.call<number>("sum", 1, 2)) !== 3) throw new Error("sum(1, 2) did not answer 3");
    const sides: Array<{ caller: Caller; rounds: Side[] }> = [
      { caller: { one: () => raw.call() }, rounds: [] },
      { caller: { one: () => c.call("sum", 1, 2) }, rounds: [] },
      { caller: { one: () => ceiling.call() }, rounds: [] },
    ];
    for (let r = 0; r < ROUNDS; r++) {
      // Rotate the order, so a drift of the machine's speed does not favour one side.
      for (let i = 0; i < sides.length; i++) {
        const side = sides[(i + r) % sides.length]!;
        side.rounds.push(await measureSide(side.caller));
      }
    }
    const [rawRounds, clientRounds, ceilingRounds] = sides.map((s) => s.rounds) as [Side[], Side[], Side[]];
    if (c.mode !== "multiplex") throw new Error(`expected one multiplexed connection, got mode ${c.mode}`);
    if (node.connectionCount !== 1) throw new Error(`expected one pooled connection, node has ${node.connectionCount}`);
    return {
      raw: summarise(rawRounds),
      client: summarise(clientRounds),
      ceiling: summarise(ceilingRounds),
      rounds: { raw: rawRounds, client: clientRounds, rawCoalesced: ceilingRounds },
    };
  } finally {
    client?.close();
    raw.close();
    rawServer.stop();
    ceiling.close();
    ceilingServer.stop();
    await node.stop();
  }
}

async function measureCodec() {
  // Decoding reads a payload inside a socket-read-sized buffer, as the transport does.
  const read = Buffer.alloc(64 * 1024);
  const at = 30_000;
  const out = Buffer.alloc(64 * 1024);
  // msgpackr's record extension (sequential structures, as a negotiated connection would use):
  // a structure is defined by the first message of its shape, so measure the steady state.
  const recPackr = new Packr({ useRecords: true, sequential: true, moreTypes: false } as ConstructorParameters<typeof Packr>[0]);
  const recUnpackr = new Unpackr({ useRecords: true, sequential: true, mapsAsObjects: true } as ConstructorParameters<typeof Unpackr>[0]);
  const result: Record<string, Record<string, number>> = {};
  for (const [name, message, bytes] of [
    ["request", sampleRequest, requestBytes],
    ["response", sampleResponse, responseBytes],
  ] as const) {
    read.set(bytes, at);
    const end = at + bytes.length;
    recUnpackr.unpack(recPackr.pack(message)); // defines the structure
    const recBytes = recPackr.pack(message).slice();
    const recRead = Buffer.alloc(64 * 1024);
    recRead.set(recBytes, at);
    result[name] = {
      bytes: bytes.length,
      encodeGeneralNs: (await micro(() => encode(message))).p50Ns,
      encodeFastNs: (await micro(() => fastEncodeInto(message, out, 4, out.length))).p50Ns,
      decodeGeneralNs: (await micro(() => decodeGeneral(read, at, end))).p50Ns,
      decodeFastNs: (await micro(() => decode(read, at, end))).p50Ns,
      recordBytes: recBytes.length,
      encodeRecordsNs: (await micro(() => recPackr.pack(message))).p50Ns,
      decodeRecordsNs: (await micro(() => recUnpackr.unpack(recRead.subarray(at, at + recBytes.length)))).p50Ns,
    };
  }
  return result as Record<"request" | "response", Record<string, number>>;
}

const net = await measureNetwork();
const codec = await measureCodec();

const { raw, client, ceiling } = net;
const sequentialRatio = client.sequential.p50Us / raw.sequential.p50Us;
const throughputRatios = Object.fromEntries(
  BATCHES.map((n) => [n, client.pipelined[n]!.reqPerSec / raw.pipelined[n]!.reqPerSec]),
) as Record<number, number>;
const worstThroughputRatio = Math.min(...Object.values(throughputRatios));

const mode = QUICK ? "quick run" : `${ROUNDS} rounds, medians`;
printTable(`Sequential round trip, one connection (${mode})`, ["", "p50 µs", "p99 µs", "samples"], [
  ["raw echo (baseline)", raw.sequential.p50Us, raw.sequential.p99Us, raw.sequential.samples],
  ["Client -> Node sum(1, 2)", client.sequential.p50Us, client.sequential.p99Us, client.sequential.samples],
  ["raw echo, coalesced writes", ceiling.sequential.p50Us, ceiling.sequential.p99Us, ceiling.sequential.samples],
]);
printTable(
  `Pipelined throughput, one connection (${mode})`,
  ["batch in flight", "raw req/s", "Client req/s", "Client / raw", "raw coalesced req/s", "Client / coalesced"],
  BATCHES.map((n) => [
    String(n),
    raw.pipelined[n]!.reqPerSec,
    client.pipelined[n]!.reqPerSec,
    `${(throughputRatios[n]! * 100).toFixed(0)}%`,
    ceiling.pipelined[n]!.reqPerSec,
    `${((client.pipelined[n]!.reqPerSec / ceiling.pipelined[n]!.reqPerSec) * 100).toFixed(0)}%`,
  ]),
);
printTable("Client vs raw: targets", ["ratio", "measured", "target", "met"], [
  ["sequential p50 (Client / raw)", `${sequentialRatio.toFixed(2)}x`, `<= ${TARGET_SEQUENTIAL_RATIO}x`, sequentialRatio <= TARGET_SEQUENTIAL_RATIO ? "yes" : "NO"],
  ["throughput (Client / raw, worst batch)", `${(worstThroughputRatio * 100).toFixed(0)}%`, `>= ${TARGET_THROUGHPUT_RATIO * 100}%`, worstThroughputRatio >= TARGET_THROUGHPUT_RATIO ? "yes" : "NO"],
]);
printTable(
  "Codec, ns per message (p50)",
  ["message", "bytes", "enc msgpackr", "enc fast", "dec msgpackr", "dec fast", "enc records", "dec records"],
  (["request", "response"] as const).map((m) => {
    const c = codec[m];
    return [m, String(c.bytes), c.encodeGeneralNs!, c.encodeFastNs!, c.decodeGeneralNs!, c.decodeFastNs!, c.encodeRecordsNs!, c.decodeRecordsNs!];
  }),
);

/** Round every number in a result tree (arrays stay arrays). */
function r3<T>(v: T): T {
  if (typeof v === "number") return round(v) as T;
  if (Array.isArray(v)) return v.map(r3) as T;
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, r3(x)])) as T;
  return v;
}
writeResults(
  "rpc",
  {
    config: {
      rounds: ROUNDS,
      batches: BATCHES,
      requestBytes: requestBytes.length,
      responseBytes: responseBytes.length,
      sameProcess: true,
      endpoint: "sum(1, 2)",
    },
    raw: r3(raw),
    client: r3(client),
    rawCoalesced: r3(ceiling),
    ratios: {
      sequentialP50: round(sequentialRatio),
      throughput: r3(throughputRatios),
      worstThroughput: round(worstThroughputRatio),
      throughputVsCoalesced: r3(Object.fromEntries(BATCHES.map((n) => [n, client.pipelined[n]!.reqPerSec / ceiling.pipelined[n]!.reqPerSec]))),
    },
    targets: {
      sequentialP50Max: TARGET_SEQUENTIAL_RATIO,
      throughputMin: TARGET_THROUGHPUT_RATIO,
      sequentialMet: sequentialRatio <= TARGET_SEQUENTIAL_RATIO,
      throughputMet: worstThroughputRatio >= TARGET_THROUGHPUT_RATIO,
    },
    codec: r3(codec),
    rounds: r3(net.rounds),
  },
  [
    { metric: "raw sequential p50", value: round(raw.sequential.p50Us, 1), unit: "µs" },
    { metric: "Client sequential p50", value: round(client.sequential.p50Us, 1), unit: "µs" },
    ...BATCHES.flatMap((n) => [
      { metric: `raw pipelined (${n} in flight)`, value: Math.round(raw.pipelined[n]!.reqPerSec), unit: "req/s" },
      { metric: `Client pipelined (${n} in flight)`, value: Math.round(client.pipelined[n]!.reqPerSec), unit: "req/s" },
      { metric: `raw coalesced pipelined (${n} in flight)`, value: Math.round(ceiling.pipelined[n]!.reqPerSec), unit: "req/s" },
    ]),
    { metric: "sequential p50 Client / raw", value: round(sequentialRatio, 2), unit: "x" },
    { metric: "throughput Client / raw (worst)", value: round(worstThroughputRatio * 100, 0), unit: "%" },
  ],
);
