/**
 * The one-shot commands of `sn`: `ping`, `info`, `methods`, `peers`, `metrics` and `call`. Each dials one
 * address with a {@link Client} (through the closed swarm's handshake with `--swarm-key` or
 * `SYNAPSE_SWARM_KEY`), prints what came back and returns 0; errors (typed, from
 * `src/errors.ts`) propagate to `main`, which prints them and exits with code 1.
 *
 * @module
 */
import { Client, ErrorCode, METRICS_ENDPOINT, RemoteError, SynapseError, TRAFFIC_GROUPS, UnsupportedError, checkArtifact, kw, type ArtifactSignature, type NodeInfo, type NodeMetrics, type Peer } from "../index.ts";
import { formatAddress, parseAddress, parseKeywords, parseValue, seconds, type Address } from "./args.ts";
import { Printer, brief, shortId, table } from "./output.ts";
import { booleanFlag, listFlag, stringFlag, type Parsed } from "./parse.ts";
import type { Io } from "./command.ts";
import { closedSwarmOptions, explainFailure } from "./closed-swarm.ts";

/** One capability of a {@link RemoteCard}, as `_node.capabilities` lists it. */
export interface CardCapability {
  name: string;
  description: string;
  input_schema: unknown;
  output_schema: unknown;
}

/**
 * A remote node's agent card: the `_synapse.info` fields, the capabilities with their schemas
 * (`_node.capabilities`) and the published endpoints (`_synapse.methods`), in the shape of
 * the library's remote view (wire keys; `agentCard()` publishes the Python examples' shape).
 */
export interface RemoteCard extends Omit<NodeInfo, "capabilities"> {
  capabilities: CardCapability[];
  endpoints: Array<{ name: string; description: string }>;
  /**
   * The check of the node's published agent card (the `agent-card` artifact, see `checkArtifact`
   * and docs/security.md): signed by it, unsigned, or tampered with; null when it publishes none.
   */
  agent_card: ArtifactSignature | null;
}

/** How `sn info` shows an agent card's check. */
function cardCheckText(check: ArtifactSignature | null): string {
  if (check === null) return "(none published)";
  if (check.status === "signed") return `signed by ${shortId(check.signer)}`;
  if (check.status === "unsigned") return "unsigned";
  return `TAMPERED: ${check.reason}`;
}

/**
 * Ask a node who it is: `_synapse.info` (required) plus `_node.info`, `_node.capabilities` and
 * `_synapse.methods` when the node answers them (a node that does not is shown without them).
 */
export async function fetchCard(c: Client): Promise<RemoteCard> {
  const info = await c.info();
  const [nodeInfo, capabilities, methods, published] = await Promise.allSettled([
    c.call<{ role?: string | null; description?: string | null }>("_node.info"),
    c.call<CardCapability[]>("_node.capabilities"),
    c.methods(),
    c.call("_synapse.artifact.get", "agent-card"),
  ]);
  const extra = nodeInfo.status === "fulfilled" && nodeInfo.value ? nodeInfo.value : {};
  const details =
    capabilities.status === "fulfilled" && Array.isArray(capabilities.value)
      ? capabilities.value.map((cap) => ({
          name: String(cap.name),
          description: cap.description ?? "",
          input_schema: cap.input_schema ?? null,
          output_schema: cap.output_schema ?? null,
        }))
      : info.capabilities.map((name) => ({ name, description: "", input_schema: null, output_schema: null }));
  const endpoints =
    methods.status === "fulfilled" && Array.isArray(methods.value)
      ? methods.value.map((m) => ({ name: String(m.name), description: m.description ?? "" }))
      : [];
  return {
    ...info,
    role: info.role ?? extra.role ?? null,
    description: info.description ?? extra.description ?? null,
    capabilities: details,
    endpoints,
    agent_card: published.status === "fulfilled" ? checkArtifact(published.value, info.id) : null,
  };
}

/** Seconds since `lastSeen` (unix seconds) as `3.2s ago`. */
function ago(lastSeen: number): string {
  if (typeof lastSeen !== "number" || !Number.isFinite(lastSeen)) return "-";
  const s = Math.max(0, Date.now() / 1000 - lastSeen);
  return s < 60 ? `${s.toFixed(1)}s ago` : s < 3600 ? `${Math.floor(s / 60)}m ago` : `${Math.floor(s / 3600)}h ago`;
}

/** What the one-shot commands share: the parsed flags, the printer, the address. */
interface Query {
  parsed: Parsed;
  out: Printer;
  address: Address;
  client: Client;
}

async function ping({ out, address, client: c }: Query): Promise<void> {
  const started = performance.now();
  const result = await c.ping();
  const ms = Math.round((performance.now() - started) * 100) / 100;
  if (out.json) out.record({ address: formatAddress(address), result, ms });
  else out.line(`${result} from ${formatAddress(address)} in ${ms} ms`);
}

async function info({ out, client: c }: Query): Promise<void> {
  const card = await fetchCard(c);
  if (out.json) {
    out.record(card);
    return;
  }
  out.line(`${card.name}  ${shortId(card.id)}  (${card.kind})`);
  const rows: string[][] = [
    ["  id", card.id],
    ["  address", `${card.address}:${card.port}`],
    ["  swarm", card.swarm ?? "-"],
    ["  team", card.team ?? "-"],
    ["  role", card.role ?? "-"],
    ["  description", card.description ?? "-"],
    ["  agent card", cardCheckText(card.agent_card)],
  ];
  for (const line of table(rows)) out.line(line);
  out.line(`  capabilities${card.capabilities.length === 0 ? "  (none)" : ""}`);
  const caps = card.capabilities.map((cap) => {
    const schemas = [cap.input_schema !== null ? `in ${brief(cap.input_schema, 60)}` : "", cap.output_schema !== null ? `out ${brief(cap.output_schema, 60)}` : ""]
      .filter(Boolean)
      .join("  ");
    return [`    ${cap.name}`, cap.description, schemas];
  });
  for (const line of table(caps)) out.line(line);
  out.line(`  endpoints${card.endpoints.length === 0 ? "  (none published)" : ""}`);
  for (const line of table(card.endpoints.map((e) => [`    ${e.name}`, e.description]))) out.line(line);
}

async function methods({ out, client: c }: Query): Promise<void> {
  const list = await c.methods();
  if (out.json) {
    out.record(list);
    return;
  }
  if (list.length === 0) out.line("(no published endpoints)");
  for (const line of table(list.map((m) => [m.name, m.description ?? ""]))) out.line(line);
}

async function peers({ out, client: c }: Query): Promise<void> {
  const list: Peer[] = await c.peers();
  if (out.json) {
    out.record(list);
    return;
  }
  if (list.length === 0) {
    out.line("(no known peers)");
    return;
  }
  const sorted = [...list].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  const rows = [
    ["NAME", "ID", "ADDRESS", "KIND", "SWARM/TEAM", "CAPABILITIES", "LAST SEEN"],
    ...sorted.map((p) => [
      p.name,
      shortId(p.id),
      `${p.address}:${p.port}`,
      p.kind,
      `${p.swarm ?? "-"}/${p.team ?? "-"}`,
      p.capabilities.length ? p.capabilities.join(",") : "-",
      ago(p.last_seen),
    ]),
  ];
  for (const line of table(rows)) out.line(line);
}

/** `sn metrics ADDRESS`: a Bun node's counters (`_synapse.metrics`), as tables or the record. */
async function metrics({ out, client: c }: Query): Promise<void> {
  let m: NodeMetrics;
  try {
    m = await c.call<NodeMetrics>(METRICS_ENDPOINT);
  } catch (error) {
    // A Python node refused the hello, so the pool did not send it the extension endpoint.
    if (error instanceof UnsupportedError) {
      throw new SynapseError(ErrorCode.Unsupported, `${c.peer} serves no metrics (${METRICS_ENDPOINT}): a Python node, which speaks the original protocol only`, { cause: error });
    }
    // A Bun node from before metrics refuses the unknown endpoint so.
    if (error instanceof RemoteError && error.code === "bad_request") {
      throw new RemoteError(error.code, `${c.peer} serves no metrics (${METRICS_ENDPOINT}): a Bun node older than metrics`, METRICS_ENDPOINT, c.peer, { cause: error });
    }
    throw error;
  }
  if (out.json) {
    out.record(m);
    return;
  }
  const ms = m.membership ?? {};
  out.line(`peers: ${ms.alive ?? m.peers_alive} alive, ${ms.suspect ?? 0} suspect, ${ms.offline ?? 0} offline; up ${Math.round(m.uptime ?? 0)} s`);
  const traffic = m.traffic ?? {};
  const rows = [["GROUP", "CALLS SENT", "CALLS RECEIVED", "BYTES SENT", "BYTES RECEIVED"]];
  for (const g of TRAFFIC_GROUPS) {
    const t = traffic[g];
    if (t) rows.push([g, String(t.calls_sent), String(t.calls_received), String(t.bytes_sent), String(t.bytes_received)]);
  }
  rows.push(["total", String(m.calls_sent), String(m.calls_received), String(m.bytes_sent), String(m.bytes_received)]);
  for (const line of table(rows)) out.line(line);
  for (const [title, counters] of [["membership", ms], ["conversation", m.conversation ?? {}]] as const) {
    const entries = Object.entries(counters).filter(([k]) => !["alive", "suspect", "offline"].includes(k));
    if (entries.length > 0) out.line(`${title}: ${entries.map(([k, v]) => `${k} ${v}`).join(", ")}`);
  }
}

/** `sn call ADDRESS ENDPOINT [ARGS...] [--kw key=value ...]`: the arguments are checked before dialing. */
async function call({ parsed, out, client: c }: Query): Promise<void> {
  const [, endpoint, ...words] = parsed.positionals;
  const positional = words.map((w, i) => parseValue(w, `argument ${i + 1}`));
  const kwargs = parseKeywords(listFlag(parsed, "kw"));
  out.value(await c.call(endpoint!, ...positional, kw(kwargs)));
}

const COMMANDS = { ping, info, methods, peers, metrics, call } as const;

/** Run `sn ping|info|methods|peers|metrics|call` (the command is `parsed.command`). */
export async function run(parsed: Parsed, io: Io): Promise<number> {
  const command = COMMANDS[parsed.command as keyof typeof COMMANDS];
  const out = new Printer(booleanFlag(parsed, "json"), io.stdout, io.stderr);
  const address = parseAddress(parsed.positionals[0]);
  const timeout = seconds(stringFlag(parsed, "timeout"), "timeout", 10);
  const closed = closedSwarmOptions(parsed);
  const client = new Client(address.host, address.port, { timeout, ...closed });
  try {
    await command({ parsed, out, address, client });
  } catch (error) {
    throw explainFailure(error, address, closed);
  }
  return 0;
}
