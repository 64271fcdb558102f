/**
 * A mass join (virtual clock, no real time): what the 500-node swarm bench traced on Nov 30
 * (docs/performance-log.md, "Issue #12: convergence at 500 and 1,000"): after its catch-up pulls a
 * joiner could still miss a member its seed did not hold alive when it looked.
 */
import { describe, expect, test } from "bun:test";
import type { MemberUpdate, SwimConfig } from "../../src/membership/swim-types.ts";
import { convergedSwarm, lateUntilAware, readWholeMessage, SimNetwork, type SimNode } from "./swim-sim.ts";

describe("swim core - after the catch-up", () => {
  test("a joiner pulls what changed at its seed for as long as the seed keeps changing (up to 120 pulls): the first joiners of a long join learn the last ones so", async () => {
    // A quiet seed alone (no checksums either: the test network sends none): only the joins, the
    // pulls and the exchange after them carry members.
    const { net, seed } = await quietSwarm(0, {}, 0);
    const first = net.add();
    expect(await joinThrough(net, first, seed)).toBe(true);
    // One more joiner every second for 60 s, each through the seed. With 30 pulls at most, the
    // first joiner stopped pulling half way, and its one exchange after the pulls could not bring
    // those that came later.
    const later: SimNode[] = [];
    for (let i = 0; i < 60; i++) {
      const n = net.add();
      later.push(n);
      void n.core.join({ id: seed.id, address: "10.0.0.1", port: seed.port });
      await net.clock.run(1);
    }
    await net.clock.run(3);
    expect(later.filter((n) => net.view(first, n) !== "alive").map((n) => n.id)).toEqual([]);
    expect(first.core.stats().catchUps).toBeGreaterThan(30);
    // Two looks at an unchanged seed end the pulls.
    const catchUps = first.core.stats().catchUps;
    await net.clock.run(30);
    expect(first.core.stats().catchUps - catchUps).toBeLessThanOrEqual(2);
  });

  test("a catch-up pull waits the push-pull timeout, not one probe interval: a seed answering 1.5 s late still brings the joiner those who come after it", async () => {
    const { net, seed } = await quietSwarm(0, {}, 0);
    // As the pool: an answer that comes after its call's timeout is lost.
    net.honourTimeouts = true;
    const first = net.add();
    expect(await joinThrough(net, first, seed)).toBe(true);
    // The seed's answers now leave 1.5 s late (a loaded process): past a probe interval, within
    // the push-pull timeout (2 s). Here the call's timeout is the core's: each pull that gave up
    // at 1 s lost its answer and was made again, and never got one.
    seed.answerDelay = 1.5;
    const later: SimNode[] = [];
    for (let i = 0; i < 5; i++) {
      const n = net.add();
      later.push(n);
      void n.core.join({ id: seed.id, address: "10.0.0.1", port: seed.port }, 5);
      await net.clock.run(2);
    }
    await net.clock.run(8);
    expect(later.filter((n) => net.view(first, n) !== "alive").map((n) => n.id)).toEqual([]);
  });

  test("a joiner whose pulls ended exchanges full state once with another member, and learns what its seed never held", async () => {
    // No gossip, no piggybacked updates, no periodic push-pull within the test: only the joins,
    // the pulls and the exchange after them carry members.
    const net = new SimNetwork({ gossipNodes: 0, maxPiggybackBytes: 1, pushPullInterval: 10_000 });
    const seed = net.add();
    const other = net.add();
    void other.core.join({ id: seed.id, address: "10.0.0.1", port: seed.port });
    await net.runUntil(() => net.view(seed, other) === "alive", 5);
    // A member that joined through `other` only: the seed never hears of it.
    const hidden = net.add();
    void hidden.core.join({ id: other.id, address: "10.0.0.1", port: other.port });
    await net.runUntil(() => net.view(other, hidden) === "alive", 5);
    const joiner = net.add();
    void joiner.core.join({ id: seed.id, address: "10.0.0.1", port: seed.port });
    await net.runUntil(() => net.view(joiner, hidden) === "alive", 20);
    expect(net.view(seed, hidden)).toBeUndefined();
    expect(net.view(joiner, hidden)).toBe("alive");
    // One exchange after the pulls, no more: the pulls ended, and nothing repeats it.
    const pushPulls = joiner.core.stats().pushPulls;
    await net.clock.run(20);
    expect(joiner.core.stats().pushPulls).toBe(pushPulls);
  });

  test("a joiner whose exchange after the pulls goes unanswered makes it with other members, six in all at most, after doubling pauses", async () => {
    const net = new SimNetwork({ gossipNodes: 0, maxPiggybackBytes: 1, pushPullInterval: 10_000 });
    const seed = net.add();
    const members = Array.from({ length: 8 }, () => net.add());
    for (const m of members) void m.core.join({ id: seed.id, address: "10.0.0.1", port: seed.port });
    await net.runUntil(() => net.converged(), 20);
    const joiner = net.add();
    // Every member but the seed takes the joiner's pings and never answers its push-pulls.
    const asked = new Map<string, number>();
    const at: number[] = [];
    for (const m of members) {
      const handle = m.core.handle.bind(m.core);
      m.core.handle = (raw: unknown) => {
        const message = raw as { kind?: string; from?: string };
        if (message.kind !== "push_pull" || message.from !== joiner.id) return handle(raw);
        asked.set(m.id, (asked.get(m.id) ?? 0) + 1);
        at.push(net.clock.now);
        // A pull: the joiner's own claim, not its whole state.
        expect((raw as { members: unknown[] }).members.length).toBe(1);
        return new Promise(() => {});
      };
    }
    void joiner.core.join({ id: seed.id, address: "10.0.0.1", port: seed.port });
    await net.clock.run(200);
    // Six members asked once each (the catch-up pulls went to the seed), then no more.
    expect([...asked.values()]).toEqual([1, 1, 1, 1, 1, 1]);
    // Each pause twice the last (plus the unanswered pull's timeout, 2 s): over about a minute.
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    for (let i = 1; i < gaps.length; i++) expect(gaps[i]!).toBeGreaterThan(gaps[i - 1]!);
    expect(at[at.length - 1]! - at[0]!).toBeGreaterThan(40);
  });

  test("a node that has had nobody's whole state (a seed) makes the periodic push-pull unscaled; a joined one scaled", async () => {
    // 40 members: the period is scaled to 2 x 30 s.
    const net = await convergedSwarm(40);
    const [seed, joined] = net.nodes as [SimNode, SimNode];
    expect(seed.core.joined).toBe(false);
    expect(joined.core.joined).toBe(true);
    await net.clock.run(20); // the joiners' catch-up pulls and the exchange after them are over
    const before = [seed.core.stats().pushPulls, joined.core.stats().pushPulls];
    await net.clock.run(181);
    expect(seed.core.stats().pushPulls - before[0]!).toBeGreaterThanOrEqual(6);
    expect(joined.core.stats().pushPulls - before[1]!).toBeLessThanOrEqual(3);
  });
});

/** Counts what `node`'s core answers to push-pulls: requests, and member records listed in the answers. */
function countPushPulls(node: SimNode): { requests: number; listed: number; joins: number } {
  const counts = { requests: 0, listed: 0, joins: 0 };
  const handle = node.core.handle.bind(node.core);
  node.core.handle = async (raw) => {
    const answer = await handle(raw);
    if (answer?.kind === "push_pull") {
      counts.requests++;
      counts.listed += answer.members.length;
      if ((raw as { join?: unknown }).join === true) counts.joins++;
    }
    return answer;
  };
  return counts;
}

/** `count` nodes joining at once through the first (the seed), with `config`; the seed's push-pull counts. */
async function massJoin(count: number, config: Partial<SwimConfig>): Promise<{ net: SimNetwork; seed: SimNode; atSeed: ReturnType<typeof countPushPulls>; seconds: number }> {
  const net = new SimNetwork(config);
  const seed = net.add();
  const atSeed = countPushPulls(seed);
  for (let i = 1; i < count; i++) void net.add().core.join({ id: seed.id, address: "10.0.0.1", port: seed.port });
  const seconds = await net.runUntil(() => net.converged(), 120);
  return { net, seed, atSeed, seconds };
}

/**
 * `count` joiners through `seed`, two a second, each given to `watch` first (the seed too), then 3 s
 * more: the seed keeps changing while they come, and every joiner keeps pulling.
 */
async function joinTwoASecond(net: SimNetwork, seed: SimNode, watch: (node: SimNode) => void, count = 40): Promise<void> {
  watch(seed);
  for (let i = 0; i < count; i++) {
    const n = net.add();
    watch(n);
    void n.core.join({ id: seed.id, address: "10.0.0.1", port: seed.port }, 5);
    await net.clock.run(0.5);
  }
  await net.clock.run(3);
}

/** Hops from member `id` to `seed` along the member each node last pulled at (`pullsAt`); over 40: a ring that never reaches it. */
function hopsToSeed(seed: SimNode, pullsAt: ReadonlyMap<string, string>, id: string): number {
  let k = 0;
  for (let at: string | undefined = id; at !== undefined && at !== seed.id && k <= 40; at = pullsAt.get(at)) k++;
  return k;
}

/** A seed and `count` members that joined through it one after another, quiet for `settle` seconds after: no gossip, no piggybacked updates, no periodic push-pull (only joins and pulls carry members). */
async function quietSwarm(count: number, config: Partial<SwimConfig>, settle: number): Promise<{ net: SimNetwork; seed: SimNode }> {
  const net = new SimNetwork({ gossipNodes: 0, maxPiggybackBytes: 1, pushPullInterval: 10_000, ...config });
  const seed = net.add();
  for (let i = 0; i < count; i++) {
    const node = net.add();
    void node.core.join({ id: seed.id, address: "10.0.0.1", port: seed.port });
    await net.runUntil(() => net.view(seed, node) === "alive", 5);
  }
  await net.clock.run(settle);
  return { net, seed };
}

describe("swim core - a mass join that does not rest on the seed", () => {
  test("the seed answers each joiner a page and no catch-up: its share is O(N); the swarm still converges", async () => {
    const n = 200;
    // Pages only (joinWholeRecords 0): a seed at full health gives whole states within a budget (below).
    const paged = await massJoin(n, { joinWholeRecords: 0 });
    expect(paged.net.converged()).toBe(true);
    // A page of at most joinPage (32) members and the seed's own claim per joiner; besides, the
    // catch-up pulls of the first joiners (those that came while the seed held 32 members or
    // fewer, and so got its whole state), and the few periodic push-pulls that picked the seed.
    expect(paged.atSeed.joins).toBe(n - 1);
    expect(paged.atSeed.listed).toBeLessThan((n - 1) * 33 + 40 * n);
    // Every joiner took the whole state from a member of its page, not from the seed.
    expect(paged.net.nodes.slice(1).every((node) => node.core.stats().pushPulls >= 2)).toBe(true);
    // Before (joinPage 0: the whole state to each joiner, and each joiner's catch-up pulls at the seed).
    const whole = await massJoin(n, { joinPage: 0 });
    expect(whole.net.converged()).toBe(true);
    expect(whole.atSeed.listed).toBeGreaterThan(((n - 1) * n) / 2);
    expect(whole.atSeed.requests).toBeGreaterThanOrEqual(2 * (n - 1));
  }, 60_000);

  test("a joiner given a page learns the members the page left out, from a member of it", async () => {
    const { net, seed } = await quietSwarm(12, { joinPage: 4, joinWholeRecords: 0 }, 30);
    const atSeed = countPushPulls(seed);
    const joiner = net.add();
    expect(await joinThrough(net, joiner, seed)).toBe(true);
    // One page from the seed (itself and 4 members), then the whole state from a member of the page.
    expect(atSeed.requests).toBe(1);
    expect(atSeed.listed).toBe(5);
    const knowsAll = () => net.nodes.every((other) => other === joiner || net.view(joiner, other) === "alive");
    await net.runUntil(knowsAll, 5);
    expect(knowsAll()).toBe(true);
    // Its catch-up pulls went to that member: the seed answered nothing more.
    await net.clock.run(20);
    expect(atSeed.requests).toBe(1);
  });

  test("a seed at full health answers joiners its whole state within joinWholeRecords a second (catch-ups counted), past it a page", async () => {
    // 13 members and the seed: a joiner's whole state (it merged first) is 15 records, the next one's 16; 32 a second: two whole states.
    const { net, seed } = await quietSwarm(13, { joinPage: 4, joinWholeRecords: 32 }, 40);
    const answers: Array<{ partial: boolean; listed: number; catchUp: boolean }> = [];
    const handle = seed.core.handle.bind(seed.core);
    seed.core.handle = async (raw) => {
      const answer = await handle(raw);
      if (answer?.kind === "push_pull") answers.push({ partial: answer.partial === true, listed: answer.members.length, catchUp: (raw as { since?: unknown }).since !== undefined });
      return answer;
    };
    // Three joiners at once: two whole states, then a page.
    const joiners = [net.add(), net.add(), net.add()];
    for (const j of joiners) void j.core.join({ id: seed.id, address: "10.0.0.1", port: seed.port }, 5);
    await net.clock.run(0.5);
    expect(answers.map((a) => a.partial)).toEqual([false, false, true]);
    expect(answers.map((a) => a.listed)).toEqual([15, 16, 5]);
    // The two whole-state joiners catch up at the seed, the paged one at a member of its page.
    await net.clock.run(5);
    const catchUps = answers.filter((a) => a.catchUp);
    expect(catchUps.length).toBeGreaterThanOrEqual(4);
    // A joiner in a later second gets a whole state again, once the second's catch-ups leave room.
    answers.length = 0;
    await net.clock.run(10);
    const late = net.add();
    void late.core.join({ id: seed.id, address: "10.0.0.1", port: seed.port }, 5);
    await net.clock.run(0.5);
    expect(answers.filter((a) => !a.catchUp).map((a) => a.partial)).toEqual([false]);
    const knowsAll = () => net.nodes.every((other) => other === late || net.view(late, other) === "alive");
    expect(knowsAll()).toBe(true);
  });

  test("a seed past its records a second answers catch-up pulls busy: the joiner goes on catching up at another member", async () => {
    // Whole states to every joiner (joinPage 0, not counted), and one record a second for
    // catch-ups: the first pull of a second is answered, the others in that second are busy.
    const { net, seed } = await quietSwarm(10, { joinPage: 0, joinWholeRecords: 1 }, 40);
    const pulls: Array<{ at: string; from: string; busy: boolean }> = [];
    for (const node of net.nodes) {
      const handle = node.core.handle.bind(node.core);
      node.core.handle = async (raw) => {
        const answer = await handle(raw);
        const { since, from } = raw as { since?: unknown; from?: string };
        if (answer?.kind === "push_pull" && since !== undefined) pulls.push({ at: node.id, from: from ?? "", busy: answer.busy === true });
        return answer;
      };
    }
    const refusedBefore = seed.core.stats().catchUpsRefused;
    const joiners = [net.add(), net.add(), net.add()];
    for (const j of joiners) void j.core.join({ id: seed.id, address: "10.0.0.1", port: seed.port }, 5);
    // Their first pulls come in the same second: one answered, two busy, and those two move.
    await net.clock.run(1.5);
    const atSeed = pulls.filter((p) => p.at === seed.id);
    expect(atSeed.length).toBe(3);
    expect(atSeed.filter((p) => p.busy).length).toBe(2);
    expect(seed.core.stats().catchUpsRefused - refusedBefore).toBe(2);
    const moved = joiners.filter((j) => j.core.stats().catchUpsMoved === 1);
    expect(moved.length).toBe(2);
    // Their later pulls go to the member each moved to, never to the seed again; the third
    // joiner's first pull of each second is still answered at the seed.
    pulls.length = 0;
    await net.clock.run(10);
    for (const j of moved) {
      const mine = pulls.filter((p) => p.from === j.id);
      expect(mine.length).toBeGreaterThan(0);
      expect(mine.every((p) => p.at !== seed.id && !p.busy)).toBe(true);
      expect(j.core.stats().catchUps).toBeGreaterThan(1);
    }
    // Each knows the members the seed's whole state gave it (those of the quiet swarm).
    for (const j of joiners) expect(net.nodes.slice(0, 11).filter((other) => net.view(j, other) !== "alive").map((o) => o.id)).toEqual([]);
    // In a swarm that gossips, a mass join through a seed with a tight budget converges, its
    // catch-ups spread over the members.
    const tight = await massJoin(100, { joinPage: 0, joinWholeRecords: 200 });
    expect(tight.net.converged()).toBe(true);
    expect(tight.seed.core.stats().catchUpsRefused).toBeGreaterThan(0);
    expect(tight.net.nodes.filter((n) => n.core.stats().catchUpsMoved > 0).length).toBeGreaterThan(0);
    // Without a budget (0: pages only) catch-ups are never refused.
    const unbounded = await quietSwarm(4, { joinPage: 0, joinWholeRecords: 0 }, 10);
    const more = [unbounded.net.add(), unbounded.net.add(), unbounded.net.add()];
    for (const j of more) void j.core.join({ id: unbounded.seed.id, address: "10.0.0.1", port: unbounded.seed.port }, 5);
    await unbounded.net.clock.run(5);
    expect(unbounded.seed.core.stats().catchUpsRefused).toBe(0);
    expect(more.every((j) => j.core.stats().catchUpsMoved === 0 && j.core.stats().catchUps > 0)).toBe(true);
  });

  test("a seed pages a joiner with the members catching up at it: every joiner catches up two hops from the seed at most", async () => {
    // Pages only, past the seed's first 4 members: those 4 got its whole state and pull at it.
    const { net, seed } = await quietSwarm(0, { joinPage: 4, joinWholeRecords: 0 }, 0);
    // Where each node's catch-up pulls go (a pull: a push-pull with `since`, its asker's claim alone).
    const pullsAt = new Map<string, string>();
    const watch = (node: SimNode): void => {
      const handle = node.core.handle.bind(node.core);
      node.core.handle = async (raw) => {
        const m = raw as { kind?: string; from?: string; since?: unknown; members?: unknown[] };
        if (m.kind === "push_pull" && m.since !== undefined && m.members?.length === 1) pullsAt.set(m.from!, node.id);
        return handle(raw);
      };
    };
    await joinTwoASecond(net, seed, watch);
    const joiners = net.nodes.filter((n) => n !== seed);
    expect(joiners.every((n) => pullsAt.has(n.id))).toBe(true);
    expect(joiners.filter((n) => pullsAt.get(n.id) === seed.id).length).toBe(4);
    // With a page of random members, the pulls made a chain: 5 hops here at the deepest.
    expect(Math.max(...joiners.map((n) => hopsToSeed(seed, pullsAt, n.id)))).toBe(2);
    expect(net.converged()).toBe(true);
  });

  test("a seed past its budget keeps answering the members pulling at it, and names them to those it refuses: every joiner catches up two hops from the seed at most", async () => {
    // Whole states to every joiner (joinPage 0, not counted); at the seed only, 6 records a second
    // for catch-ups (elsewhere no budget, so that only the seed refuses).
    const net = new SimNetwork({ gossipNodes: 0, maxPiggybackBytes: 1, pushPullInterval: 10_000, joinPage: 0, joinWholeRecords: 0 });
    const seed = net.add({}, { joinWholeRecords: 6 });
    const pullsAt = new Map<string, string>();
    const refusedAt = new Map<string, number>();
    const watch = (node: SimNode): void => {
      const handle = node.core.handle.bind(node.core);
      node.core.handle = async (raw) => {
        const m = raw as { kind?: string; from?: string; since?: unknown; members?: unknown[] };
        const answer = await handle(raw);
        if (m.kind !== "push_pull" || m.since === undefined || m.members?.length !== 1) return answer;
        if (answer?.kind === "push_pull" && answer.busy) refusedAt.set(m.from!, (refusedAt.get(m.from!) ?? 0) + 1);
        else pullsAt.set(m.from!, node.id);
        return answer;
      };
    };
    await joinTwoASecond(net, seed, watch);
    const joiners = net.nodes.filter((n) => n !== seed);
    const atSeed = joiners.filter((n) => pullsAt.get(n.id) === seed.id);
    // The budget refused some, once each (they moved on, and were answered where they went), and
    // none the seed had answered: those stayed.
    expect(refusedAt.size).toBeGreaterThan(10);
    expect(refusedAt.size).toBe(seed.core.stats().catchUpsRefused);
    expect(atSeed.length).toBeGreaterThan(0);
    expect(atSeed.every((n) => n.core.stats().catchUpsMoved === 0)).toBe(true);
    // A mover went on at a member the seed named, one pulling at the seed. Before (the seed's
    // pullers moved off in turn, movers going on at random members): 3 joiners left pulling at
    // the seed, chains 10 hops long, and 16 of the 40 in rings that never reach it.
    expect(joiners.every((n) => pullsAt.has(n.id))).toBe(true);
    expect(Math.max(...joiners.map((n) => hopsToSeed(seed, pullsAt, n.id)))).toBe(2);
    expect(net.converged()).toBe(true);
  });

  test("a seed whose local health is down answers a page, whatever its budget", async () => {
    const { net, seed } = await quietSwarm(8, { joinPage: 4 }, 40);
    const whole = net.add();
    const atSeed = countPushPulls(seed);
    expect(await joinThrough(net, whole, seed, 5)).toBe(true);
    expect(atSeed.listed).toBe(10); // the seed and 9 members: its whole state
    // Cut off from its members, its probes fail with no helper's nack: its local health drops.
    for (const member of net.nodes) if (member !== seed && member !== whole) net.link(seed, member, true);
    await net.runUntil(() => seed.core.stats().awareness > 0, 20);
    expect(seed.core.stats().awareness).toBeGreaterThan(0);
    const paged = net.add();
    const before = atSeed.listed;
    expect(await joinThrough(net, paged, seed, 5)).toBe(true);
    expect(atSeed.listed - before).toBe(5); // the seed and a page of 4
  });

  test("an unanswered first join is sent again twice at most, after jittered pauses; a refused one is not", async () => {
    const net = new SimNetwork();
    const seed = net.add();
    const atSeed = countPushPulls(seed);
    const joiner = net.add();
    net.link(joiner, seed, true);
    const started = net.clock.now;
    expect(await joinThrough(net, joiner, seed, 1)).toBe(false);
    // Three requests (none answered), each waited for 1 s, with pauses of 0.5 to 1.5 s and 1 to 3 s between.
    expect(joiner.core.stats().pushPulls).toBe(3);
    expect(net.clock.now - started).toBeGreaterThanOrEqual(3 + 0.5 + 1);
    expect(net.clock.now - started).toBeLessThanOrEqual(3 + 1.5 + 3 + 0.1);
    expect(atSeed.requests).toBe(0);
    await net.clock.run(30);
    expect(joiner.core.stats().joins).toBe(1);

    const other = net.add();
    net.kill(seed, true);
    expect(await joinThrough(net, other, seed, 1)).toBe(false);
    expect(other.core.stats().pushPulls).toBe(1);
  });
});

/** `joiner` joins through `seed` (timeout `timeout`), the virtual clock running until the join returns (at most 60 s). */
async function joinThrough(net: SimNetwork, joiner: SimNode, seed: SimNode, timeout?: number): Promise<boolean | null> {
  let result: boolean | null = null;
  void joiner.core.join({ id: seed.id, address: "10.0.0.1", port: seed.port }, timeout).then((ok) => void (result = ok));
  await net.runUntil(() => result !== null, 60);
  return result;
}

describe("swim core - the gossip of newcomers' claims", () => {
  /** Alive claims about `subject` that `sender` sent or answered with, counted as the other nodes receive them. */
  function claimsSent(net: SimNetwork, sender: SimNode, subject: SimNode): { count: number } {
    const counted = { count: 0 };
    const about = (updates: readonly MemberUpdate[]) => updates.filter((u) => u.id === subject.id && u.state === "alive").length;
    for (const node of net.nodes) {
      const handle = node.core.handle.bind(node.core);
      node.core.handle = async (raw) => {
        const message = readWholeMessage(raw);
        if (node !== sender && message?.from === sender.id && message.kind !== "push_pull") counted.count += about(message.updates);
        const answer = await handle(raw);
        if (node === sender && answer && answer.kind !== "push_pull") counted.count += about(answer.updates);
        return answer;
      };
    }
    return counted;
  }

  test("a newcomer's claim relayed by a member is gossiped on 6 times; the newcomer's own, the full retransmitMult × ⌈log10(N + 1)⌉", async () => {
    // retransmitMult 6 (the default is 4): at 21 members the full count, 12, stands well past the relayed claim's cap of 6.
    const net = await convergedSwarm(20, new SimNetwork({ retransmitMult: 6 }));
    await net.clock.run(60); // every queue drained
    const [a, b] = net.nodes as [SimNode, SimNode];
    const relayed = net.add();
    const own = net.add();
    const fromRelay = claimsSent(net, a, relayed);
    await a.core.handle({ kind: "gossip", from: b.id, updates: [relayed.core.introduction()] });
    await net.clock.run(30);
    // At most: a copy of the claim another member gossips to a counts as one of a's transmissions
    // (BroadcastQueue.echo), so a sends fewer when others spread it too.
    expect(fromRelay.count).toBeLessThanOrEqual(6);
    const fromOwn = claimsSent(net, a, own);
    await a.core.handle({ kind: "gossip", from: own.id, updates: [own.core.introduction()] });
    await net.clock.run(30);
    // 21 members: 6 × ⌈log10(23)⌉ = 12, past the relayed claim's 6.
    expect(fromOwn.count).toBeGreaterThan(6);
    expect(fromOwn.count).toBeLessThanOrEqual(12);
  });

  test("a node whose local health is degraded gossips a relayed newcomer's claim on 3 times; healthy again, 6 as before", async () => {
    // A copy of a claim that another member gossips to a counts as one of a's transmissions, and
    // leaves fewer for a to send: here only a sends. The others' timers are stopped (they answer,
    // with nothing of a's news: a copy is never sent back to the member it came from), and a has
    // few members, so that no probe of a's goes through a helper.
    const net = await convergedSwarm(3, new SimNetwork({ retransmitMult: 6 }));
    await net.clock.run(60); // every queue drained
    const [a, b, c] = net.nodes as [SimNode, SimNode, SimNode];
    // a's loop runs late and its probes time out: its awareness score rises (the answers are on time again after).
    await lateUntilAware(net, a, 2, true);
    expect(a.core.stats().awareness).toBeGreaterThan(0);
    const quiet = (n: SimNode): SimNode => (n.core.stop(), n);
    quiet(b);
    quiet(c);
    const late = quiet(net.add());
    const whileLate = claimsSent(net, a, late);
    await a.core.handle({ kind: "gossip", from: b.id, updates: [late.core.introduction()] });
    await net.clock.run(30);
    // The cap is taken when the claim arrives: a's health recovers meanwhile, the claim still goes 3 times.
    expect(a.core.stats().awareness).toBe(0);
    expect(whileLate.count).toBe(3);
    const healthy = quiet(net.add());
    const whileHealthy = claimsSent(net, a, healthy);
    await a.core.handle({ kind: "gossip", from: b.id, updates: [healthy.core.introduction()] });
    await net.clock.run(30);
    expect(whileHealthy.count).toBe(6);
  });

  test("a joiner gossips on none of the members its first join brought (the seed's whole state, or a page member's): the swarm's own news", async () => {
    for (const config of [{}, { joinWholeRecords: 0, joinPage: 8 }] satisfies Array<Partial<SwimConfig>>) {
      const net = await convergedSwarm(20, new SimNetwork({ retransmitMult: 6, ...config }));
      await net.clock.run(60); // every queue drained
      const [seed] = net.nodes as [SimNode];
      const joiner = net.add();
      // The seed's own claim, first-hand in its answer, goes the full count as any member's own claim does.
      const members = net.nodes.filter((n) => n !== joiner && n !== seed);
      // Alive claims the joiner sends (a request, or an answer to one) about each of the members it joined.
      const sent = members.map((n) => claimsSent(net, joiner, n));
      expect(await joinThrough(net, joiner, seed)).toBe(true);
      await net.clock.run(30);
      expect([seed, ...members].filter((n) => net.view(joiner, n) !== "alive").map((n) => n.id)).toEqual([]);
      expect(members.filter((_, i) => sent[i]!.count > 0).map((n) => n.id)).toEqual([]);
      // The swarm learns of the joiner as before (its seed spreads its claim).
      expect(members.filter((n) => net.view(n, joiner) !== "alive").map((n) => n.id)).toEqual([]);
    }
  });
});

describe("swim core - a later join", () => {
  test("a node that has joined makes one exchange with a peer met later: no catch-up pulls there, no exchange after them", async () => {
    const net = new SimNetwork({ gossipNodes: 0, maxPiggybackBytes: 1, pushPullInterval: 10_000 });
    const seed = net.add();
    const a = net.add();
    void a.core.join({ id: seed.id, address: "10.0.0.1", port: seed.port });
    await net.runUntil(() => net.view(a, seed) === "alive", 5);
    // a's own catch-up and the exchange after it are over.
    await net.clock.run(60);
    const z = net.add();
    const toZ: number[] = [];
    const handle = z.core.handle.bind(z.core);
    z.core.handle = (raw: unknown) => {
      const m = raw as { kind?: string; from?: string };
      if (m.kind === "push_pull" && m.from === a.id) toZ.push(net.clock.now);
      return handle(raw);
    };
    const { pushPulls, catchUps } = a.core.stats();
    expect(await (async () => {
      const joined = a.core.join({ id: z.id, address: "10.0.0.1", port: z.port });
      await net.clock.run(1);
      return joined;
    })()).toBe(true);
    await net.clock.run(30);
    expect(toZ).toHaveLength(1);
    expect(a.core.stats().pushPulls - pushPulls).toBe(1);
    expect(a.core.stats().catchUps).toBe(catchUps);
  });
  test("a node whose first join gave no catch-up (the page's members failed it) still catches up at a peer met later", async () => {
    const net = new SimNetwork({ gossipNodes: 0, maxPiggybackBytes: 1, pushPullInterval: 10_000, joinPage: 2, joinWholeRecords: 0 });
    const seed = net.add();
    const members = Array.from({ length: 4 }, () => net.add());
    for (const m of members) void m.core.join({ id: seed.id, address: "10.0.0.1", port: seed.port });
    await net.runUntil(() => net.converged(), 20);
    const a = net.add();
    // The page's members never answer a's push-pulls: a's join gives it a page and no catch-up.
    for (const m of members) {
      const handle = m.core.handle.bind(m.core);
      m.core.handle = (raw: unknown) => ((raw as { kind?: string; from?: string }).kind === "push_pull" && (raw as { from?: string }).from === a.id ? new Promise(() => {}) : handle(raw));
    }
    void a.core.join({ id: seed.id, address: "10.0.0.1", port: seed.port });
    await net.clock.run(15);
    expect(a.core.joined).toBe(true);
    expect(a.core.stats().catchUps).toBe(0);
    const z = net.add();
    void a.core.join({ id: z.id, address: "10.0.0.1", port: z.port });
    await net.clock.run(10);
    expect(a.core.stats().catchUps).toBeGreaterThan(0);
  });
});
