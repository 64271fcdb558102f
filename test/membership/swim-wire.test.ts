import { describe, expect, test } from "bun:test";
import { Gossip, swimConfig } from "../../src/membership/gossip.ts";
import { PackedUpdate, packUpdate, readInbound, readMessage, toWire, wantsPacked } from "../../src/membership/swim-wire.ts";
import type { MemberUpdate, SwimClaim } from "../../src/membership/swim-types.ts";
import { decode, encode } from "../../src/wire/codec.ts";
import { SWIM_FEATURE, SWIM_PACKED_FEATURE } from "../../src/wire/protocol.ts";
import { fakeGossipHost } from "./fakes.ts";
import { joinedPair, SimNetwork, type SimNode } from "./swim-sim.ts";

const meta = { swarm: "lab", team: "default", name: "x", kind: "node", capabilities: ["echo"] };
const alive: MemberUpdate = { id: "x", incarnation: 3, state: "alive", address: "10.0.0.9", port: 9999, meta, sig: new Uint8Array([1, 2, 3]) };

/** MessagePack of a map written key by key, as given (repeated keys included). */
function rawMap(entries: Array<[string, unknown]>): Uint8Array {
  const parts = [Uint8Array.of(0x80 | entries.length), ...entries.flatMap(([k, v]) => [encode(k).slice(), encode(v).slice()])];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), (at += p.length));
  return out;
}

/** A core that holds member `x` alive at incarnation 3, and a sender it knows. */
function holder(): { net: SimNetwork; a: SimNode } {
  const net = new SimNetwork();
  const a = net.add();
  a.core.learn({ ...alive });
  return { net, a };
}

const gossip = (updates: unknown[]) => ({ kind: "gossip", from: "y", updates });

describe("swim wire - the packed form", () => {
  test("an update is encoded once, id, incarnation and state first, and reads back whole", () => {
    const bytes = packUpdate(alive);
    expect(packUpdate(alive)).toBe(bytes);
    expect(Object.keys(decode(bytes) as object)).toEqual(["id", "incarnation", "state", "address", "port", "meta", "sig"]);
    const read = readInbound(bytes);
    expect(read).toBeInstanceOf(PackedUpdate);
    expect(read).toMatchObject({ id: "x", incarnation: 3, state: "alive" });
    expect((read as PackedUpdate).read()).toEqual(alive);
    // A suspicion with its `from`, an incarnation past 32 bits, an id of 128 characters.
    for (const u of [
      { id: "x", incarnation: 2 ** 40, state: "suspect", address: "::1", port: 1, from: "y" },
      { id: "é".repeat(128), incarnation: 0, state: "left", address: "h", port: 65535 },
    ] as MemberUpdate[]) {
      const again = readInbound(decode(encode(packUpdate(u))));
      expect(again).toMatchObject({ id: u.id, incarnation: u.incarnation, state: u.state });
      expect((again as PackedUpdate).read()).toEqual(u);
    }
  });

  test("a packed update or lean death decoded as a Buffer (a gathered frame) is held as plain bytes, and reads the same", () => {
    // A push-pull answer spans socket reads, so its bins decode as Buffers; gossip read at once gives
    // plain arrays. Every packed update is held in one shape (for the peeks, the queue, the encoder).
    const packed = Buffer.from(packUpdate(alive));
    const read = readInbound(packed) as PackedUpdate;
    expect(read).toBeInstanceOf(PackedUpdate);
    expect(read.bytes.constructor).toBe(Uint8Array);
    expect([...read.bytes]).toEqual([...packed]);
    packed.fill(0); // the decoder's gather buffer is reused: nothing held may view it
    expect(read.read()).toEqual(alive);
    const plain = packUpdate(alive);
    expect((readInbound(plain) as PackedUpdate).bytes).toBe(plain); // a plain array is taken as it is
    const wire = decode(encode(toWire({ kind: "gossip", from: "y", updates: [{ ...alive, state: "dead", meta: undefined, sig: undefined }] }, { pack: true, lean: true, reads: false }))) as { updates: Uint8Array[] };
    const lean = Buffer.from(wire.updates[0]!);
    const death = readInbound(lean) as PackedUpdate;
    expect(death).toMatchObject({ id: "x", incarnation: 3, state: "dead" });
    expect(death.bytes.constructor).toBe(Uint8Array);
    expect(death.leanForm).not.toBeNull();
  });

  test("toWire packs only when asked, flags a reader's request, and leaves the message as it was", () => {
    const message = { kind: "gossip" as const, from: "a", updates: [alive] };
    expect(toWire(message, { pack: false, reads: false })).toEqual(message);
    const asked = toWire(message, { pack: false, reads: true });
    expect(asked).toEqual({ ...message, packed: true, lean: true });
    expect(wantsPacked(asked) && !wantsPacked(message)).toBe(true);
    const packed = toWire(message, { pack: true, reads: true }) as { updates: unknown[] };
    expect(packed.updates[0]).toBe(packUpdate(alive));
    expect(message.updates[0]).toBe(alive);
    const state = { kind: "push_pull" as const, from: "a", join: false, members: [alive] };
    expect((toWire(state, { pack: true, reads: false }) as { members: unknown[] }).members[0]).toBeInstanceOf(Uint8Array);
    // Both forms, mixed in one list, read back as the same updates.
    const read = readMessage(decode(encode({ ...message, updates: [alive, packUpdate({ ...alive, id: "z" })] })));
    expect(read?.malformed).toBe(0);
    expect(read?.message.kind === "gossip" && read.message.updates.map((u) => u.id)).toEqual(["x", "z"]);
  });

  test("old news in the packed form is dropped on its leading keys, its body never read", async () => {
    const { a } = holder();
    // Well laid out, but for a body no reader would take (a port that is not one).
    const broken = (incarnation: number) => rawMap([["id", "x"], ["incarnation", incarnation], ["state", "alive"], ["address", "10.0.0.9"], ["port", "nope"]]);
    const before = a.core.stats();
    await a.core.handle(gossip([broken(3), broken(2), rawMap([["id", "q"], ["incarnation", 1], ["state", "dead"], ["port", -1]])]));
    let after = a.core.stats();
    expect(after.updatesIgnored - before.updatesIgnored).toBe(3);
    expect(after.malformed).toBe(before.malformed);
    // News: the body is read, found malformed and counted; the member stays as it was.
    await a.core.handle(gossip([broken(4)]));
    after = a.core.stats();
    expect(after.malformed).toBe(before.malformed + 1);
    expect(a.core.member("x")).toMatchObject({ incarnation: 3, port: 9999 });
    // Well-formed news is applied.
    await a.core.handle(gossip([packUpdate({ ...alive, incarnation: 4, port: 9000 })]));
    expect(a.core.member("x")).toMatchObject({ incarnation: 4, port: 9000, meta });
  });

  test("malformed packed updates are counted, never thrown: garbage, a head that lies, another key order read whole", async () => {
    const { a } = holder();
    const before = a.core.stats().malformed;
    const lies = rawMap([["id", "x"], ["incarnation", 5], ["state", "alive"], ["address", "10.0.0.9"], ["port", 1], ["id", "w"]]);
    const garbage = [new Uint8Array(0), Uint8Array.of(0xc1), Uint8Array.of(0x85, 0xa2), rawMap([["id", ""], ["incarnation", 1], ["state", "alive"]]), rawMap([["id", "x"], ["incarnation", -1], ["state", "alive"]]), rawMap([["id", "x"], ["incarnation", 9], ["state", "gone"]])];
    const answer = await a.core.handle(gossip([...garbage, lies]));
    expect(answer?.kind).toBe("ack");
    expect(a.core.stats().malformed - before).toBe(garbage.length + 1);
    expect(a.core.member("w")).toBeUndefined();
    expect(a.core.member("x")?.incarnation).toBe(3);
    // Not in the peekable layout (state first): still a valid update, decoded whole.
    const reordered = rawMap([["state", "alive"], ["id", "v"], ["incarnation", 1], ["address", "10.0.0.7"], ["port", 7]]);
    expect(readInbound(reordered)).not.toBeInstanceOf(PackedUpdate);
    await a.core.handle(gossip([reordered]));
    expect(a.core.member("v")).toMatchObject({ state: "alive", port: 7 });
  });

  test("a packed update's body is read after its peeked keys, and whole when it names one of them again", () => {
    const body = (extra: Array<[string, unknown]> = []) => rawMap([["id", "x"], ["incarnation", 5], ["state", "suspect"], ["address", "10.0.0.9"], ["port", 9], ["meta", meta], ["sig", new Uint8Array([7, 8])], ["from", "y"], ...extra]);
    const read = readInbound(body()) as PackedUpdate;
    expect(read).toBeInstanceOf(PackedUpdate);
    expect(read.tail).toBeGreaterThan(0);
    expect(read.read()).toEqual({ id: "x", incarnation: 5, state: "suspect", address: "10.0.0.9", port: 9, meta, sig: new Uint8Array([7, 8]), from: "y" });
    // Read whole, as before: a later key repeating a peeked one with the same value passes, another value does not.
    expect((readInbound(body([["state", "suspect"]])) as PackedUpdate).read()).toMatchObject({ id: "x", state: "suspect", port: 9 });
    for (const extra of [[["id", "w"]], [["incarnation", 6]], [["state", "alive"]]] as Array<Array<[string, unknown]>>) {
      expect((readInbound(body(extra)) as PackedUpdate).read()).toBeNull();
    }
    // The rest validated as the map form is: a bad port, a missing address, a non-binary signature.
    expect((readInbound(rawMap([["id", "x"], ["incarnation", 5], ["state", "alive"], ["address", "h"], ["port", 0]])) as PackedUpdate).read()).toBeNull();
    expect((readInbound(rawMap([["id", "x"], ["incarnation", 5], ["state", "alive"], ["port", 1]])) as PackedUpdate).read()).toBeNull();
    expect((readInbound(rawMap([["id", "x"], ["incarnation", 5], ["state", "alive"], ["address", "h"], ["port", 1], ["sig", "s"]])) as PackedUpdate).read()).toBeNull();
    // A map that says it holds more entries than it has, or bytes past its last: malformed.
    const short = body();
    short[0] = 0x89;
    expect((readInbound(short) as PackedUpdate).read()).toBeNull();
    const long = new Uint8Array([...body(), 0xc0]);
    expect((readInbound(long) as PackedUpdate).read()).toBeNull();
  });

  test("claims in the packed form are checked as in the map form: a forged one is refused, a signed one taken", async () => {
    const claims = {
      sign: (claim: SwimClaim) => new TextEncoder().encode(`by:${claim.id}:${claim.incarnation}:${claim.port}`),
      verify: (claim: SwimClaim, sig: Uint8Array | undefined) => sig !== undefined && new TextDecoder().decode(sig) === `by:${claim.id}:${claim.incarnation}:${claim.port}`,
    };
    const { net, a, b } = await joinedPair({ claims });
    expect(net.converged()).toBe(true);
    expect(net.packedReceived).toBeGreaterThan(0);
    const forged: MemberUpdate = { id: "mallory", incarnation: 9, state: "alive", address: "10.0.0.66", port: 1 };
    const signed = { ...forged, sig: claims.sign(forged) };
    await a.core.handle(gossip([packUpdate(forged), packUpdate({ ...signed, port: 2 }), packUpdate({ ...forged, id: b.id, state: "left", incarnation: 50 })]));
    expect(a.core.member("mallory")).toBeUndefined();
    expect(a.core.stats().badClaims).toBe(3);
    expect(net.view(a, b)).toBe("alive");
    await a.core.handle(gossip([packUpdate(signed)]));
    expect(a.core.member("mallory")?.state).toBe("alive");
  });
});

describe("swim wire - peeked ids", () => {
  test("ids alike in the bytes the peek's cache hashes are each read as themselves, whatever came before", () => {
    // 64 characters (a node's id), equal at every byte the cache samples, different in between.
    const id = (c: string): string => `${"a".repeat(5)}${c}${"a".repeat(58)}`;
    const ids = [id("b"), id("c"), id("b"), id("d"), "x", id("c")];
    for (const [i, each] of ids.entries()) {
      const bytes = packUpdate({ id: each, incarnation: i, state: "alive", address: "10.0.0.1", port: 9000 });
      const read = readInbound(bytes.slice());
      expect(read).toBeInstanceOf(PackedUpdate);
      expect(read).toMatchObject({ id: each, incarnation: i });
    }
  });
});

describe("swim wire - a swarm in the middle of an upgrade", () => {
  test("old-form and new-form cores converge and detect a crash, and no old-form core ever receives a packed update", async () => {
    const net = new SimNetwork({}, 5);
    const nodes: SimNode[] = [];
    for (let i = 0; i < 12; i++) {
      const node = net.add();
      node.packs = i % 2 === 0; // the seed and every other node: new form
      nodes.push(node);
    }
    for (const node of nodes.slice(1)) void node.core.join({ id: nodes[0]!.id, address: "10.0.0.1", port: nodes[0]!.port });
    await net.runUntil(() => net.converged(), 60);
    expect(net.converged()).toBe(true);
    const [oldVictim, newVictim] = [nodes[3]!, nodes[4]!];
    net.kill(oldVictim);
    net.kill(newVictim);
    const rest = nodes.filter((n) => n.up);
    await net.runUntil(() => rest.every((n) => net.view(n, oldVictim) === "dead" && net.view(n, newVictim) === "dead"), 60);
    for (const n of rest) expect([net.view(n, oldVictim), net.view(n, newVictim)]).toEqual(["dead", "dead"]);
    // No false death on either side.
    for (const n of rest) for (const other of rest) if (other !== n) expect(n.changes.some(([id, s]) => id === other.id && s === "dead")).toBe(false);
    expect(net.packedReceived).toBeGreaterThan(0);
    expect(net.packedToOld).toBe(0);
  });
});

describe("swim wire - the gossip bridge", () => {
  /** A bridge whose peers' hellos all offered `features`; what it sends is recorded. */
  function bridge(features: Record<string, unknown>): { gossip: Gossip; calls: Array<{ endpoint: string; args: unknown[] }> } {
    const { host, calls } = fakeGossipHost("self", features);
    return { gossip: new Gossip(host, swimConfig({ heartbeatInterval: 1, heartbeatTimeout: 1, peerTimeout: 4, maxPeers: 10 })), calls };
  }

  test("a request goes packed only to a peer whose hello offered swim_packed, and always asks for a packed answer", async () => {
    for (const [features, packs] of [[{ [SWIM_FEATURE]: true }, false], [{ [SWIM_FEATURE]: true, [SWIM_PACKED_FEATURE]: true }, true]] as const) {
      const { gossip, calls } = bridge(features);
      gossip.start();
      try {
        await gossip.core!.join({ id: "p", address: "127.0.0.1", port: 2 }, 0.2);
        const sent = calls[0]!.args[0] as Record<string, unknown>;
        expect(sent).toMatchObject({ kind: "push_pull", from: "self", packed: true });
        const first = (sent.members as unknown[])[0];
        expect(first instanceof Uint8Array).toBe(packs);
        expect(packs ? (readInbound(first) as PackedUpdate).read() : first).toMatchObject({ id: "self", state: "alive" });
      } finally {
        gossip.stop();
      }
    }
  });

  test("an answer is packed only for a request that asked for it", async () => {
    const { gossip } = bridge({});
    gossip.start();
    try {
      const claim = { id: "s", incarnation: 1, state: "alive", address: "127.0.0.1", port: 4000, meta: { swarm: "lab", team: "default", name: "s", kind: "node", capabilities: [] } };
      const ask = (packed: boolean) => gossip.receive("push_pull", { kind: "push_pull", from: "s", join: false, members: [packed ? packUpdate(claim as MemberUpdate) : claim], ...(packed ? { packed } : {}) }, "127.0.0.1");
      const plain = (await ask(false)) as { members: unknown[] };
      expect(plain.members.every((m) => !(m instanceof Uint8Array))).toBe(true);
      const packed = (await ask(true)) as { members: unknown[] };
      expect(packed.members.length).toBe(plain.members.length);
      expect(packed.members.every((m) => m instanceof Uint8Array)).toBe(true);
      expect(gossip.owns("s")).toBe(true);
    } finally {
      gossip.stop();
    }
  });
});
