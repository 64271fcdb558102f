/**
 * Size limits of Peer records off the wire: a record with an oversize field is refused in both
 * modes (and left out of a NodeInfo), so a few forged records cannot make a node hold, copy and
 * forward megabytes; a node under such heartbeats stays small and keeps serving.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { frozenNames, isFrozenNames, MAX_ID_LENGTH, PEER_FIELD_LIMITS, readNodeInfo, readPeer } from "../../src/wire/peer.ts";
import { EndpointError, RemoteError } from "../../src/errors.ts";
import { Client } from "../../src/rpc/client.ts";
import { Pool } from "../../src/transport/pool.ts";
import { LOOPBACK, rejection, startNode, stopAll } from "../helpers/net.ts";

const pools: Pool[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) p.closeAll();
  await stopAll();
});

const base = { id: "a".repeat(64), address: "127.0.0.1", port: 9999, swarm: "s", team: "default", name: "n", kind: "node", capabilities: ["x"], last_seen: 1 };
const big = "x".repeat(PEER_FIELD_LIMITS.text + 1);

describe("wire - peer record limits", () => {
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ["id", { id: "i".repeat(MAX_ID_LENGTH + 1) }, `'id' is longer than ${MAX_ID_LENGTH} characters`],
    ["address", { address: big }, `'address' is longer than ${PEER_FIELD_LIMITS.text} characters`],
    ["swarm", { swarm: big }, `'swarm' is longer than ${PEER_FIELD_LIMITS.text} characters`],
    ["team", { team: big }, `'team' is longer than ${PEER_FIELD_LIMITS.text} characters`],
    ["name", { name: big }, `'name' is longer than ${PEER_FIELD_LIMITS.text} characters`],
    ["capabilities", { capabilities: Array.from({ length: PEER_FIELD_LIMITS.capabilities + 1 }, (_, i) => `c${i}`) }, `'capabilities' has more than ${PEER_FIELD_LIMITS.capabilities} entries`],
    ["one capability", { capabilities: ["c".repeat(PEER_FIELD_LIMITS.capability + 1)] }, `'capability' is longer than ${PEER_FIELD_LIMITS.capability} characters`],
  ];
  for (const [field, patch, message] of cases) {
    test(`an oversize ${field} is refused, strict and lenient`, () => {
      const record = { ...base, ...patch };
      expect(() => readPeer(record, { mode: "strict" })).toThrow(`invalid peer record: ${message}`);
      expect(() => readPeer(record, { mode: "lenient", what: "broadcast origin" })).toThrow(EndpointError);
      expect(() => readPeer(record, { mode: "lenient", what: "broadcast origin" })).toThrow(/^invalid broadcast origin: /);
    });
  }

  test("records at the limits are read unchanged", () => {
    const record = { ...base, name: "n".repeat(PEER_FIELD_LIMITS.text), capabilities: Array.from({ length: PEER_FIELD_LIMITS.capabilities }, (_, i) => `c${i}`) };
    expect(readPeer(record, { mode: "strict" })).toEqual(record as never);
  });

  test("a list frozenNames froze is kept as it is when valid, and read as any list otherwise", () => {
    const frozen = frozenNames(["a", "b"]);
    expect(isFrozenNames(frozen)).toBe(true);
    expect(readPeer({ ...base, capabilities: frozen }, { mode: "lenient", what: "member" }).capabilities).toBe(frozen);
    expect(readPeer({ ...base, capabilities: frozen }, { mode: "strict" }).capabilities).toBe(frozen);
    // Any other list, frozen by someone else or not: a copy, as before.
    for (const other of [["a", "b"], Object.freeze(["a", "b"])]) {
      expect(isFrozenNames(other)).toBe(false);
      const read = readPeer({ ...base, capabilities: other }, { mode: "lenient", what: "member" }).capabilities;
      expect(read).toEqual(["a", "b"]);
      expect(read).not.toBe(other);
    }
    // With a mistyped entry: left out when lenient, refused when strict; with an oversize one, or too many: refused.
    const mixed = frozenNames(["a", 7 as unknown as string]);
    expect(readPeer({ ...base, capabilities: mixed }, { mode: "lenient", what: "member" }).capabilities).toEqual(["a"]);
    expect(() => readPeer({ ...base, capabilities: mixed }, { mode: "strict" })).toThrow("'capabilities' must be an array of strings");
    expect(() => readPeer({ ...base, capabilities: frozenNames(["c".repeat(PEER_FIELD_LIMITS.capability + 1)]) }, { mode: "lenient", what: "member" })).toThrow(/longer than/);
    const many = frozenNames(Array.from({ length: PEER_FIELD_LIMITS.capabilities + 1 }, (_, i) => `c${i}`));
    expect(() => readPeer({ ...base, capabilities: many }, { mode: "strict" })).toThrow(/has more than/);
  });

  test("readNodeInfo leaves oversize fields out", () => {
    const info = readNodeInfo({ id: "i", name: big, address: big, capabilities: ["c".repeat(PEER_FIELD_LIMITS.capability + 1)], swarm: "s", port: 1 });
    expect(info).toEqual({ id: "i", swarm: "s", port: 1 });
  });

  test("a node refuses heartbeats with megabyte records, keeps no trace of them, and serves a genuine peer", async () => {
    const node = await startNode({ swarm: "s", heartbeatInterval: null });
    const pool = new Pool();
    pools.push(pool);
    const client = new Client(LOOPBACK, node.port, { pool, timeout: 5 });
    for (let i = 0; i < 20; i++) {
      const forged = { ...base, id: `${i}`.padStart(64, "f"), name: "x".repeat(1024 * 1024) };
      const error = await rejection(client.call("_synapse.heartbeat", forged), RemoteError);
      expect(error.code).toBe("bad_request");
      expect(error.message).toContain("'name' is longer than");
    }
    expect(node.peers.size).toBe(0);
    const joined = (await client.call("_synapse.join", { ...base, id: "b".repeat(64), port: 1234 })) as { accepted: boolean };
    expect(joined.accepted).toBe(true);
    expect(node.peers.size).toBe(1);
    expect(await client.call("_synapse.ping")).toBe("pong");
  });
});
