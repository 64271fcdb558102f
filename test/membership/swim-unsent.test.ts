/**
 * A node whose sends fail for its own trouble (its process out of file descriptors, its host with
 * no route: the transport's `EMFILE`, `ENETUNREACH`; `SwimPorts.isLocal`) suspects nobody for it:
 * a probe whose ping failed so, and that no helper answered, is no evidence about the member; the
 * node's local health worsens instead. On the simulation's virtual clock.
 */
import { describe, expect, test } from "bun:test";
import type { SwimPorts } from "../../src/membership/swim-types.ts";
import { localFailure, refusedConnect } from "../../src/membership/gossip-records.ts";
import { ConnectionError } from "../../src/errors.ts";
import { SimNetwork, type SimNode } from "./swim-sim.ts";

/** `count` nodes joined through the first, which gets `extra` ports; run until all see all alive. */
async function swarmWithFirst(count: number, extra: Partial<SwimPorts>): Promise<{ net: SimNetwork; first: SimNode }> {
  const net = new SimNetwork();
  const first = net.add(extra);
  for (let i = 1; i < count; i++) void net.add().core.join({ id: first.id, address: "10.0.0.1", port: first.port });
  await net.runUntil(() => net.converged(), 120);
  expect(net.converged()).toBe(true);
  return { net, first };
}

describe("a node that cannot send", () => {
  test("the gossip bridge reads the transport's shortage or missing route as this node's own failure, not as a refused connect", () => {
    for (const code of ["EMFILE", "ENFILE", "ENETUNREACH"]) {
      const own = new ConnectionError(`cannot connect to 10.0.0.2:9999 (${code})`, "10.0.0.2:9999", { cause: Object.assign(new Error("x"), { code }) });
      expect(localFailure(own)).toBe(true);
      expect(refusedConnect(own)).toBe(false);
    }
    const refused = new ConnectionError("cannot connect", "10.0.0.2:9999", { cause: Object.assign(new Error("Failed to connect"), { code: "ECONNREFUSED" }) });
    expect(localFailure(refused)).toBe(false);
    expect(refusedConnect(refused)).toBe(true);
  });

  test("probes without a suspicion: every member stays alive everywhere, and its local health worsens", async () => {
    const { net, first } = await swarmWithFirst(6, {});
    const before = first.core.stats();
    first.starved = true;
    await net.runUntil(() => false, 20);
    const after = first.core.stats();
    const probes = after.probesSent - before.probesSent;
    // Local health stretches the probe interval (up to 9 s), so a few rounds.
    expect(probes).toBeGreaterThanOrEqual(3);
    // Each probe's ping failed in the node itself, and so did its helpers' requests: none answered.
    expect(after.probesUnsent - before.probesUnsent).toBe(probes);
    expect(after.probesFailed).toBe(before.probesFailed);
    expect(after.suspects).toBe(before.suspects);
    expect(after.deathsDeclared).toBe(before.deathsDeclared);
    expect(after.awareness).toBeGreaterThan(0);
    // It still answers what it receives: the others hold it alive, and it holds them alive.
    expect(net.converged()).toBe(true);
    expect(first.changes.filter(([, state]) => state !== "alive")).toEqual([]);
  });

  test("without the port, the same failures were suspicions and deaths of live members", async () => {
    const { net, first } = await swarmWithFirst(6, { isLocal: () => false });
    first.starved = true;
    await net.runUntil(() => false, 20);
    const stats = first.core.stats();
    expect(stats.probesUnsent).toBe(0);
    expect(stats.suspects).toBeGreaterThan(0);
    expect(first.changes.some(([, state]) => state === "suspect" || state === "dead")).toBe(true);
  });

  test("a helper's nack is evidence still: a member its helpers cannot reach either is suspected", async () => {
    const { net, first } = await swarmWithFirst(6, {});
    const target = net.nodes[3]!;
    // The target went silent (nothing answers there) and the prober's own pings to it cannot be
    // made; its requests to helpers go out, and they nack: the probe fails as ever.
    net.kill(target);
    first.unsentTo.add(target.id);
    const before = first.core.stats();
    await net.runUntil(() => false, 15);
    const after = first.core.stats();
    expect(net.view(first, target)).not.toBe("alive");
    expect(after.nacks).toBeGreaterThan(before.nacks);
    expect(after.probesUnsent).toBe(before.probesUnsent);
  });
});
