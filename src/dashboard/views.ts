/**
 * What the dashboard shows, as data: the records of `GET /api/...` and of the WebSocket's
 * messages (docs/dashboard.md describes them). Types only.
 *
 * @module
 */
import type { PeerStatus } from "../cli/watch-model.ts";

/** Which implementation a peer runs: `bun` answers `_synapse.hello`, `python` refuses it. */
export type Implementation = "bun" | "python" | "unknown";

/** What probing a peer told (`_synapse.hello`, `_synapse.info`, the metrics endpoint). */
export interface PeerDetails {
  implementation: Implementation;
  /** The hello's `implementation` and `version` (Bun peers), e.g. `synapse-p2p-bun 0.1.0`. */
  version: string | null;
  role: string | null;
  description: string | null;
  /** The peer's metrics, when it serves them; null otherwise. */
  metrics: Record<string, unknown> | null;
}

/** One peer as the page and `GET /api/peers` show it. */
export interface PeerView {
  id: string;
  name: string;
  address: string;
  port: number;
  kind: string;
  swarm: string | null;
  team: string | null;
  capabilities: string[];
  status: PeerStatus;
  /** Unix seconds. */
  joinedAt: number;
  lastSeen: number;
  offlineAt: number | null;
  implementation: Implementation;
  version: string | null;
  role: string | null;
  description: string | null;
  metrics: Record<string, unknown> | null;
}

/** Who did something, as small as the page needs it. */
export interface Actor {
  id: string;
  name: string;
}

/** One event of a thread. */
export interface ThreadEvent {
  event_id: string;
  /** `message` (the opening), `ack`, `reply`, `error`, `summary`, or a custom kind (`task.claim`, ...). */
  kind: string;
  peer: Actor;
  /** Unix seconds. */
  created_at: number;
  parent_id: string | null;
  payload: Record<string, unknown>;
}

/** A conversation without its events: a row of the timeline. */
export interface ConversationSummary {
  id: string;
  /** Who opened it, once known. */
  origin: Actor | null;
  /** The broadcast endpoint (`synapse.ask`, `synapse.message`, ...), once the opening is known. */
  endpoint: string | null;
  /** The task, the message or the call, in a line. */
  title: string;
  /** Unix seconds: the first and the latest event. */
  startedAt: number;
  updatedAt: number;
  /** Events by kind (`ack`, `reply`, `error`, `task.claim`, ...), the opening excluded. */
  counts: Record<string, number>;
  /**
   * For a team task (`task.*` events): its latest state, `offer`, `claim`, `grant`, `progress`,
   * or the final `done` / `failed` (the first of those wins); null for other conversations.
   */
  task: string | null;
  /** Events stored (at most the per-thread bound); `dropped` counts the ones let go beyond it. */
  size: number;
  dropped: number;
}

/** A conversation with its thread (`GET /api/conversations/:id`). */
export interface ConversationView extends ConversationSummary {
  events: ThreadEvent[];
}

/** Traffic between two peers in the last minute (an edge of the graph). */
export interface Edge {
  from: string;
  to: string;
  count: number;
  /** Unix seconds of the latest. */
  last: number;
}

/** One second of counters. */
export interface Sample {
  /** Unix seconds (whole). */
  time: number;
  /** Broadcast calls opened and replies sent (both are calls across the swarm). */
  calls: number;
  /** Conversation events of every kind (ACKs, replies, errors, custom and task events). */
  events: number;
  /** Heartbeats exchanged with the dashboard's node. */
  beats: number;
}

/** What changed, as pushed to the page. */
export type Change =
  | { type: "peer"; peer: PeerView }
  | { type: "peer.removed"; id: string }
  | { type: "conversation"; conversation: ConversationSummary; event: ThreadEvent | null }
  | { type: "conversation.removed"; id: string }
  | { type: "tick"; time: number; sample: Sample; edges: Edge[] };

