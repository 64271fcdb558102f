/**
 * A node keeps about one string per known peer id, however many updates, suspicions and refreshed
 * records about the peer it decodes (each brings its own copy of the id, 80 bytes for a
 * 64-character one): the SWIM member keeps the id string it was first known by, and a
 * suspicion's or death's author is named by the string the list holds, in the member's record and
 * in the queued update alike. Counted in a heap snapshot, since string identity is not visible from JavaScript. The
 * ids exist here only as bytes, so the strings counted are the ones the code under test kept (the
 * bound leaves room for a few held by the collector's conservative scan of the stack).
 */
import { describe, expect, test } from "bun:test";
import { SwimCore } from "../../src/membership/swim.ts";
import type { MemberUpdate } from "../../src/membership/swim-types.ts";
import { PeerTable } from "../../src/membership/peer-table.ts";
import type { Peer } from "../../src/types.ts";

const N = 40;
/**
 * Ids as bytes: `fresh(i)` is a new string each call (as a decoder makes one per message). A random
 * prefix, drawn once per run, keeps them apart from any id another test file in the same process
 * holds (`"1".repeat(64)` would otherwise be counted here).
 */
const prefix = crypto.getRandomValues(new Uint8Array(28));
const fresh = (i: number): string => {
  const bytes = new Uint8Array(32);
  bytes.set(prefix);
  new DataView(bytes.buffer).setUint32(28, i);
  return Buffer.from(bytes).toString("hex");
};
/**
 * Strings equal to one of the ids in the heap, after a full GC: the fewest of three counts, since
 * the collector's conservative scan of the stack may keep a different few dropped copies alive
 * each time (a full suite's run once counted more than the bound allows).
 */
async function idCopies(from: number, to: number): Promise<number> {
  let fewest = Number.POSITIVE_INFINITY;
  for (let attempt = 0; attempt < 3; attempt++) fewest = Math.min(fewest, await countCopies(from, to));
  return fewest;
}

async function countCopies(from: number, to: number): Promise<number> {
  await Bun.sleep(0); // off the stack that made the dropped copies
  Bun.gc(true);
  const snapshot = JSON.parse(Bun.generateHeapSnapshot("v8")) as { snapshot: { meta: { node_fields: string[]; node_types: [string[]] } }; nodes: number[]; strings: string[] };
  const fields = snapshot.snapshot.meta.node_fields.length;
  const stringType = snapshot.snapshot.meta.node_types[0].indexOf("string");
  const wanted = new Set(Array.from({ length: to - from }, (_, k) => fresh(from + k)));
  let count = 0;
  // The snapshot's string table is not deduplicated: names are compared by content.
  for (let n = 0; n < snapshot.nodes.length; n += fields) if (snapshot.nodes[n] === stringType && wanted.has(snapshot.strings[snapshot.nodes[n + 1]!]!)) count++;
  return count;
}

describe("one id string per known peer", () => {
  test("SWIM members keep the ids they were first known by through newer alive updates, suspicions and deaths", async () => {
    const swim = new SwimCore({ id: "self", address: "h", port: 1 }, { now: () => 0, schedule: () => () => {}, send: () => Promise.reject(new Error("no network")) });
    const update = (i: number, incarnation: number, state: MemberUpdate["state"], from?: number): MemberUpdate => ({
      id: fresh(i),
      incarnation,
      state,
      address: "h",
      port: 2 + i,
      ...(from === undefined ? {} : { from: fresh(from) }),
    });
    for (let i = 0; i < N; i++) swim.learn(update(i, 0, "alive"));
    // Bounded: five rounds of news about every member, each with fresh copies of the ids.
    for (let round = 1; round <= 5; round++) {
      for (let i = 0; i < N; i++) {
        swim.learn(update(i, 2 * round, "alive"));
        swim.learn(update(i, 2 * round, "suspect", (i + 1) % N));
      }
    }
    for (let i = 0; i < N; i += 2) swim.learn(update(i, 11, "dead", (i + 1) % N));
    expect(swim.member(fresh(0))).toMatchObject({ state: "dead", incarnation: 11, from: fresh(1) });
    expect(swim.member(fresh(2))?.state).toBe("dead");
    expect(swim.member(fresh(3))).toMatchObject({ state: "suspect", from: fresh(4) });
    // About one string per member (the map's key is the record's id, and the authors'): 43 for
    // 40 members when written, 128 before the list kept its own (the latest update's copy in each
    // record, and each author's in the record, the queued update and the suspicion).
    const copies = await idCopies(0, N);
    expect(copies, `${copies} copies of ${N} ids`).toBeLessThan(N + N / 4);
    swim.stop();
  });

  test("the peer table keeps the id string it first knew a peer by through refreshed records", async () => {
    const table = new PeerTable();
    // Each record as a decoder makes it: fresh copies of the id (and of the name and address).
    const record = (i: number, seen: number): Peer => ({ id: fresh(i), address: ["10.0.0", String(i)].join("."), port: 9000, swarm: "s", team: "t", name: ["peer", String(i)].join(""), kind: "node", capabilities: [], last_seen: seen });
    for (let i = 0; i < N; i++) table.upsert(record(i, 1), "gossip");
    for (let round = 2; round <= 6; round++) for (let i = 0; i < N; i++) table.upsert(record(i, round), "heartbeat");
    expect(table.get(fresh(3))?.peer).toMatchObject({ id: fresh(3), address: "10.0.0.3", name: "peer3", last_seen: 6 });
    // One string per peer (the map's key is the record's id): 2 per peer before, the key and the
    // latest record's copy.
    const copies = await idCopies(0, N);
    expect(copies, `${copies} copies of ${N} ids`).toBeGreaterThanOrEqual(N);
    expect(copies, `${copies} copies of ${N} ids`).toBeLessThan(N + N / 4);
    expect(table.size).toBe(N); // held until counted
  });
});
