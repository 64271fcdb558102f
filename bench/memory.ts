/**
 * Heap per known peer (issue 12's memory target: under 1 KB per known peer per node), measured on
 * one node that knows N peers the way a gossip swarm makes it know them, over the in-memory
 * transport (`MemoryNetwork`), so that 10,000 peers fit in one process.
 *
 * For each N (1,000 and 10,000; `--sizes` picks others):
 *
 * 1. **empty node** (the baseline): a node in gossip mode, started, and the fake swarm it will
 *    meet: one listener on the wildcard address (`0.0.0.0`) of the memory network, which answers
 *    for every fake peer (hello with `swim`, SWIM pings and gossip with an ack, `_synapse.ping`),
 *    and an introducer that has introduced itself to the node (so its one connection is in the
 *    baseline).
 * 2. **known, just learned**: the introducer sends the node one SWIM push-pull listing the N
 *    peers, as a swarm's member answers a joiner; the node's SWIM core takes them and its peer
 *    table admits them (`peer.joined`). Heap over the baseline, divided by N.
 * 3. **sending it on**: once SWIM has sent as many updates as there are peers (each queued update
 *    once: fewest-sent first), its queue still long: what it keeps of them encoded (the packed form,
 *    which the fake peers offer in their hello, as Bun peers do) counts here.
 * 4. **known, settled**: once SWIM has sent every queued update its share of times (the queue is
 *    empty), as in a quiet swarm; the node's own probes and gossip have opened a few connections
 *    by then (counted, both ends; the fake peers ack everything).
 * 5. **connected, no limit**: the node's pool calls every peer once (`_synapse.ping`), as SWIM's
 *    round-robin probes reach every member once per cycle, with a pool that never closes a
 *    connection (`idleTimeout: 0`, `maxConnections: 0`: what the pool did before idle connections
 *    were capped). Both ends of each connection are in this process (the node's pooled end and the
 *    fake peer's accepted end): they stand for the two connections a node of a swarm holds per
 *    peer, the one it dials and the one the peer dials.
 * 6. **connected, default pool**: the same calls through a pool with the default options
 *    (`PoolOptions`), which closes the least recently used idle connection past its cap
 *    (`maxConnections`, 256) as new ones open (measured once it is back under its cap: calls in
 *    flight at once hold it over until they finish). Its channels to the peers whose connections
 *    it closed are still there (forgotten after the idle timeout).
 * 7. **idle again**: the same calls through a pool whose idle timeout is 1 s, measured once it has
 *    closed its idle connections and forgotten its idle channels (what the default pool does 30 s
 *    after the calls; shortened so that the run stays short): what connections cost once idle.
 *
 * The heap is `process.memoryUsage().heapUsed` after a full GC (`Bun.gc(true)`), which counts
 * buffers' memory too. Each phase's node runs its SWIM core as it would (probes, gossip) while it
 * is measured. A first run at 1,000 peers (100 with `--quick`), not reported, warms the process up
 * (the code of every path is compiled once, and would otherwise count as heap of the first size
 * measured). Writes
 * `bench/results/memory.json`.
 *
 * Run: `bun bench/memory.ts [--quick] [--sizes 1000,10000]` (`--quick`: 500 peers only, a smoke run)
 *
 * @module
 */
import { Node } from "../src/index.ts";
import { MemoryNetwork } from "../src/transport/memory-transport.ts";
import { Listener } from "../src/transport/listener.ts";
import { Pool, type PoolOptions } from "../src/transport/pool.ts";
import { Client } from "../src/rpc/client.ts";
import { okResponse, errorResponse, type RequestMessage, type ResponseMessage } from "../src/wire/messages.ts";
import { HELLO_ENDPOINT, SWIM_ENDPOINTS } from "../src/wire/protocol.ts";
import { ErrorCode } from "../src/errors.ts";
import { isMap } from "../src/util/guards.ts";
import type { MemberUpdate } from "../src/membership/swim-types.ts";
import { NodeIdentity } from "../src/security/identity.ts";
import { clearVerificationCaches, gossipClaimBytes } from "../src/security/records.ts";
import { QUICK, printTable, round, watchdog, writeResults } from "./lib/harness.ts";

/** The port every fake peer listens on (one wildcard listener answers for all of them). */
const PEER_PORT = 7100;
const NODE_ADDRESS = "10.0.0.1";
const NODE_PORT = 7000;
const INTRODUCER = "10.0.0.2";
/** Calls in flight at once while connecting to every peer. */
const BATCH = 500;

/** One size's figures (bytes per known peer, over the empty node). */
export interface MemoryResult {
  peers: number;
  /** Table records and SWIM members just after the push-pull. */
  knownBytesPerPeer: number;
  /**
   * While SWIM sends the push-pull's news on: once it has sent as many updates as there are peers
   * (each queued update once, fewest-sent first), with `queuedWhileSending` still queued. What the
   * queue keeps encoded (the packed form, which the fake peers offer as Bun peers do) shows here.
   */
  sendingBytesPerPeer: number;
  queuedWhileSending: number;
  /** The same once SWIM's queue is empty (with the node's own connections then open). */
  settledBytesPerPeer: number;
  /** Plus a connection to every peer, both ends, with a pool that never closes one. */
  connectedUnlimitedBytesPerPeer: number;
  /** Connections the unlimited pool held open. */
  unlimitedOpen: number;
  /** Plus the connections a default pool keeps after calling every peer once. */
  connectedDefaultBytesPerPeer: number;
  /** Connections the default pool held open. */
  defaultOpen: number;
  /** Once the pool closed its idle connections and forgot its idle channels. */
  idleAgainBytesPerPeer: number;
  /** Connections of the node's own pool (its SWIM probes and gossip) and accepted by it, when it knew the peers. */
  nodeOwnConnections: number;
}

function heap(): number {
  Bun.gc(true);
  Bun.gc(true);
  return process.memoryUsage().heapUsed;
}

function peerAddress(i: number): string {
  return `10.${1 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
}

/**
 * The fake peers' identities, new ones for each size (so that what a process caches of a member's
 * key or claim is not already there from the warm-up), made before the baseline.
 */
let identities: NodeIdentity[] = [];
function makeIdentities(n: number): void {
  identities = Array.from({ length: n }, () => NodeIdentity.generate());
}

/** What every fake peer answers: enough for the node's pool and SWIM core to take it as a Bun member. */
function answer(req: RequestMessage): ResponseMessage {
  if (req.endpoint === HELLO_ENDPOINT) return okResponse(req.id, { multiplex: true, swim: true, swim_packed: true, leave: true });
  if (req.endpoint === "_synapse.ping") return okResponse(req.id, "pong");
  const message = req.args[0];
  if (isMap(message) && (req.endpoint === SWIM_ENDPOINTS.ping || req.endpoint === SWIM_ENDPOINTS.gossip || req.endpoint === SWIM_ENDPOINTS.ping_req)) {
    const target = message.kind === "ping" && typeof message.target === "string" ? message.target : "";
    return okResponse(req.id, { kind: "ack", from: target, updates: [] });
  }
  return errorResponse(req.id, ErrorCode.BadRequest, `not answered by the fake swarm: ${req.endpoint}`);
}

/**
 * Peer i's alive claim as a Bun peer makes it: its id is its Ed25519 public key (64 hex
 * characters) and the claim carries its signature, which the node checks and keeps to pass on.
 */
function member(i: number, address: string): MemberUpdate {
  const who = identities[i]!;
  const claim: MemberUpdate = { id: who.id, incarnation: 1, state: "alive", address, port: PEER_PORT, meta: { swarm: "mem", team: "t", name: `peer${i}`, kind: "node", capabilities: [] } };
  return { ...claim, sig: who.sign(gossipClaimBytes(claim)) };
}

/** Open a connection from `pool` to each of `n` fake peers (one ping each, `BATCH` at a time). */
async function connectAll(pool: Pool, n: number): Promise<void> {
  for (let from = 0; from < n; from += BATCH) {
    const calls: Array<Promise<unknown>> = [];
    for (let i = from; i < Math.min(n, from + BATCH); i++) calls.push(new Client(peerAddress(i), PEER_PORT, { pool, timeout: 30 }).call("_synapse.ping"));
    await Promise.all(calls);
  }
}

/** One node knowing `n` peers: heap per known peer without and with connections. */
async function measure(n: number): Promise<MemoryResult> {
  const net = new MemoryNetwork();
  const responder = new Listener({
    hostname: "0.0.0.0",
    port: PEER_PORT,
    handler: answer,
    transport: net.transport("0.0.0.0"),
    maxFrame: 4 * 1024 * 1024,
    readTimeoutMs: 30_000,
    idleTimeoutMs: 3_600_000,
    maxConnections: 1_000_000,
  });
  responder.start();
  const node = new Node({
    swarm: "mem",
    team: "t",
    name: "measured",
    bind: NODE_ADDRESS,
    advertise: NODE_ADDRESS,
    port: NODE_PORT,
    transport: net.transport(NODE_ADDRESS),
    membership: "gossip",
    heartbeatInterval: 1,
    peerTimeout: 4,
    maxPeers: n + 10,
  });
  await node.start();
  const introducerIdentity = NodeIdentity.generate();
  const introducerId = introducerIdentity.id;
  const introducerClaim: MemberUpdate = { id: introducerId, incarnation: 1, state: "alive", address: INTRODUCER, port: PEER_PORT, meta: { swarm: "mem", team: "t", name: "introducer", kind: "node", capabilities: [] } };
  const introducerMember = { ...introducerClaim, sig: introducerIdentity.sign(gossipClaimBytes(introducerClaim)) };
  const introducer = new Client(NODE_ADDRESS, NODE_PORT, { pool: new Pool({ transport: net.transport(INTRODUCER) }), timeout: 60 });
  const pushPull = (members: MemberUpdate[]) =>
    introducer.call(SWIM_ENDPOINTS.push_pull, { kind: "push_pull", from: introducerId, join: false, members: [introducerMember, ...members] });
  await pushPull([]);
  // The fake peers' keys are the bench's, not the node's: made before the baseline.
  makeIdentities(n);
  clearVerificationCaches();
  const base = heap();

  // The swarm's members, as a member's push-pull answer lists them to a joiner.
  const members = Array.from({ length: n }, (_, i) => member(i, peerAddress(i)));
  await pushPull(members);
  members.length = 0;
  for (let i = 0; i < 100 && node.peers.size < n + 1; i++) await Bun.sleep(50);
  if (node.peers.size < n + 1) throw new Error(`the node knows ${node.peers.size} peers, expected ${n + 1}`);
  const known = heap();
  const sentBefore = node.membership.stats.swim?.updatesSent ?? 0;
  for (let i = 0; i < 3000 && (node.membership.stats.swim?.updatesSent ?? 0) < sentBefore + n; i++) await Bun.sleep(10);
  const queuedWhileSending = node.membership.stats.swim?.queued ?? 0;
  const sending = heap();
  for (let i = 0; i < 300 && (node.membership.stats.swim?.queued ?? 0) > 0; i++) await Bun.sleep(100);
  const settled = heap();
  const nodeOwnConnections = node.pool.openConnections + node.connectionCount;

  const measurePool = async (options: PoolOptions, idle = false) => {
    const pool = new Pool({ ...options, transport: net.transport(NODE_ADDRESS) });
    await connectAll(pool, n);
    // Calls in flight at once hold the pool over its cap until they finish; its sweep (each
    // second) brings it back under, and the connections it closed finish closing.
    for (let i = 0; i < 50 && pool.openConnections > pool.maxConnections; i++) await Bun.sleep(100);
    await Bun.sleep(200);
    const open = pool.openConnections;
    // Idle again: the sweeper closes the connections after the idle timeout, and forgets the
    // channels after as long again with nothing open.
    for (let i = 0; idle && i < 100 && pool.list().length > 0; i++) await Bun.sleep(100);
    const bytes = heap();
    pool.closeAll();
    for (let i = 0; i < 100 && net.openSockets > 4; i++) await Bun.sleep(20);
    return { open, bytes };
  };
  const unlimited = await measurePool({ idleTimeout: 0, maxConnections: 0 });
  const defaults = await measurePool({});
  const idleAgain = await measurePool({ idleTimeout: 1 }, true);
  const result: MemoryResult = {
    peers: n,
    knownBytesPerPeer: round((known - base) / n, 0),
    sendingBytesPerPeer: round((sending - base) / n, 0),
    queuedWhileSending,
    settledBytesPerPeer: round((settled - base) / n, 0),
    connectedUnlimitedBytesPerPeer: round((unlimited.bytes - base) / n, 0),
    unlimitedOpen: unlimited.open,
    connectedDefaultBytesPerPeer: round((defaults.bytes - base) / n, 0),
    defaultOpen: defaults.open,
    idleAgainBytesPerPeer: round((idleAgain.bytes - base) / n, 0),
    nodeOwnConnections,
  };
  await node.stop({ leave: false });
  responder.stop();
  return result;
}

/** Run the scenario and write its results. */
export async function runMemoryBench(sizes: number[]): Promise<MemoryResult[]> {
  const results: MemoryResult[] = [];
  await measure(QUICK ? 100 : 1000); // warm-up, not reported
  for (const n of sizes) results.push(await measure(n));
  printTable(
    "Heap per known peer, one node (bytes over the empty node; both ends of every connection)",
    ["peers", "just learned", "sending it on", "queued then", "settled", "node's own conns", "+ every peer called, no limit", "open", "default pool", "open", "idle again"],
    results.map((r) => [r.peers, r.knownBytesPerPeer, r.sendingBytesPerPeer, r.queuedWhileSending, r.settledBytesPerPeer, r.nodeOwnConnections, r.connectedUnlimitedBytesPerPeer, r.unlimitedOpen, r.connectedDefaultBytesPerPeer, r.defaultOpen, r.idleAgainBytesPerPeer]),
  );
  const last = results[results.length - 1]!;
  writeResults("memory", { quick: QUICK, results }, [
    { metric: `heap per known peer at ${last.peers} peers, settled`, value: last.settledBytesPerPeer, unit: "B" },
    { metric: `heap per known peer at ${last.peers} peers, default pool after calling every peer`, value: last.connectedDefaultBytesPerPeer, unit: "B" },
    { metric: `heap per known peer at ${last.peers} peers, connections idle again`, value: last.idleAgainBytesPerPeer, unit: "B" },
  ]);
  return results;
}

if (import.meta.main) {
  watchdog(QUICK ? 120 : 300);
  const at = process.argv.indexOf("--sizes");
  const sizes = at >= 0 ? process.argv[at + 1]!.split(",").map(Number) : QUICK ? [500] : [1000, 10_000];
  await runMemoryBench(sizes);
  process.exit(0);
}
