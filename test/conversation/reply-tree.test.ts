/**
 * The reply tree (hello feature `reply_tree`, docs/conversations.md#the-reply-tree): a broadcast's
 * origin sends the replies it got on down a tree of Bun peers; a tree call's receiver files them,
 * sends them on to its group and answers nothing; a failed call's group goes on from its caller;
 * older Bun peers and nodes with the tree off get every reply by the push-pull rounds.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { Client, kw } from "../../src/rpc/client.ts";
import { encode, encodeOwn } from "../../src/wire/codec.ts";
import { hasReplyItem, itemList } from "../../src/conversation/item-bytes.ts";
import { BinParts } from "../../src/wire/bin-parts.ts";
import { MAX_TREE_IDS, ReplyTree, TREE_FANOUT, cutPerGroup, groups, readTreeIds } from "../../src/conversation/reply-tree.ts";
import { toRefWire, type Item } from "../../src/conversation/batch-items.ts";
import type { Entry } from "../../src/conversation/item-memory.ts";
import { ENTRY_BYTES, VECTOR_VERSION, hintOf } from "../../src/security/mac-vector.ts";
import { EndpointError } from "../../src/errors.ts";
import type { Node } from "../../src/node.ts";
import type { Peer } from "../../src/types.ts";
import { broadcastWithReplies, mesh, remoteError, startNode, stopAll, swarm, until, withoutHelloFeature } from "./swarm.ts";
import { originalRefusal } from "../../src/wire/protocol.ts";
import { PythonNode } from "../interop/python-node.ts";
import { PythonBadRequest } from "../helpers/python-like-server.ts";
import type { CallContext } from "../../src/rpc/endpoints.ts";

afterEach(stopAll);

const BATCH = "_synapse.conversation.batch";

type Served = { node: string; items: unknown; from: unknown; tree: unknown };

/** Record every batch `node` serves (its items, caller and `tree`) into `into`. */
function logBatches(node: Node, into: Served[]): void {
  const endpoint = node.endpoints.get(BATCH)!;
  const serve = endpoint.handler;
  endpoint.handler = (...args: unknown[]) => {
    const [items, from, , , , tree] = args; // (items, from, have, refs, window, tree, context)
    into.push({ node: node.name, items, from, tree });
    return serve(...args);
  };
}

/** `n` fake peers p0..p(n-1). */
function fakePeers(n: number): Peer[] {
  return Array.from({ length: n }, (_, i) => ({ id: `p${i}`, address: "127.0.0.1", port: 1000 + i, swarm: "conv", team: "default", name: `p${i}`, kind: "node", capabilities: [], last_seen: 1 }));
}

describe("reply tree - groups and ids", () => {
  test("groups split the members into at most 16 groups of consecutive peers, each member once", () => {
    for (const n of [1, 2, 15, 16, 17, 19, 33, 199, 256, 257, 1000]) {
      const members = Array.from({ length: n }, (_, i) => i);
      const split = groups(members);
      expect(split.length).toBeLessThanOrEqual(TREE_FANOUT);
      expect(split.flatMap((g) => [g.head, ...g.rest])).toEqual(members);
      // Up to 16 members each is a group of its own (the origin calls every one).
      if (n <= TREE_FANOUT) expect(split.every((g) => g.rest.length === 0)).toBe(true);
      // Groups differ in size by one at most but the last.
      const sizes = split.map((g) => g.rest.length + 1);
      expect(Math.max(...sizes.slice(0, -1), sizes.at(-1)!)).toBe(Math.ceil(n / TREE_FANOUT));
    }
    expect(groups([])).toEqual([]);
  });

  test("a tree is a list of node ids; anything else is refused with bad_request", () => {
    expect(readTreeIds([])).toEqual([]);
    expect(readTreeIds(["a".repeat(64), "b"])).toEqual(["a".repeat(64), "b"]);
    for (const bad of ["x", 7, {}, [1], [""], ["x".repeat(257)], new Array(MAX_TREE_IDS + 1).fill("a")]) {
      let error: unknown = null;
      try {
        readTreeIds(bad);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(EndpointError);
      expect((error as EndpointError).code).toBe("bad_request");
    }
  });

  test("a peer takes the tree when it offered every feature of the form; false as soon as one is known lacking, null before its hello", () => {
    type Offer = boolean | null;
    const offers = new Map<string, [Offer, Offer, Offer, Offer]>(); // reply_tree, item_bytes, reply_ref, mac
    const asked = (i: number) => (peer: Pick<Peer, "address" | "port">) => offers.get(`${peer.port}`)![i]!;
    const tree = new ReplyTree({ call: async () => ({}), replyTree: asked(0), itemBytes: asked(1), replyRefs: asked(2), macs: asked(3) }, () => "self", () => undefined, { batchesSent: 0, eventsForwarded: 0 });
    const cases: Array<[[Offer, Offer, Offer, Offer], boolean, boolean | null]> = [
      [[true, true, true, true], true, true],
      [[true, true, true, false], true, false],
      [[true, true, true, false], false, true], // no MACs to carry: its mac does not matter
      [[true, true, true, null], true, null],
      [[null, null, null, null], true, null],
      [[false, null, null, null], true, false],
      [[null, true, false, true], true, false],
      [[true, null, true, true], false, null],
    ];
    for (const [offered, macs, expected] of cases) {
      const peer = { ...fakePeers(1)[0]!, port: 2000 + offers.size };
      offers.set(`${peer.port}`, offered);
      expect([offered, macs, tree.takes(peer, macs)]).toEqual([offered, macs, expected]);
    }
    // A host that cannot tell a feature (no such method) never has it confirmed.
    expect(new ReplyTree({ call: async () => ({}) }, () => "self", () => undefined, { batchesSent: 0, eventsForwarded: 0 }).takes(fakePeers(1)[0]!, false)).toBe(null);
  });

  test("a call that fails sends its group on from the caller, each peer called once", async () => {
    const calls: Array<{ to: string; tree: string[] }> = [];
    const work: Promise<unknown>[] = [];
    const stats = { batchesSent: 0, eventsForwarded: 0 };
    const tree = new ReplyTree(
      {
        call: async (peer, _endpoint, _args, kwargs) => {
          const id = (peer as Peer).id;
          calls.push({ to: id, tree: kwargs.tree as string[] });
          if (id === "p0" || id === "p3") throw new Error("down");
          return { items: [] };
        },
      },
      () => "self",
      (w) => void work.push(w),
      stats,
    );
    // 40 peers: groups of 3 (p0 heads p1 and p2, p3 heads p4 and p5, ...).
    tree.send(new Uint8Array(0), 5, fakePeers(40));
    while (work.length > 0) await Promise.all(work.splice(0));
    expect(tree.inFlight).toBe(0);
    const heads = calls.filter((c) => c.to === "p0" || c.to === "p3");
    expect(heads).toEqual([
      { to: "p0", tree: ["p1", "p2"] },
      { to: "p3", tree: ["p4", "p5"] },
    ]);
    // The 14 heads (p0, p3, ..., p39), then the peers behind the two that failed, each called once from here.
    const heads14 = fakePeers(40).filter((_, i) => i % 3 === 0).map((p) => p.id);
    expect(calls.map((c) => c.to).sort()).toEqual([...heads14, "p1", "p2", "p4", "p5"].sort());
    for (const id of ["p1", "p2", "p4", "p5"]) expect(calls.find((c) => c.to === id)!.tree).toEqual([]);
    expect(stats.batchesSent).toBe(18);
    expect(stats.eventsForwarded).toBe(5 * 18);
    // A lone peer whose call fails (one not connected yet that refuses `tree`: an older Bun node) is handed back.
    const refused: string[] = [];
    tree.send(new Uint8Array(0), 5, [fakePeers(1)[0]!], { refused: (peer) => void refused.push(peer.id) });
    while (work.length > 0) await Promise.all(work.splice(0));
    expect(refused).toEqual(["p0"]);
  });

  test("ids passed on behind a failed call are not lost: they go with its group sent on, or to the next head that answers", async () => {
    const calls: Array<{ to: string; tree: string[]; items: unknown }> = [];
    const work: Promise<unknown>[] = [];
    let down = new Set<string>();
    const stats = { batchesSent: 0, eventsForwarded: 0 };
    const tree = new ReplyTree(
      {
        call: async (peer, _endpoint, args, kwargs) => {
          const id = (peer as Peer).id;
          calls.push({ to: id, tree: kwargs.tree as string[], items: args[0] });
          if (down.has(id)) throw new Error("down");
          return { items: [] };
        },
      },
      () => "self",
      (w) => void work.push(w),
      stats,
    );
    const settle = async () => {
      while (work.length > 0) await Promise.all(work.splice(0));
    };
    const passOn = ["x1", "x2"];
    const named = () => calls.filter((c) => c.tree.includes("x1")).map((c) => c.to);

    // Lone heads (a relay's group of three): p0 fails, p1 fails too, p2 gets the names in a call of their own.
    down = new Set(["p0", "p1"]);
    tree.send(new Uint8Array(0), 2, fakePeers(3), { passOn });
    await settle();
    expect(named()).toEqual(["p0", "p1", "p2"]);
    expect(calls.filter((c) => c.to === "p2").map((c) => c.tree)).toEqual([[], passOn]);
    expect(calls.length).toBe(5);
    expect(stats.batchesSent).toBe(5);
    expect(stats.eventsForwarded).toBe(2 * 5);
    expect(tree.inFlight).toBe(0);

    // Every head fails: the names are left to their pulls, and no call more is made.
    calls.length = 0;
    down = new Set(["p0", "p1", "p2"]);
    tree.send(new Uint8Array(0), 2, fakePeers(3), { passOn });
    await settle();
    expect(named()).toEqual(["p0", "p1", "p2"]);
    expect(calls.length).toBe(5);

    // A lone peer alone: nobody to hand them to.
    calls.length = 0;
    tree.send(new Uint8Array(0), 2, fakePeers(1), { passOn });
    await settle();
    expect(calls.map((c) => c.to)).toEqual(["p0"]);

    // A head with a group (groups of 3 at 40 peers): its group goes on from here, the names behind its first call.
    calls.length = 0;
    down = new Set(["p0"]);
    tree.send(new Uint8Array(0), 2, fakePeers(40), { passOn });
    await settle();
    expect(calls.filter((c) => c.tree.length > 0 && c.tree.includes("x1")).map((c) => [c.to, c.tree])).toEqual([
      ["p0", ["p1", "p2", ...passOn]],
      ["p1", [...passOn]],
    ]);

    // With items cut per group, the head handed the names gets its own group's cut.
    calls.length = 0;
    down = new Set(["p0"]);
    const cuts: string[][] = [];
    const cut = (group: readonly Peer[]) => {
      cuts.push(group.map((p) => p.id));
      return new BinParts([new Uint8Array([group.length])]);
    };
    tree.send(new Uint8Array(0), 2, fakePeers(2), { passOn, cut });
    await settle();
    expect(cuts).toEqual([["p0"], ["p1"], ["p1"]]);
    expect(calls.map((c) => [c.to, c.tree])).toEqual([
      ["p0", passOn],
      ["p1", []],
      ["p1", passOn],
    ]);
  });
});

/** A vector with one entry per id in `ids` (hint, then a tag of 16 bytes of `fill`, then its index). */
function vectorFor(ids: string[], fill = 7): Uint8Array {
  const v = new Uint8Array(1 + ids.length * ENTRY_BYTES);
  v[0] = VECTOR_VERSION;
  ids.forEach((id, i) => {
    new DataView(v.buffer).setUint32(1 + i * ENTRY_BYTES, hintOf(id));
    v.fill(fill, 1 + i * ENTRY_BYTES + 4, 1 + (i + 1) * ENTRY_BYTES);
    v[(i + 1) * ENTRY_BYTES] = i;
  });
  return v;
}

/** The hints of a vector's entries, in order. */
function hintsIn(vector: Uint8Array): number[] {
  const view = new DataView(vector.buffer, vector.byteOffset, vector.byteLength);
  return Array.from({ length: (vector.length - 1) / ENTRY_BYTES }, (_, i) => view.getUint32(1 + i * ENTRY_BYTES));
}

describe("reply tree - MACs cut to each group", () => {
  const hex = (i: number) => i.toString(16).padStart(2, "0").repeat(32);
  const ids = Array.from({ length: 12 }, (_, i) => hex(i + 1));
  const peer = (id: string): Peer => ({ ...fakePeers(1)[0]!, id, name: id.slice(0, 4) });
  const reply = (replier: string, mac?: Uint8Array): Item => ({ kind: "reply", nonce: "n".repeat(32), peer: peer(replier), result: { from: replier.slice(0, 4) }, sig: new Uint8Array(64).fill(9), mac: mac ?? null });
  const entry = (item: Item) => ({ item }) as Entry;
  const wireOf = (bytes: Uint8Array) => itemList(bytes) as Array<{ reply: { peer_id: string; mac?: Uint8Array } }>;

  test("each group gets every reply with the entries of its own members alone, in one bin the receivers read as usual", () => {
    // Replier 0 tagged everyone; replier 1 tagged ids 4 to 11 only; replier 2 made no MACs.
    const items = [reply(ids[0]!, vectorFor(ids.slice(1))), reply(ids[1]!, vectorFor(ids.slice(4))), reply(ids[2]!)];
    const parts = items.map((item) => encodeOwn(toRefWire(item)));
    const cut = cutPerGroup(items.map(entry), parts)!;
    expect(cut).not.toBeNull();
    const group = [peer(ids[5]!), peer(ids[2]!), peer(ids[0]!)];
    const sent = cut(group);
    const got = wireOf(sent.bytes());
    expect(got.map((w) => w.reply.peer_id)).toEqual([ids[0], ids[1], ids[2]]);
    // Replier 0's vector: the entries of ids 5 and 2 (not its own id 0, which it never tags), in the group's order, tags untouched.
    const full = items[0]!.mac!;
    expect(hintsIn(got[0]!.reply.mac!)).toEqual([hintOf(ids[5]!), hintOf(ids[2]!)]);
    expect(Array.from(got[0]!.reply.mac!.subarray(1, 21))).toEqual(Array.from(full.subarray(1 + 4 * ENTRY_BYTES, 1 + 5 * ENTRY_BYTES)));
    // Replier 1 tagged only id 5 of this group; replier 2's item is as it was.
    expect(hintsIn(got[1]!.reply.mac!)).toEqual([hintOf(ids[5]!)]);
    expect(got[2]!.reply.mac).toBeUndefined();
    expect(sent.parts.at(-1)).toBe(parts[2]!);
    // Far fewer bytes than the whole vectors: 3 entries of 20 bytes instead of 19.
    expect(sent.length).toBe(parts.reduce((n, p) => n + p.length, 0) - (11 + 8 - 3) * ENTRY_BYTES);
  });

  test("a reply with no entry for a group goes without mac (no vector of no entry), one whose bytes do not end in its vector goes whole", () => {
    const tagged = reply(ids[0]!, vectorFor(ids.slice(6)));
    const foreign = reply(ids[1]!, vectorFor(ids.slice(2)));
    // Bytes in another key order (mac before result): not the form this node encodes; sent as they are.
    const r = toRefWire(foreign) as { reply: Record<string, unknown> };
    const reordered = encodeOwn({ reply: { mac: r.reply.mac, nonce: r.reply.nonce, peer_id: r.reply.peer_id, result: r.reply.result, sig: r.reply.sig } });
    const cut = cutPerGroup([entry(tagged), entry(foreign)], [encodeOwn(toRefWire(tagged)), reordered])!;
    const got = wireOf(cut([peer(ids[2]!), peer(ids[3]!)]).bytes());
    expect(got[0]!.reply.peer_id).toBe(ids[0]!);
    expect(got[0]!.reply.mac).toBeUndefined();
    expect(got[1]!.reply.mac!.length).toBe(1 + 10 * ENTRY_BYTES);
    // Nothing to cut at all: null, and the tree sends the round's bytes as they are.
    expect(cutPerGroup([entry(reply(ids[0]!))], [encodeOwn(toRefWire(reply(ids[0]!)))])).toBeNull();
    // Two entries sharing a hint (hints may collide): that vector is not cut.
    const twin = reply(ids[3]!, vectorFor([ids[4]!, ids[4]!, ids[5]!]));
    const twinBytes = encodeOwn(toRefWire(twin));
    expect(cutPerGroup([entry(twin)], [twinBytes])).toBeNull();
  });
});

describe("reply tree - between Bun nodes", () => {
  test("the origin sends the replies down the tree: every node has every reply, each got them in tree calls, and no round pushes a reply", async () => {
    // 20 nodes: the origin's 19 peers make 10 groups (a head and one behind it, the last alone).
    const nodes = await swarm(20);
    const served: Served[] = [];
    for (const node of nodes) logBatches(node, served);
    const hello = await new Client("127.0.0.1", nodes[0]!.port).call<Record<string, unknown>>("_synapse.hello", { features: ["multiplex"] });
    expect(hello.reply_tree).toBe(true);
    // The first broadcast opens the connections (a peer the origin is not connected to yet gets a
    // tree call of its own, and one that fails gets a plain batch call); the second is looked at.
    await broadcastWithReplies(nodes);
    served.length = 0;
    await broadcastWithReplies(nodes);
    const treeCalls = served.filter((s) => s.tree !== undefined && s.tree !== null);
    for (const node of nodes.slice(1)) expect(treeCalls.some((s) => s.node === node.name)).toBe(true);
    // A group is at most what the origin split off: one behind each head here.
    for (const s of treeCalls) expect((s.tree as string[]).length).toBeLessThanOrEqual(1);
    // The repliers remember their replies for pulls; no call but the tree's carries a reply.
    expect(served.filter((s) => (s.tree === undefined || s.tree === null) && hasReplyItem(s.items))).toEqual([]);
    // Each reply's MACs travel cut to the group the origin split off (a head and the one behind it):
    // at most two entries, where the whole vector holds one for each of the replier's 19 other nodes.
    const macs = treeCalls.flatMap((s) => itemList(s.items).map((item) => (item as { reply: { mac?: Uint8Array } }).reply.mac));
    expect(macs.length).toBeGreaterThan(0);
    for (const mac of macs) expect(mac === undefined || mac.length <= 1 + 2 * ENTRY_BYTES).toBe(true);
    expect(macs.some((mac) => mac !== undefined)).toBe(true);
    // Each reply crosses each link once: no node got one reply in two tree calls.
    for (const node of nodes.slice(1)) {
      const repliers = treeCalls.filter((s) => s.node === node.name).flatMap((s) => itemList(s.items).map((item) => (item as { reply: { peer_id: string } }).reply.peer_id));
      expect(repliers.length).toBeGreaterThan(0);
      expect(new Set(repliers).size).toBe(repliers.length);
    }
  });

  test("a node whose tree calls fail still gets every reply, by its pulls", async () => {
    const nodes = await swarm(8);
    const broken = nodes[3]!;
    const endpoint = broken.endpoints.get(BATCH)!;
    const serve = endpoint.handler;
    let refused = 0;
    endpoint.handler = (...args: unknown[]) => {
      const tree = args[5];
      if (tree !== undefined && tree !== null) {
        refused++;
        throw new Error("not now");
      }
      return serve(...args);
    };
    await broadcastWithReplies(nodes);
    expect(refused).toBeGreaterThan(0);
  });

  test("an older Bun peer (no reply_tree) gets no tree call and every reply, by the rounds", async () => {
    const nodes: Node[] = [];
    for (let i = 0; i < 6; i++) nodes.push(await startNode({ name: `n${i}`, swarm: "conv", heartbeatInterval: null }));
    const old = nodes[4]!;
    withoutHelloFeature(old, "reply_tree");
    await mesh(nodes);
    const served: Served[] = [];
    for (const node of nodes) logBatches(node, served);
    await broadcastWithReplies(nodes);
    expect(served.some((s) => s.node === old.name && s.tree !== undefined && s.tree !== null)).toBe(false);
    expect(served.some((s) => s.tree !== undefined && s.tree !== null)).toBe(true);
  });

  test("an origin with the tree off: its repliers push their replies, and every reply reaches every node", async () => {
    const nodes: Node[] = [];
    for (let i = 0; i < 5; i++) nodes.push(await startNode({ name: `n${i}`, swarm: "conv", heartbeatInterval: null, conversationReplyTree: i > 0 }));
    await mesh(nodes);
    const served: Served[] = [];
    for (const node of nodes) logBatches(node, served);
    await broadcastWithReplies(nodes);
    expect(served.some((s) => s.tree !== undefined && s.tree !== null)).toBe(false);
    expect(served.some((s) => hasReplyItem(s.items))).toBe(true);
  });

  test("conversationReplyTree: false: not offered, no tree call, every reply everywhere by the rounds", async () => {
    const nodes = await swarm(5, { conversationReplyTree: false });
    const served: Served[] = [];
    for (const node of nodes) logBatches(node, served);
    const hello = await new Client("127.0.0.1", nodes[0]!.port).call<Record<string, unknown>>("_synapse.hello", { features: ["multiplex"] });
    expect(hello.reply_tree).toBeUndefined();
    await broadcastWithReplies(nodes);
    expect(served.some((s) => s.tree !== undefined && s.tree !== null)).toBe(false);
    await expect(startNode({ conversationReplyTree: "yes" as unknown as boolean })).rejects.toThrow("conversationReplyTree must be true or false");
  });

  test("a tree call: its receiver sends the items on to the group it names (an id it does not know named behind the first call), files them, and answers no items", async () => {
    const nodes = await swarm(4);
    const [a, b, c, d] = nodes as [Node, Node, Node, Node];
    const served: Served[] = [];
    for (const node of nodes) logBatches(node, served);
    const stranger: Peer = { id: "s".repeat(64), address: "127.0.0.1", port: 1, swarm: "conv", team: "default", name: "stranger", kind: "node", capabilities: [], last_seen: 1 };
    const event = { conversation_id: "c-tree", event_id: "e-tree", kind: "note", peer: stranger, payload: {}, parent_id: null, created_at: Date.now() / 1000, metadata: {} };
    const items = encode({ event });
    const client = new Client("127.0.0.1", a.port);
    const answer = await client.call<{ items: unknown }>(BATCH, items, kw({ from: d.id, refs: true, tree: [b.id, c.id, "unknown-node"] }));
    expect(answer.items).toEqual(new Uint8Array(0));
    for (const node of [a, b, c]) await until(async () => (await node.conversation("c-tree")).length === 1, 5000, `${node.name} got the event`);
    // b and c got it in tree calls from a, b with the id a does not know behind it (b knows it no
    // better: nobody is called for it); d, not in the group, got none.
    const treeCalls = served.filter((s) => s.tree !== undefined && s.tree !== null);
    expect(treeCalls.map((s) => [s.node, s.from, s.tree]).sort()).toEqual([
      ["n0", d.id, [b.id, c.id, "unknown-node"]],
      ["n1", a.id, ["unknown-node"]],
      ["n2", a.id, []],
    ]);
  });

  test("a relay that does not know a peer of its group names it behind a call to one that may: the peer gets the items", async () => {
    const nodes = await swarm(3);
    const [a, b] = nodes as [Node, Node, Node];
    // d is known to b alone (as a relay's view of the swarm may lag the origin's).
    const d = await startNode({ name: "d", swarm: "conv", heartbeatInterval: null });
    b.membership.table.upsert(d.toPeer(), "gossip");
    expect(a.peers.has(d.id)).toBe(false);
    const served: Served[] = [];
    for (const node of [...nodes, d]) logBatches(node, served);
    const stranger: Peer = { id: "s".repeat(64), address: "127.0.0.1", port: 1, swarm: "conv", team: "default", name: "stranger", kind: "node", capabilities: [], last_seen: 1 };
    const event = { conversation_id: "c-pass", event_id: "e-pass", kind: "note", peer: stranger, payload: {}, parent_id: null, created_at: Date.now() / 1000, metadata: {} };
    await new Client("127.0.0.1", a.port).call(BATCH, encode({ event }), kw({ from: nodes[2]!.id, refs: true, tree: [b.id, d.id] }));
    await until(async () => (await d.conversation("c-pass")).length === 1, 5000, "d got the event");
    const treeCalls = served.filter((s) => s.tree !== undefined && s.tree !== null && s.node !== "n0");
    expect(treeCalls.map((s) => [s.node, s.from, s.tree]).sort()).toEqual([
      ["d", b.id, []],
      ["n1", a.id, [d.id]],
    ]);
  });

  test("a tree call naming a Python node the relay knows: the pool refuses the batch unsent, the rest of the tree gets the items", async () => {
    const nodes = await swarm(3);
    const [a, b, c] = nodes as [Node, Node, Node];
    // A Python node a knows but never called: a tree call naming it (a mistaken or forged list)
    // makes a call its hello refuses first.
    const py = new PythonNode({ swarm: "conv", name: "py" }).start();
    a.membership.table.upsert(py.self(), "gossip");
    const served: Served[] = [];
    for (const node of nodes) logBatches(node, served);
    const stranger: Peer = { id: "s".repeat(64), address: "127.0.0.1", port: 1, swarm: "conv", team: "default", name: "stranger", kind: "node", capabilities: [], last_seen: 1 };
    const event = { conversation_id: "c-py", event_id: "e-py", kind: "note", peer: stranger, payload: {}, parent_id: null, created_at: Date.now() / 1000, metadata: {} };
    await new Client("127.0.0.1", a.port).call(BATCH, encode({ event }), kw({ from: c.id, refs: true, tree: [py.id, b.id] }));
    await until(async () => (await b.conversation("c-py")).length === 1, 5000, "b got the event");
    await until(async () => py.server.log.some((r) => r.endpoint === "_synapse.hello"), 5000, "the relay said hello to the Python node");
    await a.conversationLayer.flush();
    expect(py.server.requestsFor(BATCH)).toEqual([]);
    expect(py.server.log.map((r) => r.endpoint)).not.toContain(BATCH);
    expect(served.some((s) => s.node === "n1" && s.from === a.id && Array.isArray(s.tree))).toBe(true);
  });

  test("a peer the origin is not connected to yet: a Python one gets no batch call, a Bun one the replies in a tree call once its hello is known", async () => {
    const nodes = await swarm(3);
    const [origin, r1, r2] = nodes as [Node, Node, Node];
    // A Bun node and a Python node the origin knows (as from a peer list) but never called, each
    // slow to answer the hello its first call opens: when the origin's round sends the replies on,
    // it knows neither's features yet.
    const late = await startNode({ name: "late", swarm: "conv", heartbeatInterval: null });
    await late.join({ seeds: [`127.0.0.1:${r1.port}`] });
    const hello = late.endpoints.get("_synapse.hello")!;
    const answer = hello.handler;
    hello.handler = async (...args: unknown[]) => {
      await Bun.sleep(300);
      return answer(...args);
    };
    const py = new PythonNode({ swarm: "conv", name: "py" }).start();
    py.server.endpoint("_synapse.hello", async () => {
      await Bun.sleep(300);
      throw new PythonBadRequest("Unregistered endpoint called: _synapse.hello");
    });
    for (const peer of [late.toPeer(), py.self()]) origin.membership.table.upsert(peer, "gossip");
    const served: Served[] = [];
    logBatches(late, served);
    for (const r of [r1, r2, late]) r.endpoint("q", (ctx: CallContext) => void r.reply(ctx.broadcast!, { from: r.name }));
    const b = await origin.broadcast("q");
    await until(async () => (await Promise.all([origin, r1, r2, late].map(async (n) => (await n.replies(b)).length))).every((c) => c === 3), 10_000, "every Bun reply at every Bun node");
    await origin.conversationLayer.flush();
    // The Python node was sent calls it knows alone (the hello it fails, pings, the broadcast's own endpoint).
    expect(py.server.requestsFor(BATCH)).toEqual([]);
    const endpoints = py.server.log.map((r) => r.endpoint);
    expect(endpoints).toContain("_synapse.hello");
    expect(endpoints).toContain("_synapse.ping");
    expect(py.server.log.filter((r) => r.endpoint !== "_synapse.hello" && originalRefusal(r.endpoint, r.args, r.kwargs) !== null)).toEqual([]);
    // The Bun node got the origin's replies in a tree call of its own, made once its hello was known.
    expect(served.some((s) => s.from === origin.id && Array.isArray(s.tree) && hasReplyItem(s.items))).toBe(true);
  });

  test("a malformed tree is refused with bad_request, nothing of the batch taken", async () => {
    const [a] = await swarm(2);
    const client = new Client("127.0.0.1", a!.port);
    for (const tree of ["x", [7], [""]]) {
      const error = await remoteError(client.call(BATCH, new Uint8Array(0), kw({ from: "x", tree })));
      expect(error.code).toBe("bad_request");
    }
  });
});
