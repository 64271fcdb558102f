/**
 * A node whose sends cannot be made (its process out of file descriptors: the transport's `EMFILE`,
 * `SwimPorts.isLocal`) suspects nobody for it: a probe whose ping could not be made asks no helper
 * and is no evidence about the member; the node's local health worsens instead. A member with no
 * route from here (`ENETUNREACH`) is not that: out of reach, as in a partition, it is probed as
 * ever. On the simulation's virtual clock.
 */
import { describe, expect, test } from "bun:test";
import type { SwimPorts } from "../../src/membership/swim-types.ts";
import { refusedConnect } from "../../src/membership/gossip-records.ts";
import { outOfDescriptors } from "../../src/transport/connect-failure.ts";
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
  test("the gossip bridge reads the transport's shortage as this node's own failure; a refusal or a missing route is not", () => {
    // As the pool hands it over: its ConnectionError around the connect's, around the transport's
    // error, around Bun's (which called it refused).
    const bun = Object.assign(new Error("Failed to connect"), { code: "ECONNREFUSED" });
    const chain = (transport: Error) => {
      const connect = new ConnectionError("cannot connect to 10.0.0.2:9999", "10.0.0.2:9999", { cause: transport });
      return new ConnectionError(connect.message, "10.0.0.2:9999", { endpoint: "_synapse.swim.ping", cause: connect });
    };
    const explained = (code: string) => chain(Object.assign(new Error(`this host's own trouble (${code})`, { cause: bun }), { code }));
    for (const code of ["EMFILE", "ENFILE"]) {
      expect(outOfDescriptors(explained(code))).toBe(true);
      expect(refusedConnect(explained(code))).toBe(false);
    }
    expect(outOfDescriptors(explained("ENETUNREACH"))).toBe(false);
    expect(refusedConnect(explained("ENETUNREACH"))).toBe(false);
    expect(refusedConnect(chain(bun))).toBe(true);
    expect(outOfDescriptors(chain(bun))).toBe(false);
  });

  test("probes without a helper or a suspicion: every member stays alive everywhere, and its local health worsens", async () => {
    const { net, first } = await swarmWithFirst(6, {});
    const before = first.core.stats();
    first.starved = true;
    await net.runUntil(() => false, 20);
    const after = first.core.stats();
    const probes = after.probesSent - before.probesSent;
    // Local health stretches the probe interval (up to 9 s), so a few rounds.
    expect(probes).toBeGreaterThanOrEqual(3);
    // Each probe's ping failed in the node itself, and asked no helper.
    expect(after.probesUnsent - before.probesUnsent).toBe(probes);
    expect(after.probesFailed).toBe(before.probesFailed);
    expect(after.indirectProbes).toBe(before.indirectProbes);
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

  test("a member that dies while this node cannot reach it is found dead by the others, and this node learns it", async () => {
    const { net, first } = await swarmWithFirst(6, {});
    const target = net.nodes[3]!;
    // This node cannot make a connection to the target (but to the others it can), and the target
    // went silent: this node's own probes of it suspect nothing, the others' do.
    net.kill(target);
    first.unsentTo.add(target.id);
    const before = first.core.stats();
    await net.runUntil(() => net.view(first, target) === "dead", 60);
    const after = first.core.stats();
    expect(net.view(first, target)).toBe("dead");
    expect(after.suspects).toBe(before.suspects);
    expect(after.deathsDeclared).toBe(before.deathsDeclared);
  });
});
