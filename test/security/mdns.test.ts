/**
 * What a closed swarm's node advertises over mDNS: only what discovery needs (id, kind, swarm,
 * team, host) and the `closed` flag in `ext`; no name (neither in TXT nor in the instance label),
 * no capabilities. An open node's advertisement is unchanged.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { MdnsDiscovery } from "../../src/membership/mdns.ts";
import { buildTxt, CLOSED_EXTENSION, instanceName, MDNS_EXTENSIONS, parseTxt, txtPeer } from "../../src/membership/mdns-txt.ts";
import { FakeDiscoveryHost, FakeMulticast, peer } from "../membership/fakes.ts";

const stops: Array<() => unknown> = [];
afterEach(async () => {
  await Promise.all(stops.splice(0).map((s) => s()));
});

const fields = {
  id: "ab".repeat(32),
  name: "billing-agent",
  kind: "node" as const,
  swarm: "lab",
  team: "finance",
  host: "box1",
  capabilities: ["invoices", "payroll"],
  extensions: MDNS_EXTENSIONS,
};

describe("mdns - closed swarm", () => {
  test("the TXT of a closed node carries no name and no capabilities, and says closed", () => {
    const txt = buildTxt({ ...fields, closed: true });
    expect(txt).toEqual([`id=${fields.id}`, "kind=node", "swarm=lab", "team=finance", "host=box1", `ext=${MDNS_EXTENSIONS.join(",")},${CLOSED_EXTENSION}`]);
    expect(txt.join(" ")).not.toContain("billing");
    expect(txt.join(" ")).not.toContain("invoices");
    expect(instanceName(fields.name, fields.id, true)).toBe(`synapse-${fields.id.slice(0, 8)}`);
    const seen = txtPeer(parseTxt(txt), { instance: "synapse-abababab._synapse._tcp.local", port: 9999, address: "10.0.0.5", source: "10.0.0.5", localHost: "other", now: 1 });
    expect(seen!.extensions).toContain(CLOSED_EXTENSION);
    expect(seen!.peer.capabilities).toEqual([]);
    expect(seen!.peer.swarm).toBe("lab");
  });

  test("an open node's TXT is as before", () => {
    const txt = buildTxt(fields);
    expect(txt).toEqual([`id=${fields.id}`, "name=billing-agent", "kind=node", "swarm=lab", "team=finance", "host=box1", "capabilities=invoices,payroll", `ext=${MDNS_EXTENSIONS.join(",")}`]);
    expect(instanceName(fields.name, fields.id)).toBe(`billing-agent-${fields.id.slice(0, 8)}`);
  });
});

describe("mdns - closed and open nodes on one multicast group", () => {
  test("closed nodes find each other; neither a closed nor an open node admits the other kind", async () => {
    const group = new FakeMulticast();
    const make = (name: string, address: string, closed: boolean) => {
      const host = new FakeDiscoveryHost(peer(name, address, 9999));
      const mdns = new MdnsDiscovery(host, { hostName: `box-${name}`, querySchedule: [0, 3600], closed }, group.opener(address));
      stops.push(() => mdns.stop());
      return { host, mdns };
    };
    const closedA = make("a", "198.51.100.2", true);
    const closedB = make("b", "198.51.100.3", true);
    const open = make("c", "198.51.100.4", false);
    for (const n of [closedA, closedB, open]) n.mdns.start();
    for (const n of [closedA, closedB, open]) await n.mdns.refresh();
    await group.idle();
    expect(closedA.host.knows(closedB.host.me.id)).toBe(true);
    expect(closedB.host.knows(closedA.host.me.id)).toBe(true);
    expect(closedA.host.knows(open.host.me.id)).toBe(false);
    expect(open.host.knows(closedA.host.me.id)).toBe(false);
    expect(open.host.knows(closedB.host.me.id)).toBe(false);
    expect(closedA.mdns.instance).toBe(`synapse-${closedA.host.me.id.slice(0, 8)}`);
  });
});
