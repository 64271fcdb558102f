/**
 * A node's numbers: calls and bytes by endpoint group, peers by membership state, and the
 * membership and conversation layers' own counters, as one record ({@link NodeMetrics}) that
 * `node.metrics()` returns and the unpublished built-in {@link METRICS_ENDPOINT} serves (to `sn
 * metrics` and the dashboard; a Python node never calls it).
 *
 * Traffic is counted where frames cross the transport: the node's listener (requests served, their
 * answers) and the Clients the node calls through (requests made, their answers) each tell a
 * {@link TrafficCounters}, which files the frame under its endpoint's group. That costs a few
 * comparisons and two additions per frame, nothing allocated.
 *
 * @module
 */
import type { TrafficMeter } from "./transport/traffic.ts";

/** The unpublished endpoint that answers {@link NodeMetrics} (a Bun extension; no arguments). */
export const METRICS_ENDPOINT = "_synapse.metrics";

/**
 * What calls are counted under:
 * - `rpc`: the user's endpoints (any name not starting with `_`, but `synapse.ask`);
 * - `membership`: `_synapse.join`, `_synapse.peers`, `_synapse.heartbeat`, `_synapse.leave` and
 *   the gossip membership's `_synapse.swim.*`;
 * - `conversation`: `_synapse.broadcast.*`, `_synapse.conversation.*`, the artifacts
 *   (`_synapse.artifact*`) and the ask flow (`_node.ask`, `synapse.ask`);
 * - `other`: the remaining built-ins (`_synapse.ping`, `_synapse.info`, `_synapse.hello`, this
 *   endpoint, ...) and frames that named no readable endpoint.
 */
export type TrafficGroup = "rpc" | "membership" | "conversation" | "other";

/** The groups, in the order {@link NodeMetrics.traffic} lists them. */
export const TRAFFIC_GROUPS: readonly TrafficGroup[] = ["rpc", "membership", "conversation", "other"];

const RPC = 0;
const MEMBERSHIP = 1;
const CONVERSATION = 2;
const OTHER = 3;

/** The built-ins this node serves, by exact name: one lookup settles a frame of any of them. */
const BUILTINS: ReadonlyMap<string, number> = new Map([
  ...["_synapse.join", "_synapse.peers", "_synapse.heartbeat", "_synapse.leave"].map((n) => [n, MEMBERSHIP] as const),
  ...["ping", "ping_req", "push_pull", "gossip"].map((n) => [`_synapse.swim.${n}`, MEMBERSHIP] as const),
  ...["_synapse.broadcast.reply", "_synapse.conversation.event", "_synapse.conversation.sync", "_synapse.conversation.list"].map((n) => [n, CONVERSATION] as const),
  ...["_synapse.artifacts", "_synapse.artifact.get", "_node.ask"].map((n) => [n, CONVERSATION] as const),
]);
/** Names of other built-ins to come, by prefix (checked only for a name not in {@link BUILTINS}). */
const MEMBERSHIP_PREFIXES = ["_synapse.swim."];
const CONVERSATION_PREFIXES = ["_synapse.broadcast.", "_synapse.conversation.", "_synapse.artifact"];

/** The index of `endpoint`'s group in {@link TRAFFIC_GROUPS}. No allocation: it runs once per frame. */
function groupIndex(endpoint: string): number {
  // charCode 95 is "_": a user endpoint is settled by one comparison.
  if (endpoint.charCodeAt(0) !== 95) return endpoint === "" ? OTHER : endpoint === "synapse.ask" ? CONVERSATION : RPC;
  const known = BUILTINS.get(endpoint);
  if (known !== undefined) return known;
  for (const prefix of MEMBERSHIP_PREFIXES) if (endpoint.startsWith(prefix)) return MEMBERSHIP;
  for (const prefix of CONVERSATION_PREFIXES) if (endpoint.startsWith(prefix)) return CONVERSATION;
  return OTHER;
}

/** The group `endpoint`'s calls are counted under. */
export function endpointGroup(endpoint: string): TrafficGroup {
  return TRAFFIC_GROUPS[groupIndex(endpoint)]!;
}

/** Calls and bytes of one group, both directions. Bytes count whole frames with their headers. */
export interface TrafficCounts {
  /** Requests this node made (it called a peer). */
  calls_sent: number;
  /** Requests this node served (a peer called it). */
  calls_received: number;
  /** Bytes written: the requests it made and the answers it gave. */
  bytes_sent: number;
  /** Bytes read: the requests it served and the answers it got. */
  bytes_received: number;
}

/** Fields of one group in {@link TrafficCounters}' array. */
const CALLS_SENT = 0;
const CALLS_RECEIVED = 1;
const BYTES_SENT = 2;
const BYTES_RECEIVED = 3;
const FIELDS = 4;

/**
 * The {@link TrafficMeter} of a node: counts per group in one preallocated array. Counts grow for
 * the node's lifetime (across restarts); a float64 holds integers exactly up to 2^53.
 */
export class TrafficCounters implements TrafficMeter {
  private readonly counts = new Float64Array(TRAFFIC_GROUPS.length * FIELDS);

  sent(endpoint: string, bytes: number, request: boolean): void {
    const at = groupIndex(endpoint) * FIELDS;
    if (request) this.counts[at + CALLS_SENT]! += 1;
    this.counts[at + BYTES_SENT]! += bytes;
  }

  received(endpoint: string, bytes: number, request: boolean): void {
    const at = groupIndex(endpoint) * FIELDS;
    if (request) this.counts[at + CALLS_RECEIVED]! += 1;
    this.counts[at + BYTES_RECEIVED]! += bytes;
  }

  /** The counts of one group now. */
  of(group: TrafficGroup): TrafficCounts {
    const at = TRAFFIC_GROUPS.indexOf(group) * FIELDS;
    const c = this.counts;
    return { calls_sent: c[at + CALLS_SENT]!, calls_received: c[at + CALLS_RECEIVED]!, bytes_sent: c[at + BYTES_SENT]!, bytes_received: c[at + BYTES_RECEIVED]! };
  }

  /** Every group's counts now, and their sum. */
  snapshot(): { total: TrafficCounts; groups: Record<TrafficGroup, TrafficCounts> } {
    const total: TrafficCounts = { calls_sent: 0, calls_received: 0, bytes_sent: 0, bytes_received: 0 };
    const groups = {} as Record<TrafficGroup, TrafficCounts>;
    for (const group of TRAFFIC_GROUPS) {
      const g = (groups[group] = this.of(group));
      total.calls_sent += g.calls_sent;
      total.calls_received += g.calls_received;
      total.bytes_sent += g.bytes_sent;
      total.bytes_received += g.bytes_received;
    }
    return { total, groups };
  }
}

/** Counters of a layer under wire names: numbers, keys in snake_case. */
export type Counters = Record<string, number>;

/**
 * A node's numbers at one moment (`node.metrics()`, and the answer of {@link METRICS_ENDPOINT}).
 * Keys are snake_case, as on the wire; counts are totals since the node was created, so a reader
 * makes rates from two readings (`time` tells when each was taken).
 */
export interface NodeMetrics {
  /** Peers known alive now. */
  peers_alive: number;
  /** Requests served, every group together. */
  calls_received: number;
  /** Requests made, every group together. */
  calls_sent: number;
  /** Bytes read, every group together. */
  bytes_received: number;
  /** Bytes written, every group together. */
  bytes_sent: number;
  /** When this reading was taken: Unix seconds. */
  time: number;
  /** Seconds since the node (last) started; 0 while stopped. */
  uptime: number;
  /** Calls and bytes by endpoint group. */
  traffic: Record<TrafficGroup, TrafficCounts>;
  /**
   * Peers by state (`alive`, `suspect`, `offline`) and membership's own counters (heartbeats,
   * joins, refusals, ... under their snake_case names).
   */
  membership: Counters & { alive: number; suspect: number; offline: number };
  /** The conversation layer's counters (events received, forwarded, dropped as duplicates, ...). */
  conversation: Counters;
}

/** What {@link readMetrics} reads of a node. */
export interface MetricsSources {
  traffic: TrafficCounters;
  /** Peers by state. */
  states: { alive: number; suspect: number; offline: number };
  /** Membership's counters, camelCase names, as its `stats` gives them. */
  membership: object;
  /** The conversation layer's counters, camelCase names. */
  conversation: object;
  /** Unix seconds now. */
  now: number;
  /** Unix seconds of the last start, or null while stopped. */
  startedAt: number | null;
}

/** `heartbeatsSent` → `heartbeats_sent`. */
function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * The numeric fields of a layer's counters under wire names, those of a nested group of counters
 * prefixed with its name (`swim.probesSent` → `swim_probes_sent`); anything else is left out.
 */
function counters(stats: object, prefix = ""): Counters {
  const out: Counters = {};
  for (const [key, value] of Object.entries(stats)) {
    if (typeof value === "number") out[prefix + snakeCase(key)] = value;
    else if (prefix === "" && value !== null && typeof value === "object" && !Array.isArray(value)) Object.assign(out, counters(value, `${snakeCase(key)}_`));
  }
  return out;
}

/** One {@link NodeMetrics} reading. */
export function readMetrics(sources: MetricsSources): NodeMetrics {
  const { total, groups } = sources.traffic.snapshot();
  return {
    peers_alive: sources.states.alive,
    calls_received: total.calls_received,
    calls_sent: total.calls_sent,
    bytes_received: total.bytes_received,
    bytes_sent: total.bytes_sent,
    time: sources.now,
    uptime: sources.startedAt === null ? 0 : Math.max(0, sources.now - sources.startedAt),
    traffic: groups,
    membership: { ...sources.states, ...counters(sources.membership) },
    conversation: counters(sources.conversation),
  };
}
