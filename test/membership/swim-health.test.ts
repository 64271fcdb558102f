/**
 * The SWIM core under load and after a crash, on the simulation's virtual clock (no real time):
 * timeouts that do not count a blocked event loop, local health, the suspect told at once, a
 * refused send as evidence, and push-pulled state gossiped on only a few times.
 */
import { describe, expect, test } from "bun:test";
import { afterOwnTime, BroadcastQueue } from "../../src/membership/swim-queue.ts";
import { MERGED_TRANSMITS } from "../../src/membership/swim-members.ts";
import { DEFAULT_SWIM_CONFIG, type MemberUpdate, type SwimMessage } from "../../src/membership/swim-types.ts";
import { convergedSwarm, gossipRounds, lateUntilAware, PACE_FANOUT, readWholeMessage, SimClock, SimNetwork, type SimNode } from "./swim-sim.ts";

const swarm = convergedSwarm;


const everSaw = (viewer: SimNode, subject: SimNode, state: string): boolean => viewer.changes.some(([id, s]) => id === subject.id && s === state);

/** Record the messages `node` handles (their updates read whole, in either wire form), with the virtual time they arrived. */
function tap(node: SimNode, clock: SimClock): Array<{ at: number; message: SwimMessage }> {
  const seen: Array<{ at: number; message: SwimMessage }> = [];
  const handle = node.core.handle.bind(node.core);
  node.core.handle = (raw: unknown) => {
    const message = readWholeMessage(raw);
    if (message) seen.push({ at: clock.now, message });
    return handle(raw);
  };
  return seen;
}

/** The gossip messages from `from` that the tapped nodes received since `since`, by round (a round's arrive within a few ms of each other). */
function gossipByRound(taps: ReadonlyArray<ReadonlyArray<{ at: number; message: SwimMessage }>>, from: string, since: number): Map<number, number> {
  const byRound = new Map<number, number>();
  for (const seen of taps) {
    for (const { at, message } of seen) {
      if (message.kind !== "gossip" || message.from !== from || at < since) continue;
      const round = Math.floor(at * 20);
      byRound.set(round, (byRound.get(round) ?? 0) + 1);
    }
  }
  return byRound;
}

describe("swim core - timeouts in the node's own time", () => {
  test("afterOwnTime waits again for the time the loop was blocked, up to its budget", async () => {
    const clock = new SimClock();
    let stalled = 0;
    const fired: number[] = [];
    const stalls: number[] = [];
    afterOwnTime((d, fn) => clock.schedule(d, fn), () => stalled, 1, 1.5, () => fired.push(clock.now), (s) => stalls.push(s));
    clock.schedule(0.5, () => void (stalled += 0.4)); // blocked 0.4 s during the wait
    await clock.run(1.2);
    expect(fired).toEqual([]); // 1 s plus the 0.4 s blocked: not yet
    clock.schedule(0.1, () => void (stalled += 5)); // blocked 5 s more: only 1.1 s of budget is left
    await clock.run(10);
    expect(stalls.map((s) => Math.round(s * 10) / 10)).toEqual([0.4, 1.1]);
    expect(fired).toHaveLength(1);
    expect(fired[0]!).toBeCloseTo(2.5, 6);
  });

  test("without a stall measure it is a plain timer, and cancel stops it", async () => {
    const clock = new SimClock();
    const fired: string[] = [];
    afterOwnTime((d, fn) => clock.schedule(d, fn), undefined, 1, 10, () => fired.push("plain"));
    const cancel = afterOwnTime((d, fn) => clock.schedule(d, fn), () => 0, 1, 10, () => fired.push("cancelled"));
    cancel();
    await clock.run(5);
    expect(fired).toEqual(["plain"]);
  });

  test("a node whose loop is blocked waits out the late acks of a live member: no suspicion, and its local health drops", async () => {
    for (const blocked of [false, true]) {
      const net = await swarm(2, new SimNetwork({ indirectChecks: 0 }));
      const [a, b] = net.nodes;
      b!.answerDelay = 1.2; // acks come after the whole probe interval (1 s)
      if (blocked) {
        // As if a's event loop were blocked a second in every second (its timers fire late).
        const tick = (): void => {
          a!.stalled += 1;
          net.clock.schedule(1, tick);
        };
        tick();
      }
      await net.clock.run(20);
      const stats = a!.core.stats();
      if (blocked) {
        expect(everSaw(a!, b!, "suspect")).toBe(false);
        expect(stats.stalls).toBeGreaterThan(0);
        expect(stats.probesFailed).toBe(0);
      } else {
        // The control: the same late acks, counted in full, make a suspect of b.
        expect(everSaw(a!, b!, "suspect")).toBe(true);
        expect(stats.stalls).toBe(0);
      }
    }
  });
});

describe("swim core - a late prober probes again", () => {
  /** A 2-node swarm in which `a`'s loop runs late (blocked half the time) while `late()` says so. */
  async function rig(): Promise<{ net: SimNetwork; a: SimNode; b: SimNode; lateWhile: (on: () => boolean) => void }> {
    const net = await swarm(2);
    const [a, b] = net.nodes as [SimNode, SimNode];
    const lateWhile = (on: () => boolean): void => {
      const tick = (): void => {
        if (!on()) return;
        a.stalled += 0.05;
        net.clock.schedule(0.1, tick);
      };
      tick();
    };
    return { net, a, b, lateWhile };
  }

  /** {@link rig}, run until one probe of `a`'s has failed while its loop ran late (`b` silent); `before`: `a`'s stats at the start. */
  async function lateFailure(): Promise<Awaited<ReturnType<typeof rig>> & { before: ReturnType<SimNode["core"]["stats"]> }> {
    const r = await rig();
    const before = r.a.core.stats();
    r.b.up = false;
    r.lateWhile(() => r.a.core.stats().lateProbes === before.lateProbes);
    await r.net.runUntil(() => r.a.core.stats().lateProbes > before.lateProbes, 30);
    return { ...r, before };
  }

  test("a probe that fails while the prober's loop runs late suspects no one; the member is probed again and its ack clears it", async () => {
    // b is silent and a's loop late until a probe of a's has failed so.
    const { net, a, b, before } = await lateFailure();
    expect(a.core.stats().lateProbes).toBe(before.lateProbes + 1);
    expect(a.core.stats().probesFailed).toBe(before.probesFailed + 1);
    // b answers again: the next round probes it (out of the round-robin), and it is acked.
    b.up = true;
    const probes = a.core.stats().probesSent;
    await net.runUntil(() => a.core.stats().probesSent > probes, 30);
    await net.clock.run(5);
    expect(everSaw(a, b, "suspect")).toBe(false);
    expect(a.core.stats().suspects).toBe(before.suspects);
    expect(a.core.member(b.id)!.state).toBe("alive");
  });

  test("the second probe's failure counts, late or not: the member is suspected one round later", async () => {
    const { net, a, b, before } = await lateFailure();
    const retriedAt = net.clock.now;
    expect(everSaw(a, b, "suspect")).toBe(false);
    // Still silent: the next probe (a's loop on time now) fails and suspects.
    await net.runUntil(() => everSaw(a, b, "suspect"), 30);
    expect(everSaw(a, b, "suspect")).toBe(true);
    expect(a.core.stats().suspects).toBe(before.suspects + 1);
    expect(a.core.stats().lateProbes).toBe(before.lateProbes + 1);
    // Within a few (stretched) probe intervals of the late failure.
    expect(net.clock.now - retriedAt).toBeLessThan(10);
  });

  test("a second probe that is late too counts: an overloaded node still suspects a silent member", async () => {
    const { net, a, b, lateWhile } = await rig();
    const before = a.core.stats();
    b.up = false;
    let late = true;
    lateWhile(() => late);
    await net.runUntil(() => everSaw(a, b, "suspect"), 60);
    late = false;
    expect(everSaw(a, b, "suspect")).toBe(true);
    // One late failure deferred, the next one (late as well) counted.
    expect(a.core.stats().lateProbes).toBe(before.lateProbes + 1);
  });

  test("the control: a failed probe on time suspects at once, and a refused one declares dead at once, late or not", async () => {
    const { net, a, b } = await rig();
    const before = a.core.stats();
    b.up = false;
    await net.runUntil(() => everSaw(a, b, "suspect"), 30);
    expect(a.core.stats().lateProbes).toBe(before.lateProbes);
    expect(a.core.stats().suspects).toBe(before.suspects + 1);
    const second = await rig();
    second.b.up = false;
    second.b.refuses = true;
    second.lateWhile(() => !everSaw(second.a, second.b, "dead"));
    await second.net.runUntil(() => everSaw(second.a, second.b, "dead"), 30);
    expect(everSaw(second.a, second.b, "dead")).toBe(true);
    expect(second.a.core.stats().lateProbes).toBe(0);
  });
});

describe("swim core - local health", () => {
  test("a node whose loop runs late probes and gossips less often than a healthy one", async () => {
    const net = await swarm(3);
    const [a, b, c] = net.nodes;
    // Every answer takes 0.6 s, so each probe spans that long; a's loop is blocked half the time.
    for (const n of [a, b, c]) n!.answerDelay = 0.6;
    const tick = (): void => {
      a!.stalled += 0.05;
      net.clock.schedule(0.1, tick);
    };
    tick();
    const before = { a: a!.core.stats().probesSent, b: b!.core.stats().probesSent };
    await net.clock.run(30);
    expect(a!.core.stats().awareness).toBeGreaterThan(0);
    expect(b!.core.stats().awareness).toBe(0);
    expect(a!.core.stats().probesSent - before.a).toBeLessThan(b!.core.stats().probesSent - before.b);
    expect(net.converged()).toBe(true);
  });

  test("a node whose overload has passed probes at the configured pace again, and regains its health a point a probe interval", async () => {
    const net = await swarm(4);
    const a = net.nodes[0]!;
    // a's loop ran late and the answers slowly until its local health fell to 5 (probe rounds 6 s apart);
    // then both are on time again.
    await lateUntilAware(net, a, 5, true);
    const score = a.core.stats().awareness;
    expect(score).toBeGreaterThanOrEqual(5);
    const start = net.clock.now;
    await net.runUntil(() => a.core.stats().awareness === 0, 60, 0.1);
    const took = net.clock.now - start;
    // The round under way and the next (its window saw the loop blocked) stretched, then one
    // on-time probe a second, each a point: 2 (score + 1) + score seconds at most (at 5: 17 s).
    // Rounds stretched by the score each time would take (score + 1) + score + ... + 2 seconds and
    // more (the old pace: 22.4 s here).
    expect(a.core.stats().awareness).toBe(0);
    expect(took).toBeLessThanOrEqual(2 * (score + 1) + score);
    // Healthy again, a probe a second.
    const probes = a.core.stats().probesSent;
    await net.clock.run(10);
    expect(a.core.stats().probesSent - probes).toBeGreaterThanOrEqual(9);
    expect(net.converged()).toBe(true);
  });

  test("a node whose loop still runs late keeps its rounds stretched, even when its probes are acked on time", async () => {
    const net = await swarm(4);
    const a = net.nodes[0]!;
    await lateUntilAware(net, a, 5, true);
    // The answers come at once again, but a's loop stays blocked half the time (a lull in an
    // overload, not its end): rounds stay a stretched interval apart.
    const tick = (): void => {
      a.stalled += 0.05;
      net.clock.schedule(0.1, tick);
    };
    tick();
    const probes = a.core.stats().probesSent;
    await net.clock.run(10);
    expect(a.core.stats().probesSent - probes).toBeLessThanOrEqual(4);
  });
});

describe("swim core - a death spreads at the configured pace", () => {
  test("a node whose local health stretches its gossip rounds still gossips a member's death at once and every gossipInterval", async () => {
    // Many transmissions per update, so that the queue holds the news through the rounds counted.
    const net = await swarm(6, new SimNetwork({ retransmitMult: 30, gossipNodes: PACE_FANOUT }));
    const [a, , , , , x] = net.nodes as SimNode[];
    // a's loop runs late, as in the local health test above, until its rounds are stretched.
    await lateUntilAware(net, a!, 2);
    const awareness = a!.core.stats().awareness;
    expect(awareness).toBeGreaterThanOrEqual(2);
    // x leaves (its own left claim reaches a): news of a member gone.
    const m = a!.core.member(x!.id)!;
    await a!.core.handle({ kind: "gossip", from: x!.id, updates: [{ id: x!.id, incarnation: m.incarnation, state: "left", address: m.address, port: m.port }] });
    expect(a!.core.member(x!.id)!.state).toBe("left");
    // One round at once, then one every 0.2 s while its transmissions last (30 x ceil(log10(8)) =
    // 30, to 3 members a round: 10 rounds): at least 2 rounds within 0.45 s, where the stretched
    // pace, (awareness + 1) x 0.2 s per round, makes one at most.
    expect(await gossipRounds(net, a!, 0.45)).toBeGreaterThanOrEqual(2);
    expect(0.2 * (awareness + 1)).toBeGreaterThan(0.45);
  });
});

describe("swim core - the gossip fan-out", () => {
  test("a gossip round goes to gossipNodes random members, 2 by default (memberlist's 3)", async () => {
    expect(DEFAULT_SWIM_CONFIG.gossipNodes).toBe(2);
    // The default, then memberlist's.
    for (const [fanout, config] of [[2, {}], [PACE_FANOUT, { gossipNodes: PACE_FANOUT }]] as const) {
      // Many transmissions per update, so that the queue holds the news through the rounds counted.
      const net = await swarm(8, new SimNetwork({ retransmitMult: 30, ...config }));
      await net.clock.run(60); // every queue drained
      const [a, x, ...rest] = net.nodes as SimNode[];
      const taps = rest.map((n) => tap(n, net.clock));
      // x leaves: a gone member hurries the rounds (one at once, then every 0.2 s).
      const held = a!.core.member(x!.id)!;
      const from = net.clock.now;
      await a!.core.handle({ kind: "gossip", from: x!.id, updates: [{ id: x!.id, incarnation: held.incarnation, state: "left", address: held.address, port: held.port }] });
      await net.clock.run(0.5);
      const byRound = gossipByRound(taps, a!.id, from);
      expect(byRound.size).toBeGreaterThanOrEqual(2);
      expect(Math.max(...byRound.values())).toBe(fanout);
    }
  });

  test("a node whose local health is degraded gossips to one member a round, at the same pace; healthy again, to gossipNodes", async () => {
    const net = await swarm(8, new SimNetwork({ retransmitMult: 30, gossipNodes: PACE_FANOUT }));
    await net.clock.run(60); // every queue drained
    const [a, x, y, ...rest] = net.nodes as SimNode[];
    const taps = rest.map((n) => tap(n, net.clock));
    // a's loop ran late until its local health fell to 4; its loop and the answers are on time
    // again, and its health comes back a point a probe interval (1 s).
    await lateUntilAware(net, a!, 4, true);
    // x leaves: the rounds hurry (one at once, then every 0.2 s), each to one member.
    const gone = (n: SimNode) => {
      const held = a!.core.member(n.id)!;
      return a!.core.handle({ kind: "gossip", from: n.id, updates: [{ id: n.id, incarnation: held.incarnation, state: "left", address: held.address, port: held.port }] });
    };
    let from = net.clock.now;
    await gone(x!);
    await net.clock.run(0.5);
    expect(a!.core.stats().awareness).toBeGreaterThan(0);
    let byRound = gossipByRound(taps, a!.id, from);
    expect(byRound.size).toBeGreaterThanOrEqual(2);
    expect(Math.max(...byRound.values())).toBe(1);
    // Healthy again: y leaves, and the rounds go to 3 members again.
    await net.runUntil(() => a!.core.stats().awareness === 0, 30);
    expect(a!.core.stats().awareness).toBe(0);
    from = net.clock.now;
    await gone(y!);
    await net.clock.run(0.5);
    byRound = gossipByRound(taps, a!.id, from);
    expect(byRound.size).toBeGreaterThanOrEqual(2);
    expect(Math.max(...byRound.values())).toBe(PACE_FANOUT);
  });

  test("in a mass failure (16 deaths within the resend window) a node gossips to gossipNodes a round however degraded its local health", async () => {
    const net = await swarm(40, new SimNetwork({ retransmitMult: 30, gossipNodes: PACE_FANOUT }));
    await net.clock.run(60); // every queue drained
    const [a, c, ...others] = net.nodes as SimNode[];
    await lateUntilAware(net, a!, 4, true);
    // Sixteen members that a has not heard from lately (another's verdict of a member that acked
    // a moment ago is doubted: see "another side's verdict") are gone, and c tells a of their deaths.
    const heardLately = (n: SimNode) => net.clock.now - (a!.core.member(n.id)!.heard ?? Number.NEGATIVE_INFINITY) < 12;
    const dying = others.filter((n) => !heardLately(n)).slice(0, 16);
    expect(dying).toHaveLength(16);
    const taps = others.filter((n) => !dying.includes(n)).map((n) => tap(n, net.clock));
    for (const n of dying) {
      n.up = false;
      n.core.stop();
    }
    const deaths: MemberUpdate[] = dying.map((n) => {
      const held = a!.core.member(n.id)!;
      return { id: n.id, incarnation: held.incarnation, state: "dead", address: held.address, port: held.port, from: c!.id };
    });
    const from = net.clock.now;
    await a!.core.handle({ kind: "gossip", from: c!.id, updates: deaths });
    expect(dying.every((n) => net.view(a!, n) === "dead")).toBe(true);
    await net.clock.run(1);
    expect(a!.core.stats().awareness).toBeGreaterThan(0);
    // Rounds to 3 members (c, who told a, is not tapped, and gets none of these deaths).
    expect(Math.max(...gossipByRound(taps, a!.id, from).values())).toBe(PACE_FANOUT);
  });
});

describe("swim core - gossip rounds rest while nothing is queued", () => {
  test("a settled node arms no gossip round until an update is queued, then gossips it within a round's pace", async () => {
    const net = new SimNetwork();
    // The delays of the timers a's core arms (a gossip round's is gossipInterval, 0.2 s here).
    const delays: number[] = [];
    const a = net.add({ schedule: (delay, fn) => (delays.push(delay), net.clock.schedule(delay, fn)) });
    for (let i = 1; i < 6; i++) void net.add().core.join({ id: a.id, address: "10.0.0.1", port: a.port });
    await net.runUntil(() => net.converged(), 60);
    expect(net.converged()).toBe(true);
    // Settled: every update sent its share of times.
    await net.runUntil(() => net.nodes.every((n) => n.core.stats().queued === 0), 60);
    await net.clock.run(1);
    expect(a.core.stats().queued).toBe(0);
    delays.length = 0;
    const sent = a.core.stats().gossipSent;
    await net.clock.run(10);
    // Ten seconds without a gossip round (it used to be one every 0.2 s: 50 timers of 0.2 s).
    expect(delays.filter((d) => d === 0.2)).toHaveLength(0);
    expect(a.core.stats().gossipSent).toBe(sent);
    // News: b tells a it suspects it; a refutes, and its new claim is queued and gossiped within a round's pace.
    const b = net.nodes[1]!;
    const suspicion: MemberUpdate = { id: a.id, incarnation: a.core.stats().incarnation, state: "suspect", address: "10.0.0.1", port: a.port, from: b.id };
    await a.core.handle({ kind: "gossip", from: b.id, updates: [suspicion] });
    expect(a.core.stats().refutations).toBe(1);
    expect(a.core.stats().queued).toBe(1);
    const before = a.core.stats().gossipSent;
    await net.clock.run(0.25);
    expect(a.core.stats().gossipSent).toBeGreaterThan(before);
    // Once every update has gone its share of times the rounds rest again.
    await net.runUntil(() => net.nodes.every((n) => n.core.stats().queued === 0), 60);
    await net.clock.run(1);
    delays.length = 0;
    await net.clock.run(5);
    expect(delays.filter((d) => d === 0.2)).toHaveLength(0);
  });
});

describe("swim core - suspicion", () => {
  test("a suspected member hears of it at once from the suspecter, and refutes", async () => {
    const net = await swarm(4, new SimNetwork({ indirectChecks: 0 }));
    const [a, b] = net.nodes;
    const atB = tap(b!, net.clock);
    b!.answerDelay = 1.2; // b's acks miss every probe interval
    await net.runUntil(() => everSaw(a!, b!, "suspect") || net.nodes.some((n) => n !== b && everSaw(n, b!, "suspect")), 60);
    const suspecter = net.nodes.find((n) => n !== b && everSaw(n, b!, "suspect"))!;
    b!.answerDelay = 0;
    await net.runUntil(() => b!.core.stats().refutations > 0, 10);
    // The suspecter's first message after the suspicion is a gossip to b itself, the suspicion first.
    const told = atB.find(({ message }) => message.from === suspecter.id && message.kind === "gossip" && message.updates[0]?.id === b!.id);
    expect(told?.message.kind === "gossip" && told.message.updates[0]!.state).toBe("suspect");
    expect(b!.core.stats().refutations).toBeGreaterThan(0);
    await net.runUntil(() => net.converged(), 30);
    expect(net.nodes.some((n) => everSaw(n, b!, "dead"))).toBe(false);
  });

  test("a probe of a suspect carries its suspicion first, in the prober's name (Lifeguard's buddy system)", async () => {
    const net = await swarm(3);
    const [a, , c] = net.nodes;
    // c still reads what comes but sends nothing of its own, and its answers come too late: its
    // refutation never reaches a, so c stays a suspect there.
    c!.core.stop();
    c!.answerDelay = 1000;
    const atC = tap(c!, net.clock);
    a!.core.learn({ id: c!.id, incarnation: c!.core.stats().incarnation, state: "suspect", address: "10.0.0.1", port: c!.port, from: "someone" });
    const pingOfSuspect = () => atC.find(({ message }) => message.kind === "ping" && message.from === a!.id)?.message;
    await net.runUntil(() => pingOfSuspect() !== undefined, 10);
    const ping = pingOfSuspect()!;
    const first = ping.kind === "ping" ? ping.updates[0] : undefined;
    expect(first).toMatchObject({ id: c!.id, state: "suspect", from: a!.id });
    expect(c!.core.stats().refutations).toBeGreaterThan(0);
  });
});

describe("swim core - a member heard from again", () => {
  test("remind tells a member held dead of its death in one message, and its refutation revives it", async () => {
    const net = await swarm(3);
    const [a, b] = net.nodes;
    a!.core.learn({ id: b!.id, incarnation: b!.core.stats().incarnation, state: "dead", address: "10.0.0.1", port: b!.port, from: a!.id });
    expect(net.view(a!, b!)).toBe("dead");
    const gossips = net.sent.get("gossip") ?? 0;
    const atB = tap(b!, net.clock);
    const reminded = a!.core.remind(b!.id);
    await net.clock.run(1);
    expect(await reminded).toBe(true);
    expect(net.view(a!, b!)).toBe("alive");
    expect(b!.core.stats().refutations).toBeGreaterThan(0);
    // No full exchange with b (a catch-up pull, which lists a alone, may run after a join).
    expect(atB.some(({ message }) => message.kind === "push_pull" && message.from === a!.id && message.since === undefined)).toBe(false);
    const told = atB.find(({ message }) => message.from === a!.id && message.kind === "gossip")?.message;
    expect(told?.kind === "gossip" ? told.updates[0] : undefined).toMatchObject({ id: b!.id, state: "dead" });
    expect((net.sent.get("gossip") ?? 0) - gossips).toBeGreaterThanOrEqual(1);
    // Nothing to tell about a member held alive, or unknown: no message.
    const before = net.sent.get("gossip") ?? 0;
    expect(await a!.core.remind(b!.id)).toBe(true);
    expect(await a!.core.remind("nobody")).toBe(false);
    expect(net.sent.get("gossip") ?? 0).toBe(before);
  });
});

describe("swim core - a refused send is evidence", () => {
  test("a member whose port refuses is probed out of turn and found dead everywhere", async () => {
    const net = await swarm(6);
    const victim = net.nodes[5]!;
    const rest = net.nodes.slice(0, 5);
    net.kill(victim, true);
    await net.runUntil(() => rest.every((n) => net.view(n, victim) === "dead"), 60);
    for (const n of rest) expect(net.view(n, victim)).toBe("dead");
    expect(rest.reduce((sum, n) => sum + n.core.stats().evidenceProbes, 0)).toBeGreaterThan(0);
    // Nobody alive was taken for dead.
    for (const n of rest) for (const other of rest) if (other !== n) expect(everSaw(n, other, "dead")).toBe(false);
  });

  test("a member whose port refuses is dead at its prober's first refused ping, with no suspicion, however unhealthy the prober or blocked its loop; a silent one gets a stretched suspicion", async () => {
    // Two nodes: their link is cut for a few seconds first, and a's failed probes (no helper to
    // ask) raise its local health score, which the acks after the link heals lower only one by one.
    // `blocked`: from the kill (or the suspicion) on, a's event loop is blocked half of every 0.1 s.
    const setUp = async (refuse: boolean, blocked: boolean): Promise<{ net: SimNetwork; a: SimNode; b: SimNode; awareness: number }> => {
      const net = await swarm(2);
      const [a, b] = net.nodes as [SimNode, SimNode];
      net.link(a, b, true);
      await net.clock.run(3.5);
      net.link(a, b, false);
      await net.runUntil(() => net.view(a, b) === "alive", 30, 0.01);
      net.kill(b, refuse);
      const awareness = a.core.stats().awareness;
      const tick = (): void => {
        a.stalled += 0.05;
        net.clock.schedule(0.1, tick);
      };
      if (blocked && refuse) tick();
      return { net, a, b, awareness };
    };
    for (const blocked of [false, true]) {
      const { net, a, b, awareness } = await setUp(true, blocked);
      const killedAt = net.clock.now;
      const declared = a.core.stats().deathsDeclared;
      const seen = a.changes.length;
      await net.runUntil(() => net.view(a, b) === "dead", 30, 0.01);
      expect(awareness).toBeGreaterThan(0);
      expect(net.view(a, b)).toBe("dead");
      // Nothing between (the link cut had made b a suspect before it healed).
      expect(a.changes.slice(seen).filter(([id]) => id === b.id)).toEqual([[b.id, "dead"]]);
      expect(a.core.stats().deathsDeclared - declared).toBe(1);
      // Found at a's next probe, at most one (stretched) probe interval after the kill.
      expect(net.clock.now - killedAt).toBeLessThanOrEqual(awareness + 1 + 0.05);
    }
    const suspicion = async (blocked: boolean): Promise<{ seconds: number; awareness: number; stalls: number }> => {
      const { net, a, b } = await setUp(false, false);
      await net.runUntil(() => net.view(a, b) === "suspect", 30, 0.01);
      const suspectedAt = net.clock.now;
      const awareness = a.core.stats().awareness;
      const stalls = a.core.stats().stalls;
      const tick = (): void => {
        a.stalled += 0.05;
        net.clock.schedule(0.1, tick);
      };
      if (blocked) tick();
      await net.runUntil(() => net.view(a, b) === "dead", 120, 0.01);
      expect(net.view(a, b)).toBe("dead");
      return { seconds: net.clock.now - suspectedAt, awareness, stalls: a.core.stats().stalls - stalls };
    };
    // The shortest suspicion here: suspicionMult x probeInterval = 4 s (log10 of 2 members < 1),
    // stretched by a's local health.
    const silent = await suspicion(false);
    expect(silent.awareness).toBeGreaterThan(0);
    expect(silent.seconds).toBeGreaterThanOrEqual(4 * (silent.awareness + 1) - 0.05);
    // A silent member's suspicion waits again for the blocked time, on top.
    const silentBlocked = await suspicion(true);
    expect(silentBlocked.stalls).toBeGreaterThan(0);
    expect(silentBlocked.seconds).toBeGreaterThan(silent.seconds);
  });

  test("after a mass crash whose ports refuse, a refused ping asks no helper, and nothing counts against the prober's own health", async () => {
    const net = await swarm(10);
    const dead = net.nodes.slice(6);
    const rest = net.nodes.slice(0, 6);
    const pingReqs = net.sent.get("ping_req") ?? 0;
    const awareness = rest.map((n) => n.core.stats().awareness);
    for (const n of dead) net.kill(n, true);
    await net.runUntil(() => rest.every((n) => dead.every((d) => net.view(n, d) === "dead")), 60);
    for (const n of rest) for (const d of dead) expect(net.view(n, d)).toBe("dead");
    // Every probe of a dead member was refused at once: no ping-req (the helpers would have met
    // the same closed port), no missed nack, no local health raised.
    expect((net.sent.get("ping_req") ?? 0) - pingReqs).toBe(0);
    expect(rest.map((n) => n.core.stats().missedNacks)).toEqual(rest.map(() => 0));
    expect(rest.map((n) => n.core.stats().awareness)).toEqual(awareness);
  });

  test("a refused send to a live member (it restarted its listener) only costs a probe it passes", async () => {
    const net = await swarm(4);
    const [a, b] = net.nodes;
    b!.refuses = true; // still up: a refused send, then b answers the probe that follows
    a!.core.setMeta({ name: "a2" }); // something to gossip, to b among others
    await net.runUntil(() => a!.core.stats().evidenceProbes > 0, 10);
    b!.refuses = false;
    await net.clock.run(5);
    expect(a!.core.stats().evidenceProbes).toBeGreaterThan(0);
    expect(net.view(a!, b!)).toBe("alive");
  });
});

describe("swim core - push-pull", () => {
  test("a catch-up pull is answered with only what changed after the asker's version", async () => {
    const net = new SimNetwork();
    const a = net.add();
    const member = (id: string): MemberUpdate => ({ id, incarnation: 1, state: "alive", address: "10.0.0.9", port: 9000 + id.length, meta: { name: id } });
    a.core.learn(member("x"));
    const first = await a.core.handle({ kind: "push_pull", from: "x", join: false, members: [member("x")], since: 0 });
    const seen = first?.kind === "push_pull" ? first.version! : -1;
    expect(first?.kind === "push_pull" && first.members.map((u) => u.id)).toEqual([a.id, "x"]);
    a.core.learn(member("yy"));
    const next = await a.core.handle({ kind: "push_pull", from: "x", join: false, members: [member("x")], since: seen });
    expect(next?.kind === "push_pull" && next.members.map((u) => u.id)).toEqual([a.id, "yy"]);
    expect(next?.kind === "push_pull" && next.version).toBeGreaterThan(seen);
    // Without `since`: the whole state, as before.
    const full = await a.core.handle({ kind: "push_pull", from: "x", join: false, members: [member("x")] });
    expect(full?.kind === "push_pull" && full.members.map((u) => u.id).sort()).toEqual([a.id, "x", "yy"].sort());
  });

  test("a joiner catches up on the members that join its seed after it, by pulls alone", async () => {
    // No gossip and no piggybacked updates: only exchanges with the seed carry members.
    const net = new SimNetwork({ gossipNodes: 0, maxPiggybackBytes: 1 });
    const seed = net.add();
    const early = net.add();
    const joined = early.core.join({ id: seed.id, address: "10.0.0.1", port: seed.port });
    await net.clock.run(0.1);
    expect(await joined).toBe(true);
    const late = [net.add(), net.add(), net.add()];
    await net.clock.run(0.5);
    for (const n of late) void n.core.join({ id: seed.id, address: "10.0.0.1", port: seed.port });
    await net.runUntil(() => late.every((n) => net.view(early, n) === "alive"), 10);
    for (const n of late) expect(net.view(early, n)).toBe("alive");
    const pulls = early.core.stats().pushPulls;
    expect(pulls).toBeGreaterThan(1);
    // Caught up: once nothing changes at the seed, the pulls stop.
    await net.clock.run(10);
    const settled = early.core.stats().pushPulls;
    await net.clock.run(10);
    expect(early.core.stats().pushPulls).toBe(settled);
  });

  test("a pull answered with a whole state and no version (an older Bun peer) ends the catch-up", async () => {
    const net = new SimNetwork();
    const seed = net.add();
    const handle = seed.core.handle.bind(seed.core);
    let pulls = 0;
    seed.core.handle = async (raw: unknown) => {
      const pull = typeof raw === "object" && raw !== null && "since" in raw;
      if (pull) pulls++;
      // As a node that knows no `since`: the whole state, without a version.
      const answer = await handle(pull ? { ...raw, since: undefined } : raw);
      if (pull && answer?.kind === "push_pull") delete answer.version;
      return answer;
    };
    const joiner = net.add();
    void joiner.core.join({ id: seed.id, address: "10.0.0.1", port: seed.port });
    void net.add().core.join({ id: seed.id, address: "10.0.0.1", port: seed.port });
    await net.clock.run(10);
    expect(net.view(joiner, seed)).toBe("alive");
    expect(pulls).toBe(2); // one per joiner, then no more
  });

  test("a merged state is gossiped on at most MERGED_TRANSMITS times, the sender's own claim as any news", async () => {
    const net = new SimNetwork();
    const a = net.add();
    const member = (id: string): MemberUpdate => ({ id, incarnation: 1, state: "alive", address: "10.0.0.9", port: 9000 + id.length, meta: { name: id } });
    await a.core.handle({ kind: "push_pull", from: "x", join: true, members: [member("x"), member("yy"), member("zzz")] });
    const counts = new Map<string, number>();
    for (let i = 0; i < 20; i++) {
      const ack = await a.core.handle({ kind: "ping", from: "x", target: a.id, updates: [] });
      for (const u of ack && "updates" in ack ? ack.updates : []) counts.set(u.id, (counts.get(u.id) ?? 0) + 1);
    }
    expect(counts.get("yy")).toBe(MERGED_TRANSMITS);
    expect(counts.get("zzz")).toBe(MERGED_TRANSMITS);
    expect(counts.get("x")!).toBeGreaterThan(MERGED_TRANSMITS);
  });

  test("the broadcast queue sends a capped update at most its cap times", () => {
    const queue = new BroadcastQueue(() => 10);
    queue.push({ id: "capped", incarnation: 1, state: "alive", address: "a", port: 1 }, 1);
    queue.push({ id: "free", incarnation: 1, state: "alive", address: "a", port: 2 });
    const taken = Array.from({ length: 4 }, () => queue.take(1000, 3).map((u) => u.id));
    expect(taken).toEqual([["free", "capped"], ["free"], ["free"], []]);
  });
});

describe("swim core - another side's verdict", () => {
  test("a death declared elsewhere of a member that just acked this node is a suspicion here, which it refutes: never dead here", async () => {
    const net = await swarm(3);
    const [a, b, c] = net.nodes as [SimNode, SimNode, SimNode];
    // Run until a has just had an ack from b (its own probes go round-robin over b and c).
    const heard = () => (a.core.member(b.id) as { heard?: number } | undefined)?.heard;
    await net.runUntil(() => heard() !== undefined && net.clock.now - heard()! < 0.2, 10, 0.05);
    expect(net.clock.now - heard()!).toBeLessThan(0.2);
    const incarnation = a.core.member(b.id)!.incarnation;
    // c's side of a partition declared b dead (as after a healed partition), and says so to a.
    const verdict: MemberUpdate = { id: b.id, incarnation, state: "dead", address: "10.0.0.1", port: b.port, from: c.id };
    await a.core.handle({ kind: "gossip", from: c.id, updates: [verdict] });
    expect(a.core.member(b.id)!.state).toBe("suspect");
    expect(a.core.stats().deathsDoubted).toBe(1);
    // b hears of it and refutes; a never holds it dead.
    await net.runUntil(() => a.core.member(b.id)?.state === "alive", 10);
    expect(a.core.member(b.id)!.state).toBe("alive");
    expect(everSaw(a, b, "dead")).toBe(false);
  });

  test("a doubted death is settled by this node's own probe at once: a member that really died is dead here within one probe, not one suspicion", async () => {
    const net = await swarm(3);
    const [a, b, c] = net.nodes as [SimNode, SimNode, SimNode];
    const heard = () => (a.core.member(b.id) as { heard?: number } | undefined)?.heard;
    await net.runUntil(() => heard() !== undefined && net.clock.now - heard()! < 0.2, 10, 0.05);
    // b's process is killed right after it acked a (nothing listens at its port any more).
    net.kill(b, true);
    const incarnation = a.core.member(b.id)!.incarnation;
    await a.core.handle({ kind: "gossip", from: c.id, updates: [{ id: b.id, incarnation, state: "dead", address: "10.0.0.1", port: b.port, from: c.id }] });
    expect(a.core.stats().deathsDoubted).toBe(1);
    expect(a.core.member(b.id)!.state).toBe("suspect");
    const doubtedAt = net.clock.now;
    await net.runUntil(() => a.core.member(b.id)?.state === "dead", 10);
    expect(a.core.member(b.id)!.state).toBe("dead");
    // A suspicion of a's own would take at least suspicionMult x probeInterval = 4 s here; the probe
    // (direct, then indirect through c) takes at most one probe interval.
    expect(net.clock.now - doubtedAt).toBeLessThanOrEqual(a.core.config.probeInterval);
  });

  test("many doubted deaths at once (a killed process's members) are each settled by a probe, a few at a time, none left to a suspicion", async () => {
    const net = await swarm(14);
    const [a, c] = net.nodes as [SimNode, SimNode];
    const dead = net.nodes.slice(4);
    for (const d of dead) a.core.heardFrom(d.id);
    for (const d of dead) net.kill(d, true);
    const start = net.clock.now;
    for (const d of dead) {
      const m = a.core.member(d.id)!;
      await a.core.handle({ kind: "gossip", from: c.id, updates: [{ id: d.id, incarnation: m.incarnation, state: "dead", address: m.address, port: m.port, from: c.id }] });
    }
    expect(a.core.stats().deathsDoubted).toBe(dead.length);
    await net.runUntil(() => dead.every((d) => net.view(a, d) === "dead"), 30, 0.01);
    for (const d of dead) expect(net.view(a, d)).toBe("dead");
    // Ten probes, at most five at a time, each ended by refused pings and the helpers' nacks: well
    // within the shortest suspicion (4 x log10(14) x 1 s = 4.6 s here).
    expect(net.clock.now - start).toBeLessThan(2);
  });

  test("a death declared elsewhere of a member last heard from longer ago than the shortest suspicion is taken as it is", async () => {
    const net = await swarm(3);
    const [a, b, c] = net.nodes as [SimNode, SimNode, SimNode];
    const heard = () => (a.core.member(b.id) as { heard?: number } | undefined)?.heard;
    await net.runUntil(() => heard() !== undefined && net.clock.now - heard()! < 0.2, 10, 0.05);
    // a stops probing (its view stays as it is), so what it last heard of b only ages: past the
    // shortest suspicion (suspicionMult x probeInterval = 4 s here, a's health being good), a
    // verdict of b's death could be true, and a takes it.
    a.core.stop();
    expect(a.core.stats().awareness).toBe(0);
    await net.runUntil(() => false, 4.1);
    expect(net.clock.now - heard()!).toBeGreaterThan(4);
    const member = a.core.member(b.id)!;
    expect(member.state).toBe("alive");
    await a.core.handle({ kind: "gossip", from: c.id, updates: [{ id: b.id, incarnation: member.incarnation, state: "dead", address: "10.0.0.1", port: b.port, from: c.id }] });
    expect(a.core.member(b.id)!.state).toBe("dead");
    expect(a.core.stats().deathsDoubted).toBe(0);
  });

  test("a member never heard from first-hand: another node's verdict is taken as it is; one that sent a message itself (heardFrom) a moment ago: doubted", async () => {
    const verdictAbout = async (heard: boolean): Promise<SimNode> => {
      const a = new SimNetwork().add();
      const b: MemberUpdate = { id: "b", incarnation: 1, state: "alive", address: "10.0.0.9", port: 9001, meta: { name: "b" } };
      await a.core.handle({ kind: "push_pull", from: "x", join: true, members: [{ ...b, id: "x", port: 9000 }, b] });
      if (heard) a.core.heardFrom("b");
      await a.core.handle({ kind: "gossip", from: "x", updates: [{ ...b, state: "dead", from: "x" }] });
      return a;
    };
    const never = await verdictAbout(false);
    expect(never.core.member("b")!.state).toBe("dead");
    expect(never.core.stats().deathsDoubted).toBe(0);
    const heard = await verdictAbout(true);
    expect(heard.core.member("b")!.state).toBe("suspect");
    expect(heard.core.stats().deathsDoubted).toBe(1);
  });
});
