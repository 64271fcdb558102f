/**
 * Membership checksums (`swim-sum.ts`): a node that keeps meeting another checksum, its own set of
 * live members unchanged, exchanges digests with a peer that holds it, and so gets what gossip left it without long before the periodic exchange; views
 * that agree send nothing more; views that cannot agree back off; nothing is sent to a peer that
 * does not read checksums.
 */
import { describe, expect, test } from "bun:test";
import { idHash } from "../../src/membership/swim-digest.ts";
import { isSum, memberMix, SumExchanges } from "../../src/membership/swim-sum.ts";
import { SwimCore } from "../../src/membership/swim.ts";
import { readMessage } from "../../src/membership/swim-wire.ts";
import type { MemberUpdate, SwimAnswer, SwimMessage, SwimPorts } from "../../src/membership/swim-types.ts";
import { SimClock, SimNetwork, type SimNode } from "./swim-sim.ts";

const READS_SUM: Partial<SwimPorts> = { readsSum: () => true };
/** No periodic full exchange within these tests' minutes: only the checksums can fill a gap. */
const NO_PUSH_PULL = { pushPullInterval: 100_000 };

const exchanges = (nodes: SimNode[]): number => nodes.reduce((n, node) => n + node.core.stats().sumExchanges, 0);

/** `count` nodes joined through the first and settled (10 quiet virtual seconds after all see all). */
async function settled(count: number, extra: Partial<SwimPorts>, config: Parameters<SimNetwork["add"]>[1] = {}): Promise<SimNetwork> {
  const net = new SimNetwork(NO_PUSH_PULL);
  const first = net.add(extra);
  for (let i = 1; i < count; i++) void net.add(extra, config).core.join({ id: first.id, address: "10.0.0.1", port: first.port });
  await net.runUntil(() => net.converged(), 30);
  expect(net.converged()).toBe(true);
  await net.clock.run(10);
  return net;
}

/**
 * Four settled nodes; a fifth joins while the fourth is cut off from everyone, and the cut heals
 * 2.5 s later, once the newcomer's news has stopped going round (it is sent a few times only). The
 * fourth has missed it: nothing that gossip still carries names the newcomer.
 */
async function missedJoin(extra: Partial<SwimPorts>): Promise<{ net: SimNetwork; lacking: SimNode; late: SimNode }> {
  const net = await settled(4, extra);
  const lacking = net.nodes[3]!;
  for (const other of net.nodes) if (other !== lacking) net.link(lacking, other, true);
  const late = net.add(extra);
  net.link(lacking, late, true);
  void late.core.join({ id: net.nodes[0]!.id, address: "10.0.0.1", port: net.nodes[0]!.port });
  await net.clock.run(2.5);
  for (const other of net.nodes) if (other !== lacking) net.link(lacking, other, false);
  expect(net.view(lacking, late)).toBeUndefined();
  return { net, lacking, late };
}

/** The checksum `core` answers a ping that carried one with. */
async function sumOf(core: SwimCore, from = "probe"): Promise<number> {
  const answer = (await core.handle({ kind: "ping", from, target: core.id, updates: [], sum: 0 })) as SwimAnswer;
  expect(answer.kind).toBe("ack");
  return (answer as { sum?: number }).sum!;
}

describe("membership checksums", () => {
  test("a node that missed a join learns of it from a differing checksum within seconds; without checksums it had not a minute later", async () => {
    const { net, lacking, late } = await missedJoin(READS_SUM);
    const took = await net.runUntil(() => net.converged(), 60);
    expect(net.view(lacking, late)).toBe("alive");
    expect(took).toBeLessThan(6);
    expect(exchanges(net.nodes)).toBeGreaterThan(0);
    // Then the views agree, and no more exchanges are made.
    const sums = await Promise.all(net.nodes.map((n) => sumOf(n.core)));
    expect(new Set(sums).size).toBe(1);
    const made = exchanges(net.nodes);
    await net.clock.run(60);
    expect(exchanges(net.nodes)).toBe(made);

    const old = await missedJoin({});
    await old.net.runUntil(() => old.net.converged(), 60);
    expect(old.net.view(old.lacking, old.late)).toBeUndefined();
    expect(exchanges(old.net.nodes)).toBe(0);
  });

  test("a settled swarm's views have one checksum, and make no exchange", async () => {
    const net = await settled(8, READS_SUM);
    const sums = await Promise.all(net.nodes.map((n) => sumOf(n.core)));
    expect(new Set(sums).size).toBe(1);
    const before = exchanges(net.nodes);
    await net.clock.run(120);
    expect(exchanges(net.nodes)).toBe(before);
  });

  test("views that cannot agree (a node that may hold two members only) back off: a few exchanges in ten minutes, not one every two seconds", async () => {
    const net = await settled(5, READS_SUM);
    const small = net.add(READS_SUM, { maxMembers: 2 });
    void small.core.join({ id: net.nodes[0]!.id, address: "10.0.0.1", port: net.nodes[0]!.port });
    await net.clock.run(30);
    const before = exchanges(net.nodes);
    await net.clock.run(600);
    // Each node's gap doubles from 2 s (the periodic exchange's interval caps it, set far away
    // here): 8 exchanges a node over the ten minutes, against 300 at one every two seconds.
    const made = exchanges(net.nodes) - before;
    expect(made).toBeGreaterThan(0);
    expect(made).toBeLessThan(6 * 30);
    for (const node of net.nodes) expect(node.core.stats().sumExchanges).toBeLessThan(40);
  });

  test("the checksum is the set of members held alive or suspect, in any order and at any incarnation; a death takes one out, its refutation puts it back", async () => {
    const clock = new SimClock();
    const ports = (): SwimPorts => ({ now: () => clock.now, schedule: (d, fn) => clock.schedule(d, fn), send: () => new Promise(() => {}) });
    const a = new SwimCore({ id: "a", address: "10.0.0.1", port: 1, incarnation: 5 }, ports(), { probeInterval: 1_000 });
    const b = new SwimCore({ id: "b", address: "10.0.0.1", port: 2, incarnation: 5 }, ports(), { probeInterval: 1_000 });
    a.start();
    b.start();
    const claim = (id: string, incarnation: number): MemberUpdate => ({ id, incarnation, state: "alive", address: "10.0.0.1", port: 100 + id.charCodeAt(0), meta: { name: id } });
    // a knows b and x, y; b knows a and y, x (learnt in the other order, x at a later incarnation).
    a.learn(claim("b", 5));
    a.learn(claim("x", 1));
    a.learn(claim("y", 2));
    b.learn(claim("y", 2));
    b.learn(claim("x", 3));
    b.learn(claim("a", 5));
    const together = await sumOf(a);
    expect(await sumOf(b)).toBe(together);
    expect(together).toBe((memberMix("a") ^ memberMix("b") ^ memberMix("x") ^ memberMix("y")) >>> 0);
    // A suspicion is not a verdict: the same sum.
    await a.handle({ kind: "gossip", from: "b", updates: [{ ...claim("x", 1), state: "suspect", from: "b" }] });
    expect(a.member("x")?.state).toBe("suspect");
    expect(await sumOf(a)).toBe(together);
    // A death takes x out; x's refutation (a new incarnation) puts it back.
    await a.handle({ kind: "gossip", from: "b", updates: [{ ...claim("x", 1), state: "dead", from: "b" }] });
    expect(a.member("x")?.state).toBe("dead");
    expect(await sumOf(a)).toBe((together ^ memberMix("x")) >>> 0);
    await a.handle({ kind: "gossip", from: "b", updates: [claim("x", 2)] });
    expect(a.member("x")?.state).toBe("alive");
    expect(await sumOf(a)).toBe(together);
    a.stop();
    b.stop();
  });

  test("only to peers that read them: requests carry the checksum where the port says so, and an ack only when the request had one", async () => {
    const clock = new SimClock();
    const sent: SwimMessage[] = [];
    const core = new SwimCore({ id: "a", address: "10.0.0.1", port: 1 }, {
      now: () => clock.now,
      schedule: (d, fn) => clock.schedule(d, fn),
      send: async (to, message) => {
        sent.push(message);
        return { kind: "ack", from: to.id, updates: [] };
      },
      readsSum: (to) => to.port === 2,
    });
    core.start();
    core.learn({ id: "b", incarnation: 1, state: "alive", address: "10.0.0.1", port: 2 });
    core.learn({ id: "c", incarnation: 1, state: "alive", address: "10.0.0.1", port: 3 });
    await clock.run(5);
    const toB = sent.filter((m) => m.kind !== "push_pull" && "target" in m && m.target === "b");
    const toC = sent.filter((m) => m.kind !== "push_pull" && "target" in m && m.target === "c");
    expect(toB.length).toBeGreaterThan(0);
    expect(toC.length).toBeGreaterThan(0);
    expect(toB.every((m) => isSum((m as { sum?: unknown }).sum))).toBe(true);
    expect(toC.every((m) => (m as { sum?: unknown }).sum === undefined)).toBe(true);
    // An ack: with a sum only for a request that carried one.
    const plain = (await core.handle({ kind: "ping", from: "c", target: "a", updates: [] })) as SwimAnswer;
    expect("sum" in plain).toBe(false);
    expect(isSum((await core.handle({ kind: "ping", from: "b", target: "a", updates: [], sum: 7 }) as { sum?: unknown }).sum)).toBe(true);
    core.stop();
  });

  test("an exchange a checksum started takes and pushes alive records only (it fills in members, it spreads no death), and asks a member the peer holds alive and this node dead directly", async () => {
    const clock = new SimClock();
    const sent: SwimMessage[] = [];
    const claim = (id: string, incarnation: number, port: number): MemberUpdate => ({ id, incarnation, state: "alive", address: "10.0.0.1", port, meta: { name: id } });
    const want = (...ids: string[]): Uint8Array => {
      const bytes = new Uint8Array(6 * ids.length);
      const view = new DataView(bytes.buffer);
      ids.forEach((id, i) => {
        const h = idHash(id);
        view.setUint16(6 * i, Math.floor(h / 0x1_0000_0000));
        view.setUint32(6 * i + 2, h >>> 0);
      });
      return bytes;
    };
    let exchanging = false;
    const core = new SwimCore({ id: "a", address: "10.0.0.1", port: 1 }, {
      now: () => clock.now,
      schedule: (d, fn) => clock.schedule(d, fn),
      send: async (to, message) => {
        sent.push(message);
        // y, held dead at a, is alive: told of its death, it refutes in its ack (a new incarnation).
        if (message.kind === "ping" && to.id === "y") {
          const told = message.updates[0];
          return { kind: "ack", from: "y", updates: told?.id === "y" && told.state === "dead" ? [claim("y", told.incarnation + 1, 7)] : [] };
        }
        if (message.kind !== "push_pull") return { kind: "ack", from: to.id, updates: [] };
        // Before the checksum's exchange (the join, its catch-up): b's own claim.
        if (!exchanging) return { kind: "push_pull", from: "b", join: false, version: 1, members: [claim("b", 1, 2)] };
        // b's answer to the digest: n (new to a) alive, m dead (a holds it alive), and wants x and y
        // (a holds x alive, y dead). To the push that follows: z dead.
        if (message.since === undefined) return { kind: "push_pull", from: "b", join: false, version: 9, members: [claim("b", 1, 2), claim("n", 1, 5), { ...claim("m", 1, 3), state: "dead", from: "b" }], want: want("x", "y") };
        return { kind: "push_pull", from: "b", join: false, version: 10, members: [claim("b", 1, 2), { ...claim("z", 1, 8), state: "dead", from: "b" }] };
      },
      readsSum: () => true,
    });
    core.start();
    // Joined through b (a join's answer: b's state), then x, y, z, m learnt.
    await core.join({ id: "b", address: "10.0.0.1", port: 2 });
    for (const [id, port] of [["m", 3], ["x", 6], ["z", 8]] as const) core.learn(claim(id, 1, port));
    core.learn(claim("y", 1, 7));
    core.learn({ ...claim("y", 1, 7), state: "dead", from: "a" });
    // Past the window of recent deaths (10 probe intervals): y's death is no longer in flight.
    await clock.run(11);
    sent.length = 0;
    exchanging = true;
    // b's pings with another sum, 2 s apart, a's set of live members unchanged meanwhile.
    await core.handle({ kind: "ping", from: "b", target: "a", updates: [], sum: 12345 });
    await clock.run(2);
    expect(core.stats().sumExchanges).toBe(0);
    await core.handle({ kind: "ping", from: "b", target: "a", updates: [], sum: 12345 });
    await clock.run(1);
    expect(core.stats().sumExchanges).toBe(1);
    expect(core.member("n")?.state).toBe("alive");
    expect(core.member("m")?.state).toBe("alive");
    expect(core.member("z")?.state).toBe("alive");
    const push = sent.find((m) => m.kind === "push_pull" && m.since !== undefined) as { members: MemberUpdate[] } | undefined;
    expect(push?.members.map((u) => [u.id, u.state])).toEqual([["a", "alive"], ["x", "alive"]]);
    // y, wanted by b (b holds it alive) and dead here, was asked directly, its death first: it refuted.
    const toY = sent.find((m) => m.kind === "ping" && m.target === "y") as { updates: MemberUpdate[] } | undefined;
    expect(toY?.updates[0]).toMatchObject({ id: "y", state: "dead", incarnation: 1 });
    expect(core.stats().sumDoubts).toBe(1);
    expect(core.member("y")).toMatchObject({ state: "alive", incarnation: 2 });
    core.stop();
  });

  test("no exchange while deaths are in flight: this node took one lately, or the request's filter of its sender's recent deaths holds some", async () => {
    const clock = new SimClock();
    const claim = (id: string, port: number): MemberUpdate => ({ id, incarnation: 1, state: "alive", address: "10.0.0.1", port, meta: { name: id } });
    const core = new SwimCore({ id: "a", address: "10.0.0.1", port: 1 }, {
      now: () => clock.now,
      schedule: (d, fn) => clock.schedule(d, fn),
      send: async (to, message) => (message.kind === "push_pull" ? { kind: "push_pull", from: "b", join: false, version: 1, members: [claim("b", 2)] } : { kind: "ack", from: to.id, updates: [] }),
      readsSum: () => true,
    });
    core.start();
    await core.join({ id: "b", address: "10.0.0.1", port: 2 });
    core.learn(claim("k", 3));
    core.learn({ ...claim("k", 3), state: "dead", from: "a" });
    const twice = async (extra: Record<string, unknown> = {}): Promise<void> => {
      await core.handle({ kind: "ping", from: "b", target: "a", updates: [], sum: 99, ...extra });
      await clock.run(1.5);
      await core.handle({ kind: "ping", from: "b", target: "a", updates: [], sum: 99, ...extra });
      await clock.run(0.5);
    };
    // k died here a moment ago: the difference is left to gossip.
    await twice();
    expect(core.stats().sumExchanges).toBe(0);
    await clock.run(10);
    // The sender's filter holds recent deaths (its salt, then 32 bytes of bits): left alone too.
    const filter = new Uint8Array(36);
    filter[5] = 1;
    await twice({ deaths: filter });
    expect(core.stats().sumExchanges).toBe(0);
    // Its filter empty (the salt alone), and none here for 10 probe intervals: an exchange.
    await twice({ deaths: new Uint8Array(4) });
    expect(core.stats().sumExchanges).toBe(1);
    core.stop();
  });

  test("the wire: a sum is read only as an unsigned 32-bit integer, and never from a nack", () => {
    const ping = (sum: unknown) => readMessage({ kind: "ping", from: "b", target: "a", updates: [], sum })?.message as { sum?: number };
    expect(ping(0).sum).toBe(0);
    expect(ping(0xffff_ffff).sum).toBe(0xffff_ffff);
    for (const bad of [-1, 2 ** 32, 1.5, "1", null, Number.NaN]) expect(ping(bad).sum).toBeUndefined();
    expect((readMessage({ kind: "ack", from: "b", updates: [], sum: 3 })?.message as { sum?: number }).sum).toBe(3);
    expect((readMessage({ kind: "nack", from: "b", updates: [], sum: 3 })?.message as { sum?: number }).sum).toBeUndefined();
  });

  test("an exchange waits until a difference has lasted, with no change here meanwhile; one at a time; further apart after each that changed nothing, back to the shortest gap once the set changes", () => {
    const x = new SumExchanges(2, 2);
    // First met at 10 (the set at version 1): not before 12.
    expect(x.differs(10, 1)).toBe(false);
    expect(x.differs(11.9, 1)).toBe(false);
    // The set changed (gossip brought news): the wait starts again.
    expect(x.differs(12, 2)).toBe(false);
    expect(x.differs(13.9, 2)).toBe(false);
    expect(x.differs(14, 2)).toBe(true);
    x.begin(2);
    expect(x.differs(14.5, 2)).toBe(false); // one at a time
    x.end(15, 2, 30); // nothing changed: the gap doubles to 4
    expect(x.differs(18.9, 2)).toBe(false);
    expect(x.differs(19, 2)).toBe(true);
    x.begin(2);
    x.end(19, 2, 30); // 8 now
    expect(x.differs(26.9, 2)).toBe(false);
    expect(x.differs(27, 2)).toBe(true);
    x.begin(2);
    x.end(27, 3, 30); // this one changed the set: the shortest gap, once the new set's difference has lasted
    expect(x.differs(28, 3)).toBe(false);
    expect(x.differs(29.9, 3)).toBe(false);
    expect(x.differs(30, 3)).toBe(true);
    // Capped at `max`.
    for (let i = 0, t = 100; i < 10; i++, t += 100) {
      x.begin(3);
      x.end(t, 3, 30);
    }
    expect(x.differs(1000 + 29.9, 3)).toBe(false);
    expect(x.differs(1000 + 30, 3)).toBe(true);
  });
});
