/**
 * Digest push-pulls (virtual clock, no real time): a full-state exchange between Bun peers sends
 * what the other side lacks, not everything (docs/membership.md, "Push-pull").
 */
import { describe, expect, test } from "bun:test";
import { DIGEST_ENTRY, DigestSlots, idHash, type DigestMember } from "../../src/membership/swim-digest.ts";
import { SwimCore } from "../../src/membership/swim.ts";
import type { MemberUpdate, SwimConfig, SwimMessage, SwimPorts, SwimPushPull, SwimState } from "../../src/membership/swim-types.ts";
import { CountingStore } from "./fakes.ts";
import { readWholeMessage, SimNetwork, type SimNode } from "./swim-sim.ts";

/** Nothing spreads but the exchanges the test makes: no gossip, no piggybacked updates, no periodic push-pull, no page. */
const QUIET: Partial<SwimConfig> = { gossipNodes: 0, maxPiggybackBytes: 1, pushPullInterval: 10_000, joinPage: 0 };

const member = (i: number, incarnation = 1): MemberUpdate => ({ id: `m${i}`, incarnation, state: "alive", address: "10.0.0.2", port: 20_000 + i, meta: { name: `m${i}` } });

/** Record the push-pulls `node` answers: the request and the answer, read whole. */
function spy(node: SimNode): Array<{ request: SwimPushPull; answer: SwimPushPull }> {
  const seen: Array<{ request: SwimPushPull; answer: SwimPushPull }> = [];
  const handle = node.core.handle.bind(node.core);
  node.core.handle = async (raw: unknown) => {
    const answer = await handle(raw);
    const request = readWholeMessage(raw);
    if (request?.kind === "push_pull" && answer?.kind === "push_pull") seen.push({ request, answer });
    return answer;
  };
  return seen;
}

/** Two nodes that hold the same 40 members, but for what each test adds. */
function pair(config: Partial<SwimConfig> = {}, readsDigest = false): { net: SimNetwork; a: SimNode; b: SimNode } {
  const net = new SimNetwork({ ...QUIET, ...config });
  const extra = readsDigest ? { readsDigest: () => true } : {};
  const a = net.add(extra);
  const b = net.add(extra);
  for (let i = 0; i < 40; i++) {
    a.core.learn(member(i));
    b.core.learn(member(i));
  }
  return { net, a, b };
}

const ids = (p: SwimPushPull): string[] => p.members.map((u) => u.id).sort();

/** State codes of digest entries. */
const CODE: Record<SwimState, number> = { alive: 0, suspect: 1, dead: 2, left: 3 };

/** A digest's entries as `[id's hash, incarnation, state code]`, in order. */
function entriesOf(digest: Uint8Array): Array<[number, number, number]> {
  const view = new DataView(digest.buffer, digest.byteOffset, digest.byteLength);
  const out: Array<[number, number, number]> = [];
  for (let at = 0; at < digest.length; at += DIGEST_ENTRY) out.push([view.getUint16(at) * 2 ** 32 + view.getUint32(at + 2), view.getFloat64(at + 6), view.getUint8(at + 14)]);
  return out;
}

/** A digest of the entries `[id's hash, incarnation, state code]`. */
function digestOf(entries: Array<[number, number, number]>): Uint8Array {
  const digest = new Uint8Array(entries.length * DIGEST_ENTRY);
  const view = new DataView(digest.buffer);
  entries.forEach(([hash, incarnation, state], i) => {
    view.setUint16(i * DIGEST_ENTRY, Math.floor(hash / 2 ** 32));
    view.setUint32(i * DIGEST_ENTRY + 2, hash >>> 0);
    view.setFloat64(i * DIGEST_ENTRY + 6, incarnation);
    view.setUint8(i * DIGEST_ENTRY + 14, state);
  });
  return digest;
}

describe("swim core - digest push-pulls", () => {
  test("an exchange's answer holds only what the asker lacks or holds older, and the asker pushes what the answerer lacks", async () => {
    const { net, a, b } = pair();
    b.core.learn(member(100)); // only b holds m100
    b.core.learn(member(3, 5)); // b holds m3 at a later incarnation
    a.core.learn(member(200)); // only a holds m200
    const answered = spy(b);
    const joined = a.core.join({ id: b.id, address: "10.0.0.1", port: b.port });
    await net.clock.run(1);
    expect(await joined).toBe(true);
    // The answer: b's own claim, m100 and m3 (not the 38 others).
    expect(ids(answered[0]!.answer)).toEqual(["m100", "m3", b.id].sort());
    expect(a.core.member("m100")?.state).toBe("alive");
    expect(a.core.member("m3")?.incarnation).toBe(5);
    // a's request held its whole state (b was not known to read digests): b took m200 from it, and
    // wanted nothing more.
    expect(answered[0]!.answer.want).toBeUndefined();
    expect(answered).toHaveLength(1);
    expect(b.core.member("m200")?.state).toBe("alive");
  });

  test("without digests the answer is the whole state (the check above fails without them)", async () => {
    const { net, a, b } = pair({ digests: false });
    b.core.learn(member(100));
    const answered = spy(b);
    void a.core.join({ id: b.id, address: "10.0.0.1", port: b.port });
    await net.clock.run(1);
    // b's own claim, a's (taken from the request), the 40 and m100.
    expect(answered[0]!.answer.members).toHaveLength(43);
  });

  test("to a peer known to read digests the request carries the digest and the asker's own claim only", async () => {
    const { net, a, b } = pair({}, true);
    a.core.learn(member(200));
    const answered = spy(b);
    void a.core.join({ id: b.id, address: "10.0.0.1", port: b.port });
    await net.clock.run(1);
    expect(ids(answered[0]!.request)).toEqual([a.id]);
    expect(answered[0]!.request.digest).toHaveLength(42 * 15);
    expect(ids(answered[0]!.answer)).toEqual([b.id]);
    // m200 still reached b: named in `want`, then pushed by a in a push-pull with `since` (whose
    // answer is what changed at b since its first answer: m200 itself).
    expect(answered).toHaveLength(2);
    expect(answered[0]!.answer.want).toHaveLength(6);
    expect(answered[1]!.request.since).toBe(answered[0]!.answer.version!);
    expect(ids(answered[1]!.request)).toEqual(["m200", a.id].sort());
    expect(b.core.member("m200")?.state).toBe("alive");
  });

  test("a node held suspect by the asker refutes in its answer to a digest alone", async () => {
    const { net, a, b } = pair({}, true);
    const incarnation = b.core.stats().incarnation;
    a.core.learn({ id: b.id, incarnation, state: "alive", address: "10.0.0.1", port: b.port });
    a.core.learn({ id: b.id, incarnation, state: "suspect", address: "10.0.0.1", port: b.port, from: a.id });
    expect(a.core.member(b.id)?.state).toBe("suspect");
    void a.core.join({ id: b.id, address: "10.0.0.1", port: b.port });
    await net.clock.run(1);
    expect(b.core.stats().incarnation).toBe(incarnation + 1);
    expect(a.core.member(b.id)?.state).toBe("alive");
  });

  test("a malformed digest (not whole entries) is ignored: the answer is the whole state", async () => {
    const { b } = pair();
    const request = { kind: "push_pull", from: "m1", join: false, members: [member(1)], digest: new Uint8Array(16) };
    const answer = await b.core.handle(request);
    expect(answer?.kind === "push_pull" && answer.members.length).toBe(41);
    expect(answer?.kind === "push_pull" && answer.want).toBeUndefined();
  });

  test("a member forgotten and known again is matched by its id's hash (kept with its new record)", async () => {
    let now = 0;
    const timers: Array<() => void> = [];
    const ports = { now: () => now, schedule: (_: number, fn: () => void) => (timers.push(fn), () => {}), send: () => Promise.reject(new Error("no network")) };
    const core = new SwimCore({ id: "self", address: "10.0.0.1", port: 1 }, ports, { ...QUIET, deadRetention: 10 });
    core.learn(member(0));
    core.learn({ ...member(0), state: "dead", from: "self" });
    // Past the retention, the first probe round (no live member) forgets it.
    now = 100;
    core.start();
    timers[0]!();
    core.stop();
    expect(core.member("m0")).toBeUndefined();
    core.learn(member(0, 2));
    core.learn(member(1));
    // A digest of the asker (`a`), m0 at the incarnation held here, m1 at an older one and m2 unknown here.
    const entries: Array<[string, number, number]> = [["a", 1, 0], ["m0", 2, 0], ["m1", 0, 0], ["m2", 1, 0]];
    const digest = digestOf(entries.map(([id, incarnation, state]) => [idHash(id), incarnation, state]));
    const answer = await core.handle({ kind: "push_pull", from: "a", join: false, members: [{ ...member(9), id: "a" }], digest });
    expect(answer?.kind).toBe("push_pull");
    const pull = answer as SwimPushPull;
    // m0 matched (not sent back), m1 sent (the asker's is older), m2 wanted; `a` is held since the merge, matched.
    expect(ids(pull)).toEqual(["m1", "self"]);
    const want = new DataView(pull.want!.buffer, pull.want!.byteOffset, pull.want!.byteLength);
    expect(want.byteLength).toBe(6);
    expect(want.getUint16(0) * 2 ** 32 + want.getUint32(2)).toBe(idHash("m2"));
  });

  test("the hash of an id is 48 bits and differs between ids", () => {
    const hashes = new Set(Array.from({ length: 10_000 }, (_, i) => idHash(`${i.toString(16).padStart(64, "0")}`)));
    expect(hashes.size).toBe(10_000);
    for (const h of hashes) expect(Number.isSafeInteger(h) && h >= 0 && h < 2 ** 48).toBe(true);
  });
});

/** A running core over a member store that counts walks, whose requests are kept in `sent` (none answered), and that holds every peer to read digests. */
function digestRig(): { core: SwimCore; store: CountingStore<MemberUpdate>; clock: { now: number }; timers: Array<() => void>; sent: SwimMessage[] } {
  const store = new CountingStore<MemberUpdate>();
  const clock = { now: 0 };
  const timers: Array<() => void> = [];
  const sent: SwimMessage[] = [];
  const ports: SwimPorts = {
    now: () => clock.now,
    schedule: (_, fn) => (timers.push(fn), () => {}),
    send: (_to, message) => (sent.push(message), Promise.reject(new Error("no network"))),
    readsDigest: () => true,
    members: store,
  };
  return { core: new SwimCore({ id: "self", address: "10.0.0.1", port: 1 }, ports, { ...QUIET, deadRetention: 10 }), store, clock, timers, sent };
}

/** The digest `core` sends in a join's exchange with member m100. */
async function ownDigest(core: SwimCore, sent: SwimMessage[]): Promise<Uint8Array> {
  sent.length = 0;
  void core.join({ id: "m100", address: "10.0.0.2", port: 20_100 });
  for (let i = 0; i < 10 && sent.length === 0; i++) await Promise.resolve();
  const request = sent.find((m): m is SwimPushPull => m.kind === "push_pull");
  expect(request?.digest).toBeInstanceOf(Uint8Array);
  return request!.digest!;
}

describe("swim core - digest entries kept as the list changes", () => {
  test("a node's digest holds every member's entry as the list changes (new, newer, suspect, dead, forgotten, known again), made without a walk of the members", async () => {
    const { core, store, clock, timers, sent } = digestRig();
    for (let i = 0; i < 10; i++) core.learn(member(i));
    for (let i = 0; i < 10; i++) core.learn({ ...member(i), state: "dead", from: "self" });
    // Past the retention, the first probe round (no live member) forgets all ten.
    clock.now = 100;
    core.start();
    timers[0]!();
    expect(core.member("m0")).toBeUndefined();
    for (let i = 10; i < 210; i++) core.learn(member(i));
    for (let i = 0; i < 3; i++) core.learn(member(i, 2));
    for (let i = 10; i < 30; i++) core.learn(member(i, 3));
    for (let i = 30; i < 50; i++) core.learn({ ...member(i), state: "suspect", from: "m200" });
    for (let i = 50; i < 70; i++) core.learn({ ...member(i), state: "dead", from: "m200" });
    store.visits = 0;
    const digest = await ownDigest(core, sent);
    expect(store.visits).toBe(0);
    const entries = entriesOf(digest);
    // This node's own claim first, then its 203 members (m0 to m2 known again, m3 to m9 forgotten).
    expect(entries[0]).toEqual([idHash("self"), core.stats().incarnation, CODE.alive]);
    expect(entries).toHaveLength(1 + 203);
    const held = new Map([...core.members()].map((m) => [idHash(m.id), [m.incarnation, CODE[m.state]]]));
    expect(new Map(entries.slice(1).map(([hash, incarnation, state]) => [hash, [incarnation, state]]))).toEqual(held);
    expect(held.get(idHash("m0"))).toEqual([2, CODE.alive]);
    expect(held.get(idHash("m20"))).toEqual([3, CODE.alive]);
    expect(held.get(idHash("m40"))).toEqual([1, CODE.suspect]);
    expect(held.get(idHash("m60"))).toEqual([1, CODE.dead]);
    expect(held.has(idHash("m5"))).toBe(false);
    core.stop();
  });

  test("an answer to a digest reads the slots: exactly the members the asker lacks or holds older, and wants the rest, without a walk of the members", async () => {
    const { core, store, sent } = digestRig();
    core.start();
    for (let i = 0; i < 200; i++) core.learn(member(i, 5));
    const own = entriesOf(await ownDigest(core, sent)).slice(1);
    const at = (id: string): [number, number, number] => own.find(([hash]) => hash === idHash(id))!;
    // The asker: its own entry; m5 missing; m6 older; m7 newer; m8 at the same incarnation in a later state (newer); a stranger alive, one dead.
    const asker: Array<[number, number, number]> = [[idHash("a"), 1, CODE.alive]];
    for (const entry of own) {
      const [hash] = entry;
      if (hash === idHash("m5")) continue;
      if (hash === idHash("m6")) asker.push([hash, 4, CODE.alive]);
      else if (hash === idHash("m7")) asker.push([hash, 6, CODE.alive]);
      else if (hash === idHash("m8")) asker.push([hash, 5, CODE.suspect]);
      else asker.push(entry);
    }
    asker.push([idHash("m999"), 1, CODE.alive], [idHash("m998"), 1, CODE.dead]);
    expect(at("m9")).toEqual([idHash("m9"), 5, CODE.alive]);
    store.visits = 0;
    const answer = (await core.handle({ kind: "push_pull", from: "a", join: false, members: [{ ...member(9), id: "a" }], digest: digestOf(asker) })) as SwimPushPull;
    expect(store.visits).toBe(0);
    expect(ids(answer)).toEqual(["m5", "m6", "self"]);
    const want = new DataView(answer.want!.buffer, answer.want!.byteOffset, answer.want!.byteLength);
    const wanted = Array.from({ length: want.byteLength / 6 }, (_, i) => want.getUint16(i * 6) * 2 ** 32 + want.getUint32(i * 6 + 2));
    expect(new Set(wanted)).toEqual(new Set([idHash("m7"), idHash("m8"), idHash("m999")]));
    core.stop();
  });

  test("the slots: an entry added last, changed in place, and a forgotten one's place taken by the last", () => {
    const slots = new DigestSlots();
    const made = (id: string, incarnation: number): DigestMember => ({ id, incarnation, state: "alive", address: "10.0.0.2", port: 1, version: 0, hash: idHash(id), slot: -1 });
    const [a, b, c, d] = [made("a", 1), made("b", 2), made("c", 3), made("d", 4)];
    for (const m of [a, b, c, d]) slots.add(m);
    expect([a, b, c, d].map((m) => m.slot)).toEqual([0, 1, 2, 3]);
    b.state = "dead";
    slots.set(b);
    slots.delete(a);
    expect(a.slot).toBe(-1);
    expect(d.slot).toBe(0);
    expect(slots.member(0)).toBe(d);
    slots.delete(c);
    expect(slots.size).toBe(2);
    expect(entriesOf(slots.bytes())).toEqual([[idHash("d"), 4, CODE.alive], [idHash("b"), 2, CODE.dead]]);
    // A member not held (forgotten already) changes nothing.
    slots.delete(a);
    slots.set(c);
    expect(slots.size).toBe(2);
    for (let i = 0; i < 100; i++) slots.add(made(`m${i}`, i));
    expect(slots.size).toBe(102);
    expect(entriesOf(slots.bytes())[101]).toEqual([idHash("m99"), 99, CODE.alive]);
  });
});

describe("swim core - a mass join with digests", () => {
  test("200 nodes joining at once converge, with fewer member records in push-pulls", async () => {
    const records: number[] = [];
    for (const digests of [false, true]) {
      const net = new SimNetwork({ digests });
      const seed = net.add();
      for (let i = 1; i < 200; i++) void net.add().core.join({ id: seed.id, address: "10.0.0.1", port: seed.port });
      await net.runUntil(() => net.converged(), 60);
      expect(net.converged()).toBe(true);
      // The exchanges after the catch-up pulls, which happen after convergence, are counted too.
      await net.clock.run(30);
      records.push(net.pushPullRecords);
    }
    // 172,410 without, 87,571 with (seed 1): the exchange after each joiner's catch-up pulls no
    // longer brings the whole state. What is left is mostly each joiner's first whole state.
    expect(records[1]!).toBeLessThan(records[0]! * 0.6);
  });
});
