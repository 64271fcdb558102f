import { afterEach, describe, expect, test } from "bun:test";
import { Client, kw } from "../../src/rpc/client.ts";
import { RemoteError } from "../../src/errors.ts";
import { PEER_KEYS } from "../../src/wire/peer.ts";
import type { Peer } from "../../src/types.ts";
import { RawSocket, frameBytes, stopAll as stopHelpers } from "../helpers/net.ts";
import { PythonLikeServer } from "../helpers/python-like-server.ts";
import { captureLogs, peerNames, record, startNode, stopAll, eventually } from "./fixtures.ts";
import { loadVectors, type Vector as RawVector } from "../helpers/vectors.ts";

afterEach(async () => {
  await stopAll();
  await stopHelpers();
});

type Vector = Omit<RawVector, "decoded"> & { decoded: Record<string, unknown> };
const vectors = (await loadVectors()) as Vector[];
const joinRequest = vectors.find((v) => v.name.startsWith("request _synapse.join"))!;
const joinResponse = vectors.find((v) => v.name.startsWith("response to _synapse.join"))!;

/** A peer record for raw calls. */
function peerRecord(overrides: Partial<Record<keyof Peer, unknown>> & Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: "c".repeat(64),
    address: "127.0.0.1",
    port: 9003,
    swarm: "golden",
    team: "default",
    name: "gamma",
    kind: "node",
    capabilities: [],
    last_seen: Date.now() / 1000,
    ...overrides,
  };
}

/** The key structure of a value (maps: ordered keys with their structure; arrays: first element). */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.length === 0 ? [] : [shape(value[0])];
  if (value && typeof value === "object") return Object.entries(value).map(([k, v]) => [k, shape(v)]);
  return value === null ? "nil" : typeof value;
}

describe("membership - join through a seed", () => {
  test("a node joins through a seed; both know each other and peer.joined fires on both", async () => {
    const seed = await startNode({ name: "seed", swarm: "golden" });
    const seedJoined = record<Peer>((fn) => seed.on("peer.joined", fn));
    const a = await startNode({ name: "a", swarm: "golden", seeds: [`127.0.0.1:${seed.port}`] });
    const aJoined = record<Peer>((fn) => a.on("peer.joined", fn));
    const peers = await a.join();
    expect(peers.map((p) => p.name)).toEqual(["seed"]);
    expect(peerNames(a)).toEqual(["seed"]);
    expect(peerNames(seed)).toEqual(["a"]);
    const known = a.peers.get(seed.id)!;
    expect(Object.keys(known)).toEqual([...PEER_KEYS]);
    expect(known).toMatchObject({ id: seed.id, address: "127.0.0.1", port: seed.port, swarm: "golden", team: "default", kind: "node" });
    await eventually(() => seedJoined.length === 1 && aJoined.length <= 1, 2000, "peer.joined on the seed");
    expect(seedJoined[0]!.id).toBe(a.id);
    // peer.joined on `a` may have fired before we subscribed (the seed task joins at start); never twice
    expect(aJoined.filter((p) => p.id === seed.id).length).toBeLessThanOrEqual(1);
    expect(a.peers.has(a.id)).toBe(false);
  });

  test("a membership event's listener gets a copy of the peer's record; with no listener, no event and no copy is made", async () => {
    const seed = await startNode({ name: "seed", swarm: "golden" });
    const emitted: string[] = [];
    const emit = seed.events.emit.bind(seed.events);
    seed.events.emit = ((event: string, payload: never) => {
      emitted.push(event);
      emit(event as never, payload);
    }) as typeof seed.events.emit;
    const a = await startNode({ name: "a", swarm: "golden", seeds: [`127.0.0.1:${seed.port}`] });
    await a.join();
    await eventually(() => seed.peers.has(a.id), 2000, "the seed to know a");
    // Nobody listens on the seed: its admission of `a` and its heartbeats emit nothing.
    expect(emitted.filter((e) => e.startsWith("peer."))).toEqual([]);
    const joined = record<Peer>((fn) => seed.on("peer.joined", fn));
    const b = await startNode({ name: "b", swarm: "golden", seeds: [`127.0.0.1:${seed.port}`] });
    await b.join();
    await eventually(() => joined.length === 1, 2000, "peer.joined on the seed");
    expect(emitted.filter((e) => e === "peer.joined")).toEqual(["peer.joined"]);
    // The table's own record (`seed.peers` hands out copies): equal, but not it nor its list.
    const kept = seed.membership.table.get(b.id)!.peer;
    expect(joined[0]).toEqual(kept);
    expect(joined[0]).not.toBe(kept);
    expect(joined[0]!.capabilities).not.toBe(kept.capabilities);
  });

  test("peer exchange: a third node learns of the first through the seed, and the first learns of it", async () => {
    const seed = await startNode({ name: "seed", swarm: "golden" });
    const a = await startNode({ name: "a", swarm: "golden", seeds: [["127.0.0.1", seed.port]] });
    await a.join();
    const aJoined = record<Peer>((fn) => a.on("peer.joined", fn));
    const b = await startNode({ name: "b", swarm: "golden", seeds: [`127.0.0.1:${seed.port}`] });
    await b.join();
    expect(peerNames(b)).toEqual(["a", "seed"]);
    expect(b.peers.get(a.id)!.port).toBe(a.port);
    await eventually(() => peerNames(a).includes("b"), 3000, "a to learn of b");
    expect(aJoined.map((p) => p.name)).toEqual(["b"]);
    expect(peerNames(a)).toEqual(["b", "seed"]);
  });

  test("join() starts a stopped node; with nothing to join it resolves with no peers", async () => {
    const lonely = await startNode({ name: "lonely" });
    await lonely.stop();
    expect(lonely.running).toBe(false);
    expect(await lonely.join()).toEqual([]);
    expect(lonely.running).toBe(true);
  });

  test("client.peers() returns Peer records with the wire keys", async () => {
    const seed = await startNode({ name: "seed", swarm: "golden", capabilities: ["math"] });
    const a = await startNode({ name: "a", swarm: "golden", capabilities: ["python", "sql"], seeds: [`127.0.0.1:${seed.port}`] });
    await a.join();
    const peers = await new Client("127.0.0.1", seed.port).peers();
    expect(peers.length).toBe(1);
    expect(Object.keys(peers[0]!)).toEqual([...PEER_KEYS]);
    expect(peers[0]).toMatchObject({ id: a.id, name: "a", port: a.port, capabilities: ["python", "sql"], kind: "node" });
    expect(typeof peers[0]!.last_seen).toBe("number");
    expect(await new Client("127.0.0.1", a.port).peers()).toMatchObject([{ id: seed.id, capabilities: ["math"] }]);
  });

  test("_synapse.join answers accepted, self and the peers (the joiner included)", async () => {
    const seed = await startNode({ name: "seed", swarm: "golden" });
    const answer = await new Client("127.0.0.1", seed.port).call<Record<string, unknown>>("_synapse.join", peerRecord());
    expect(Object.keys(answer)).toEqual(["accepted", "self", "peers"]);
    expect(answer.accepted).toBe(true);
    expect(Object.keys(answer.self as object)).toEqual([...PEER_KEYS]);
    expect((answer.self as Peer).id).toBe(seed.id);
    expect((answer.peers as Peer[]).map((p) => p.name)).toEqual(["gamma"]);
    expect(seed.peers.get("c".repeat(64))!.port).toBe(9003);
  });

  test("the peer may come as a keyword argument, as Python's peer=... sends it", async () => {
    const seed = await startNode({ name: "seed", swarm: "golden" });
    const answer = await new Client("127.0.0.1", seed.port).call<{ accepted: boolean }>("_synapse.join", kw({ peer: peerRecord({ name: "kw" }) }));
    expect(answer.accepted).toBe(true);
    expect(peerNames(seed)).toEqual(["kw"]);
  });

  test("_synapse.heartbeat answers ok and self as _synapse.info, and records the caller", async () => {
    const seed = await startNode({ name: "seed", swarm: "golden", heartbeatInterval: null });
    const client = new Client("127.0.0.1", seed.port);
    const answer = await client.call<Record<string, unknown>>("_synapse.heartbeat", peerRecord({ name: "hb" }));
    expect(Object.keys(answer)).toEqual(["ok", "self"]);
    expect(answer.ok).toBe(true);
    expect(answer.self).toEqual(await client.info());
    expect(peerNames(seed)).toEqual(["hb"]);
  });
});

describe("membership - refusals and malformed records", () => {
  test("a different swarm or team is refused with bad_request and the Python wording", async () => {
    const node = await startNode({ name: "golden", swarm: "golden", team: "red" });
    const client = new Client("127.0.0.1", node.port);
    const cases: Array<[Record<string, unknown>, string]> = [
      [peerRecord({ swarm: "silver", team: "red" }), "peer requested a different swarm"],
      [peerRecord({ swarm: null, team: "red" }), "peer requested a different swarm"],
      [peerRecord({ swarm: "golden", team: "blue" }), "peer requested a different team"],
      [peerRecord({ swarm: "golden", team: null }), "peer requested a different team"],
    ];
    for (const endpoint of ["_synapse.join", "_synapse.heartbeat"]) {
      for (const [peer, message] of cases) {
        const error = await client.call(endpoint, peer).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(RemoteError);
        expect((error as RemoteError).code).toBe("bad_request");
        expect((error as RemoteError).message).toBe(message);
      }
    }
    expect(node.peers.size).toBe(0);
    const ok = await client.call<{ accepted: boolean }>("_synapse.join", peerRecord({ swarm: "golden", team: "red" }));
    expect(ok.accepted).toBe(true);
  });

  test("a node without a swarm (or team) accepts any", async () => {
    const open = await startNode({ name: "open", swarm: null, team: null });
    const client = new Client("127.0.0.1", open.port);
    await client.call("_synapse.join", peerRecord({ id: "1".repeat(64), swarm: "silver", team: "x" }));
    await client.call("_synapse.join", peerRecord({ id: "2".repeat(64), swarm: null, team: null }));
    expect(open.peers.size).toBe(2);
  });

  test("joining a seed of another swarm: refused, logged, join still resolves", async () => {
    const other = await startNode({ name: "other", swarm: "silver" });
    const { result, lines } = await captureLogs("warn", async () => {
      const a = await startNode({ name: "a", swarm: "golden", seeds: [`127.0.0.1:${other.port}`] });
      return { a, peers: await a.join() };
    });
    expect(result.peers).toEqual([]);
    const status = result.a.membership.seedStatus()[0]!;
    expect(status.lastError).toBe("peer requested a different swarm");
    expect(lines.filter((l) => l.includes(`seed 127.0.0.1:${other.port} refused: peer requested a different swarm`)).length).toBe(1);
  });

  test("malformed peer records are answered with bad_request, and the node keeps serving", async () => {
    const node = await startNode({ name: "strict", swarm: "golden" });
    const client = new Client("127.0.0.1", node.port);
    const { port: _port, ...noPort } = peerRecord();
    const cases: Array<[string, unknown[], string]> = [
      ["_synapse.join", [noPort], "invalid peer record: missing 'port'"],
      ["_synapse.join", [peerRecord({ port: "9003" })], "invalid peer record: 'port' must be an integer from 1 to 65535, got str"],
      ["_synapse.join", [peerRecord({ capabilities: "python" })], "invalid peer record: 'capabilities' must be an array of strings"],
      ["_synapse.join", [peerRecord({ name: 7 })], "invalid peer record: 'name' must be a string or nil, got int"],
      ["_synapse.join", [peerRecord({ extra: true })], "invalid peer record: unexpected key 'extra'"],
      ["_synapse.join", ["a string"], "invalid peer record: expected a map, got str"],
      ["_synapse.join", [], "_synapse.join() missing required argument: 'peer'"],
      ["_synapse.join", [peerRecord(), 1], "_synapse.join() takes 1 positional argument but 2 were given"],
      ["_synapse.heartbeat", [noPort], "invalid peer record: missing 'port'"],
      ["_synapse.heartbeat", [peerRecord({ last_seen: "now" })], "invalid peer record: 'last_seen' must be a number, got str"],
      ["_synapse.heartbeat", [peerRecord({ id: "" })], "invalid peer record: 'id' must be a non-empty string, got str"],
    ];
    for (const [endpoint, args, message] of cases) {
      const error = await client.call(endpoint, ...args).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RemoteError);
      expect({ endpoint, code: (error as RemoteError).code, message: (error as RemoteError).message }).toEqual({ endpoint, code: "bad_request", message });
    }
    expect(node.peers.size).toBe(0);
    expect(await client.ping()).toBe("pong");
  });

  test("a seed's join answer with malformed peer records: the bad ones are skipped", async () => {
    const fake = new PythonLikeServer().start();
    // A listed peer is second-hand: it becomes a peer once it answers a probe (bounds.ts), so "good" listens.
    const goodServer = new PythonLikeServer().start();
    const good = peerRecord({ id: "1".repeat(64), name: "good", port: goodServer.port });
    goodServer.endpoint("_synapse.heartbeat", () => ({ ok: true, self: { ...good, role: null, description: null } }));
    const fakeSelf = peerRecord({ id: "f".repeat(64), name: "fake", port: fake.port });
    fake.endpoint("_synapse.join", () => ({
      accepted: true,
      self: fakeSelf,
      peers: [good, { id: "2".repeat(64), address: "x" }, peerRecord({ id: "3".repeat(64), extra: 1 }), 42],
    }));
    fake.endpoint("_synapse.heartbeat", () => ({ ok: true, self: { ...fakeSelf, role: null, description: null } }));
    const a = await startNode({ name: "a", swarm: "golden", heartbeatInterval: null, seeds: [`127.0.0.1:${fake.port}`] });
    await a.join();
    expect(peerNames(a)).toEqual(["fake", "good"]);
    fake.stop();
    goodServer.stop();
  });
});

describe("membership - unreachable seeds", () => {
  test("an unreachable seed is logged and skipped; join still resolves with the reachable one", async () => {
    const dead = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const deadPort = dead.port;
    dead.stop(true);
    const seed = await startNode({ name: "seed", swarm: "golden" });
    const { result, lines } = await captureLogs("warn", async () => {
      const a = await startNode({ name: "a", swarm: "golden", seeds: [`127.0.0.1:${deadPort}`, `127.0.0.1:${seed.port}`] });
      return { a, peers: await a.join() };
    });
    const a = result.a;
    expect(result.peers.map((p) => p.name)).toEqual(["seed"]);
    const status = a.membership.seedStatus();
    expect(status.map((s) => s.seed)).toEqual([`127.0.0.1:${deadPort}`, `127.0.0.1:${seed.port}`]);
    expect(status[0]!.failures).toBeGreaterThan(0);
    expect(status[0]!.lastError).toContain(`127.0.0.1:${deadPort}`);
    expect(status[1]!.peerId).toBe(seed.id);
    // One warning for the seed, however many attempts failed (the start-up one and join's may be one).
    const warnings = lines.filter((l) => l.includes(`seed 127.0.0.1:${deadPort} unreachable`));
    expect(warnings.length).toBe(1);
    expect(warnings[0]).toStartWith("warn membership");
  });

  test("a seed that is the node itself is ignored", async () => {
    const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = probe.port;
    probe.stop(true);
    const self = await startNode({ name: "self", port, seeds: [`127.0.0.1:${port}`] });
    expect(await self.join()).toEqual([]);
    expect(self.membership.seedStatus()[0]!.peerId).toBe(self.id);
    expect(self.peers.size).toBe(0);
  });
});

describe("membership - interop with a Python peer", () => {
  test("the Python _synapse.join request frame (raw bytes) gets a response shaped like the Python one", async () => {
    const node = await startNode({ name: "alpha", swarm: "golden", heartbeatInterval: null, capabilities: ["python"] });
    const raw = await RawSocket.open(node.port);
    const bytes = new Uint8Array(Buffer.from(joinRequest.hex, "hex"));
    expect(bytes.length).toBe(new DataView(bytes.buffer).getUint32(0) + 4);
    await raw.write(bytes);
    const response = (await raw.nextFrame()) as Record<string, unknown>;
    const expected = joinResponse.decoded;
    expect(shape(response)).toEqual(shape(expected));
    expect(response.id).toBe(expected.id);
    const result = response.result as { accepted: boolean; self: Peer; peers: Peer[] };
    const expectedResult = expected.result as { peers: Peer[] };
    expect(result.accepted).toBe(true);
    expect(result.self).toMatchObject({ id: node.id, name: "alpha", swarm: "golden", team: "default", kind: "node", capabilities: ["python"] });
    const { last_seen: _a, ...beta } = result.peers[0]!;
    const { last_seen: _b, ...expectedBeta } = expectedResult.peers[0]!;
    expect(beta).toEqual(expectedBeta);
    expect(node.peers.get("b".repeat(64))).toMatchObject({ address: "127.0.0.1", port: 9002, name: "beta" });
  });

  test("a Python-style (one request per connection) seed: our records carry exactly the Peer keys", async () => {
    const fake = new PythonLikeServer().start();
    const fakeSelf = peerRecord({ id: "f".repeat(64), name: "py", port: fake.port, capabilities: ["python"] });
    const strict = (args: unknown[]) => {
      const peer = args[0] as Record<string, unknown>;
      const extra = Object.keys(peer).filter((k) => !(PEER_KEYS as readonly string[]).includes(k));
      if (extra.length > 0) throw new Error(`Peer.__init__() got an unexpected keyword argument '${extra[0]}'`);
      if (!("port" in peer)) throw new Error("Peer.__init__() missing 1 required positional argument: 'port'");
    };
    fake.endpoint("_synapse.join", (args) => {
      strict(args);
      return { accepted: true, self: fakeSelf, peers: [args[0]] };
    });
    fake.endpoint("_synapse.heartbeat", (args) => {
      strict(args);
      const { last_seen: _ls, ...info } = fakeSelf;
      return { ok: true, self: { ...info, role: null, description: null } };
    });
    const a = await startNode({ name: "a", swarm: "golden", heartbeatInterval: 0.2, seeds: [`127.0.0.1:${fake.port}`] });
    const beats = record<Peer>((fn) => a.on("peer.heartbeat", fn));
    await a.join();
    expect(peerNames(a)).toEqual(["py"]);
    await eventually(() => beats.length >= 2, 3000, "heartbeats answered by the Python-style peer");
    const calls = fake.log.filter((r) => r.endpoint === "_synapse.join" || r.endpoint === "_synapse.heartbeat");
    expect(calls.length).toBeGreaterThanOrEqual(3);
    for (const call of calls) {
      expect(call.args.length).toBe(1);
      expect(Object.keys(call.args[0] as object)).toEqual([...PEER_KEYS]);
      expect(call.kwargs).toEqual({});
    }
    expect(a.membership.stats.heartbeatsFailed).toBe(0);
    fake.stop();
  });
});
