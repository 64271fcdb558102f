/**
 * What a closed swarm's node advertises over mDNS: only what discovery needs (id, kind, swarm,
 * team, host) and the `closed` flag in `ext`; no name (neither in TXT nor in the instance label),
 * no capabilities. An open node's advertisement is unchanged.
 */
import { describe, expect, test } from "bun:test";
import { buildTxt, CLOSED_EXTENSION, instanceName, MDNS_EXTENSIONS, parseTxt, txtPeer } from "../../src/membership/mdns-txt.ts";

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
    expect(txt).toEqual([`id=${fields.id}`, "kind=node", "swarm=lab", "team=finance", "host=box1", `ext=mux,${CLOSED_EXTENSION}`]);
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
    expect(txt).toEqual([`id=${fields.id}`, "name=billing-agent", "kind=node", "swarm=lab", "team=finance", "host=box1", "capabilities=invoices,payroll", "ext=mux"]);
    expect(instanceName(fields.name, fields.id)).toBe(`billing-agent-${fields.id.slice(0, 8)}`);
  });
});
