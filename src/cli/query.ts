/**
 * The one-shot commands of `sn`: `ping`, `info`, `methods`, `peers` and `call`. Each dials one
 * address with a {@link Client}, prints what came back and returns; errors (typed, from
 * `src/errors.ts`) propagate to `main`, which prints them and exits with code 1.
 *
 * @module
 */
import { defineCommand } from "citty";
import { Client, kw, type NodeInfo, type Peer } from "../index.ts";
import { formatAddress, parseAddress, parseKeywords, parseValue, repeated, seconds, type Address } from "./args.ts";
import { Printer, brief, shortId, table } from "./output.ts";

/** Flags shared by the one-shot commands. */
export const queryArgs = {
  json: { type: "boolean", description: "Print JSON instead of text (for scripts)" },
  timeout: { type: "string", description: "Seconds to wait for each answer (0 waits forever)", default: "10", valueHint: "seconds" },
} as const;

/** The positional address every one-shot command takes. */
const addressArg = {
  type: "positional",
  description: "Node to ask, as host:port (port 9999 when omitted)",
  required: true,
} as const;

function client(address: Address, timeout: string | undefined): Client {
  return new Client(address.host, address.port, { timeout: seconds(timeout, "timeout", 10) });
}

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
 * `agentCard()` (wire keys).
 */
export interface RemoteCard extends Omit<NodeInfo, "capabilities"> {
  capabilities: CardCapability[];
  endpoints: Array<{ name: string; description: string }>;
}

/**
 * Ask a node who it is: `_synapse.info` (required) plus `_node.info`, `_node.capabilities` and
 * `_synapse.methods` when the node answers them (a node that does not is shown without them).
 */
export async function fetchCard(c: Client): Promise<RemoteCard> {
  const info = await c.info();
  const [nodeInfo, capabilities, methods] = await Promise.allSettled([
    c.call<{ role?: string | null; description?: string | null }>("_node.info"),
    c.call<CardCapability[]>("_node.capabilities"),
    c.methods(),
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
  };
}

/** `sn ping <addr>` */
export const ping = defineCommand({
  meta: { name: "ping", description: "Check that a node answers (_synapse.ping) and how fast" },
  args: { address: addressArg, ...queryArgs },
  async run({ args }) {
    const out = new Printer(args.json);
    const address = parseAddress(args.address);
    const c = client(address, args.timeout);
    const started = performance.now();
    const result = await c.ping();
    const ms = Math.round((performance.now() - started) * 100) / 100;
    if (out.json) out.record({ address: formatAddress(address), result, ms });
    else out.line(`${result} from ${formatAddress(address)} in ${ms} ms`);
  },
});

/** `sn info <addr>` */
export const info = defineCommand({
  meta: { name: "info", description: "Show a node's identity and agent card (_synapse.info, _node.info, _node.capabilities)" },
  args: { address: addressArg, ...queryArgs },
  async run({ args }) {
    const out = new Printer(args.json);
    const card = await fetchCard(client(parseAddress(args.address), args.timeout));
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
  },
});

/** `sn methods <addr>` */
export const methods = defineCommand({
  meta: { name: "methods", description: "List a node's published endpoints (_synapse.methods)" },
  args: { address: addressArg, ...queryArgs },
  async run({ args }) {
    const out = new Printer(args.json);
    const list = await client(parseAddress(args.address), args.timeout).methods();
    if (out.json) {
      out.record(list);
      return;
    }
    if (list.length === 0) out.line("(no published endpoints)");
    for (const line of table(list.map((m) => [m.name, m.description ?? ""]))) out.line(line);
  },
});

/** Seconds since `lastSeen` (unix seconds) as `3.2s ago`. */
function ago(lastSeen: number): string {
  if (typeof lastSeen !== "number" || !Number.isFinite(lastSeen)) return "-";
  const s = Math.max(0, Date.now() / 1000 - lastSeen);
  return s < 60 ? `${s.toFixed(1)}s ago` : s < 3600 ? `${Math.floor(s / 60)}m ago` : `${Math.floor(s / 3600)}h ago`;
}

/** `sn peers <addr>` */
export const peers = defineCommand({
  meta: { name: "peers", description: "List the peers a node knows (_synapse.peers)" },
  args: { address: addressArg, ...queryArgs },
  async run({ args }) {
    const out = new Printer(args.json);
    const list: Peer[] = await client(parseAddress(args.address), args.timeout).peers();
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
  },
});

/** `sn call <addr> <endpoint> [args...] [--kw key=value ...]` */
export const call = defineCommand({
  meta: {
    name: "call",
    description: "Call an endpoint and print its result as JSON",
  },
  args: {
    address: addressArg,
    endpoint: { type: "positional", description: "Endpoint to call", required: true },
    args: { type: "positional", description: "Arguments: JSON when they parse (1, true, '\"x\"', '{\"a\":1}'), else strings; negative numbers after --", required: false },
    kw: { type: "string", description: "A keyword argument, value parsed like the arguments (repeatable)", valueHint: "key=value" },
    ...queryArgs,
  },
  async run({ args, rawArgs }) {
    const out = new Printer(args.json);
    const address = parseAddress(args.address);
    const positional = args._.slice(2).map(parseValue);
    const kwargs = parseKeywords(repeated(rawArgs, "kw"));
    const result = await client(address, args.timeout).call(args.endpoint, ...positional, kw(kwargs));
    out.value(result);
  },
});
