/**
 * `sn list-swarms [--seconds S] [--json]`: browse mDNS (`_synapse._tcp.local.`) for S seconds
 * and list each swarm with its teams, node count and node names, as the Python `sn` does:
 *
 *     lab  (2 nodes)
 *       - ana
 *       - ben
 *     lab / kitchen  (1 node)
 *       - cook
 *
 * A browser, not a member: it joins no swarm and announces nothing. It reads the TXT records
 * with membership's own parser (`parseTxt`, `txtCapabilities`), and asks for the TXT of an
 * instance whose PTR came without it.
 *
 * @module
 */
import dgram from "node:dgram";
import makeMdns from "multicast-dns";
import { SERVICE_TYPE } from "../index.ts";
import { parseTxt, txtCapabilities, type TxtProperties } from "../membership/index.ts";
import { seconds } from "./args.ts";
import { Printer } from "./output.ts";
import { booleanFlag, stringFlag, type Parsed } from "./parse.ts";
import type { Io } from "./command.ts";

/** When to (re)send the PTR query, in seconds after the start (answers can be lost). */
const QUERY_AT = [0, 0.25, 1, 2, 4, 8];

/** One node seen on the network. */
export interface ListedNode {
  id: string;
  name: string;
  kind: string;
  capabilities: string[];
}

/** One swarm and team with its nodes. */
export interface ListedSwarm {
  swarm: string | null;
  team: string | null;
  nodes: ListedNode[];
}

/** Group the TXT records of the instances seen into swarms and teams, sorted. */
export function groupSwarms(instances: Iterable<[string, TxtProperties]>): ListedSwarm[] {
  const groups = new Map<string, ListedSwarm>();
  const seen = new Set<string>();
  for (const [instance, txt] of instances) {
    const id = txt.id ?? instance;
    if (seen.has(id)) continue;
    seen.add(id);
    const swarm = txt.swarm || null;
    const team = "team" in txt ? txt.team || null : "default";
    const key = JSON.stringify([swarm, team]);
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { swarm, team, nodes: [] }));
    group.nodes.push({ id, name: txt.name ?? instance.split(".")[0]!, kind: txt.kind ?? "node", capabilities: txtCapabilities(txt) });
  }
  const label = (g: ListedSwarm) => `${g.swarm ?? "-"}\u0000${g.team === "default" ? "" : (g.team ?? "-")}`;
  const list = [...groups.values()].sort((a, b) => label(a).localeCompare(label(b)));
  for (const g of list) g.nodes.sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  return list;
}

/** The text lines of a listing (the Python `sn`'s format). */
export function listingLines(swarms: readonly ListedSwarm[]): string[] {
  if (swarms.length === 0) return ["no local Synapse swarms found"];
  const lines: string[] = [];
  for (const g of swarms) {
    const title = g.team === "default" ? (g.swarm ?? "-") : `${g.swarm ?? "-"} / ${g.team ?? "-"}`;
    lines.push(`${title}  (${g.nodes.length} node${g.nodes.length === 1 ? "" : "s"})`);
    for (const n of g.nodes) lines.push(`  - ${n.name}`);
  }
  return lines;
}

/** Browse for `duration` seconds; the TXT records of every instance that answered, by instance name. */
export async function browse(duration: number): Promise<Map<string, TxtProperties>> {
  const service = SERVICE_TYPE.toLowerCase();
  const suffix = `.${service}`;
  const txts = new Map<string, TxtProperties>();
  const asked = new Set<string>();
  const socket = dgram.createSocket({ type: "udp4", reuseAddr: true });
  let failure: Error | null = null;
  socket.on("error", (error) => (failure ??= error));
  const mdns = makeMdns({ socket, port: 5353, bind: "0.0.0.0", loopback: true, ttl: 255 });
  mdns.on("error", (error: Error) => (failure ??= error));
  mdns.on("warning", () => {}); // a packet that could not be sent on one interface: the others may do
  mdns.on("response", (packet) => {
    const pending = new Set<string>();
    for (const r of [...(packet.answers ?? []), ...(packet.additionals ?? [])]) {
      const name = r.name.toLowerCase();
      const ttl = (r as { ttl?: number }).ttl ?? 1;
      if (r.type === "PTR" && name === service) {
        const instance = String(r.data).toLowerCase();
        if (ttl === 0) txts.delete(instance);
        else if (!txts.has(instance)) pending.add(instance);
      } else if (r.type === "TXT" && name.endsWith(suffix)) {
        if (ttl === 0) txts.delete(name);
        else {
          txts.set(name, parseTxt(r.data));
          pending.delete(name);
        }
      }
    }
    for (const instance of pending) {
      if (txts.has(instance) || asked.has(instance)) continue;
      asked.add(instance);
      mdns.query({ questions: [{ name: instance, type: "TXT" }] });
    }
  });
  const timers = QUERY_AT.filter((t) => t < duration).map((t) => setTimeout(() => mdns.query({ questions: [{ name: service, type: "PTR" }] }), t * 1000));
  await Bun.sleep(duration * 1000);
  for (const timer of timers) clearTimeout(timer);
  await new Promise<void>((resolve) => mdns.destroy(() => resolve()));
  if (failure !== null && txts.size === 0) throw failure;
  return txts;
}

/** Run `sn list-swarms`. Exit 0, whether swarms were found or not. */
export async function run(parsed: Parsed, io: Io): Promise<number> {
  const out = new Printer(booleanFlag(parsed, "json"), io.stdout, io.stderr);
  const duration = seconds(stringFlag(parsed, "seconds"), "seconds", 3, 0.1);
  const swarms = groupSwarms(await browse(duration));
  if (out.json) out.record(swarms);
  else for (const line of listingLines(swarms)) out.line(line);
  return 0;
}
