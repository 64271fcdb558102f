/**
 * mDNS discovery, only inside network namespaces created (and deleted) here; every node runs as a
 * subprocess inside its namespace (`ip netns exec`). Skipped, with the reason, without root or `ip`.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { JsonLines, Netns, cleanupNamespaces, linkPair, netnsUnavailable } from "../helpers/netns.ts";

const unavailable = netnsUnavailable();
if (unavailable) console.warn(`SKIP membership mDNS tests: ${unavailable}`);
const nsTest = unavailable ? test.skip : test;

const CHILD = join(import.meta.dir, "mdns-child.ts");

afterEach(cleanupNamespaces);

/** Start the child script in `ns`; returns its stdout lines. */
function child(ns: Netns, mode: string, config: Record<string, unknown> = {}): { lines: JsonLines; proc: Bun.Subprocess<"pipe", "pipe", "pipe"> } {
  const proc = ns.spawnBun(CHILD, [mode, JSON.stringify(config)]);
  return { lines: new JsonLines(proc.stdout), proc };
}

const is = (event: string, extra: (l: Record<string, unknown>) => boolean = () => true) => (l: Record<string, unknown>) => l.event === event && extra(l);

describe("membership - mDNS", () => {
  nsTest(
    "two nodes on one host find each other; a node of another swarm is seen but not added",
    async () => {
      const ns = Netns.create();
      const a = child(ns, "node", { name: "alpha", swarm: "lab", bind: "0.0.0.0", mdns: { hostName: "box" } });
      const b = child(ns, "node", { name: "beta", swarm: "lab", bind: "0.0.0.0", mdns: { hostName: "box" }, capabilities: ["python"] });
      const c = child(ns, "node", { name: "gamma", swarm: "other", bind: "0.0.0.0", mdns: { hostName: "box" } });
      const readyA = await a.lines.next(is("ready"), 10_000, "alpha ready");
      const readyB = await b.lines.next(is("ready"), 10_000, "beta ready");
      await c.lines.next(is("ready"), 10_000, "gamma ready");
      const seenByA = await a.lines.next(is("peer.joined", (l) => l.id === readyB.id), 10_000, "alpha to discover beta");
      const seenByB = await b.lines.next(is("peer.joined", (l) => l.id === readyA.id), 10_000, "beta to discover alpha");
      expect(seenByA).toMatchObject({ name: "beta", port: readyB.port, capabilities: ["python"] });
      expect(seenByB).toMatchObject({ name: "alpha", port: readyA.port });
      // join({ wait }) waited for discovery and returned the peer.
      const joined = await a.lines.next(is("joined"), 10_000, "alpha's join to resolve");
      expect(joined.peers).toEqual(["beta"]);
      await Bun.sleep(1000);
      expect(a.lines.filter(is("peer.joined")).map((l) => l.name)).toEqual(["beta"]);
      expect(c.lines.filter(is("peer.joined"))).toEqual([]);
      expect(a.lines.filter(is("warn"))).toEqual([]);
      // A node that stops says goodbye: its peers drop it.
      b.proc.kill("SIGTERM");
      await b.lines.next(is("stopped"), 10_000, "beta to stop");
      const gone = await a.lines.next(is("peer.offline"), 10_000, "alpha to see beta go");
      expect(gone.id).toBe(readyB.id);
    },
    40_000,
  );

  nsTest(
    "the advertisement: instance name, TXT keys of PROTOCOL.md plus ext, SRV and A records",
    async () => {
      const ns = Netns.create();
      const node = child(ns, "node", {
        name: "my node.1",
        swarm: "lab",
        team: "red",
        bind: "0.0.0.0",
        mdns: { hostName: "box-1" },
        capabilities: Array.from({ length: 40 }, (_, i) => `skill-number-${i}`),
      });
      const ready = await node.lines.next(is("ready"), 10_000, "node ready");
      const browser = child(ns, "browse");
      const instance = `my-node-1-${String(ready.id).slice(0, 8)}._synapse._tcp.local`;
      const txtLine = await browser.lines.next(is("TXT", (l) => l.name === instance), 10_000, "the TXT record");
      const txt = txtLine.data as string[];
      for (const entry of txt) expect(Buffer.byteLength(entry)).toBeLessThanOrEqual(255);
      const props = Object.fromEntries(txt.map((t) => [t.slice(0, t.indexOf("=")), t.slice(t.indexOf("=") + 1)]));
      expect(props).toMatchObject({ id: ready.id, name: "my node.1", kind: "node", swarm: "lab", team: "red", host: "box-1", ext: "mux,leave" });
      const caps = [props.capabilities, ...Object.keys(props).filter((k) => k.startsWith("capabilities.")).sort().map((k) => props[k])].join(",").split(",");
      expect(caps).toEqual(Array.from({ length: 40 }, (_, i) => `skill-number-${i}`));
      const srv = await browser.lines.next(is("SRV", (l) => l.name === instance), 10_000, "the SRV record");
      expect((srv.data as { port: number }).port).toBe(ready.port as number);
      const target = (srv.data as { target: string }).target;
      expect(target).toBe(`my-node-1-${String(ready.id).slice(0, 8)}.local`);
      const a = await browser.lines.next(is("A", (l) => l.name === target), 10_000, "the A record");
      expect(a.data).toBe(ready.address);
    },
    30_000,
  );

  nsTest(
    "a Python-style advertisement (Python TXT keys only) is discovered and joined",
    async () => {
      const ns = Netns.create();
      // Its TXT record and its heartbeat answer (the probe before it joins) name the same capabilities.
      const py = child(ns, "python", { name: "py node", swarm: "lab", bind: "127.0.0.1", capabilities: ["python", "numpy"] });
      const pyReady = await py.lines.next(is("ready"), 10_000, "python-style peer ready");
      await py.lines.next(is("advertising"), 10_000, "python-style advertisement");
      const node = child(ns, "node", { name: "bun", swarm: "lab", bind: "127.0.0.1" });
      const seen = await node.lines.next(is("peer.joined", (l) => l.id === pyReady.id), 10_000, "bun to discover the python-style peer");
      expect(seen).toMatchObject({ name: "py node", address: "127.0.0.1", port: pyReady.port, capabilities: ["python", "numpy"] });
      // The TCP side learns of the Bun node through its heartbeat.
      const back = await py.lines.next(is("peer.joined"), 10_000, "the python-style peer to learn of bun");
      expect(back.name).toBe("bun");
    },
    30_000,
  );

  nsTest(
    "cutting the link between two namespaces: peer.offline on both sides, then back after the link returns",
    async () => {
      const ns1 = Netns.create({ loopback: "up" });
      const ns2 = Netns.create({ loopback: "up" });
      linkPair(ns1, ns2, "syn-a", "syn-b", "192.0.2.1", "192.0.2.2");
      const common = { swarm: "lab", bind: "0.0.0.0", heartbeatInterval: 0.3, peerTimeout: 2 };
      const a = child(ns1, "node", { ...common, name: "left", interface: "syn-a", mdns: { hostName: "left-host" } });
      const b = child(ns2, "node", { ...common, name: "right", interface: "syn-b", mdns: { hostName: "right-host" } });
      const readyA = await a.lines.next(is("ready"), 10_000, "left ready");
      const readyB = await b.lines.next(is("ready"), 10_000, "right ready");
      expect(readyA.address).toBe("192.0.2.1");
      expect(readyB.address).toBe("192.0.2.2");
      await a.lines.next(is("peer.joined", (l) => l.id === readyB.id && l.address === "192.0.2.2"), 10_000, "left to discover right");
      await b.lines.next(is("peer.joined", (l) => l.id === readyA.id && l.address === "192.0.2.1"), 10_000, "right to discover left");

      ns1.ip(["link", "set", "syn-a", "down"]);
      await a.lines.next(is("peer.offline", (l) => l.id === readyB.id), 15_000, "left to see right offline");
      await b.lines.next(is("peer.offline", (l) => l.id === readyA.id), 15_000, "right to see left offline");
      const markA = a.lines.lines.length;
      const markB = b.lines.lines.length;

      ns1.ip(["link", "set", "syn-a", "up"]);
      ns1.ip(["route", "replace", "224.0.0.0/4", "dev", "syn-a"], true);
      ns2.ip(["route", "replace", "224.0.0.0/4", "dev", "syn-b"], true);
      await a.lines.next(is("peer.joined", (l) => l.id === readyB.id), 25_000, "right back on left", markA);
      await b.lines.next(is("peer.joined", (l) => l.id === readyA.id), 25_000, "left back on right", markB);
      expect(a.lines.filter(is("peer.offline")).length).toBe(1);
      expect(b.lines.filter(is("peer.offline")).length).toBe(1);
      expect(a.lines.filter(is("fatal"))).toEqual([]);
    },
    70_000,
  );

  nsTest(
    "no multicast (loopback down): one clear warning, the node keeps running and join resolves",
    async () => {
      const ns = Netns.create({ loopback: "down" });
      const node = child(ns, "node", { name: "alone", bind: "0.0.0.0", wait: 1.5, exitAfter: 1.5 });
      await node.lines.next(is("ready"), 10_000, "node ready");
      expect((await node.lines.next(is("joined"), 10_000, "join to resolve")).peers).toEqual([]);
      await node.lines.next(is("stopped"), 10_000, "a clean stop");
      expect(await node.proc.exited).toBe(0);
      const warnings = node.lines.filter(is("warn"));
      expect(warnings.length).toBe(1);
      expect(String(warnings[0]!.message)).toContain("mDNS unavailable on this host");
      expect(String(warnings[0]!.message)).toContain("discovery continues with seeds only");
    },
    30_000,
  );

  nsTest(
    "UDP 5353 held by another program: one warning, no crash, the node still serves",
    async () => {
      const ns = Netns.create();
      const node = child(ns, "clash", { name: "clash", bind: "127.0.0.1", wait: 0.5, exitAfter: 0.5 });
      await node.lines.next(is("hogging"), 10_000, "the port to be taken");
      await node.lines.next(is("ready"), 10_000, "node ready");
      expect((await node.lines.next(is("ping"), 10_000, "the node to answer")).result).toBe("pong");
      await node.lines.next(is("stopped"), 10_000, "a clean stop");
      expect(await node.proc.exited).toBe(0);
      const warnings = node.lines.filter(is("warn"));
      expect(warnings.map((w) => w.message)).toEqual(["mDNS disabled: cannot use UDP port 5353 (EADDRINUSE); discovery continues with seeds only"]);
    },
    30_000,
  );
});
