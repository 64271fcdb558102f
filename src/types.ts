/**
 * Records shared with Python peers. Keys are exactly the wire's (snake_case), in the order Python
 * writes them: Python rebuilds several of these with strict constructors, so an extra key breaks it.
 *
 * @module
 */

/** What a node is: an ordinary member or a bootstrap (seed-only) node. */
export type NodeKind = "node" | "bootstrap";

/** A known member of the swarm, as `_synapse.join`, `_synapse.peers` and heartbeats carry it. */
export interface Peer {
  id: string;
  address: string;
  port: number;
  swarm: string | null;
  team: string | null;
  name: string;
  kind: NodeKind;
  capabilities: string[];
  /** Unix seconds (float) when the peer was last heard from. */
  last_seen: number;
}

/** `_synapse.info` and the `self` of a heartbeat answer. */
export interface NodeInfo {
  id: string;
  name: string;
  kind: NodeKind;
  address: string;
  port: number;
  swarm: string | null;
  team: string | null;
  role: string | null;
  description: string | null;
  capabilities: string[];
}

/** A capability a node advertises; `name` is what peers see in capability lists. */
export interface Capability {
  name: string;
  description?: string;
  /** JSON Schema of the input, if any (sent as `input_schema`). */
  inputSchema?: unknown;
  /** JSON Schema of the output, if any (sent as `output_schema`). */
  outputSchema?: unknown;
}

/** The handle of one broadcast: every receiver sees the same nonce. */
export interface Broadcast {
  /** UUID string (UUIDv7 when made here); also the conversation id. */
  nonce: string;
  /** The peer that broadcast. */
  origin: Peer;
  /** The endpoint that was broadcast. */
  endpoint: string;
}

/**
 * One event of a shared conversation (wire record, keys in the order Python writes them). A
 * broadcast's conversation id is its nonce; its opening `message` event has `event_id` = nonce too.
 */
export interface ConversationEvent {
  conversation_id: string;
  event_id: string;
  /** `message`, `ack`, `reply`, `error`, `summary`, or a custom kind such as `task.offer`. */
  kind: string;
  /** The author. */
  peer: Peer;
  payload: Record<string, unknown>;
  parent_id: string | null;
  /** Unix seconds (float). */
  created_at: number;
  metadata: Record<string, unknown>;
}

/** One peer's answer to a broadcast, as `_synapse.broadcast.reply` carries it. */
export interface BroadcastReply {
  nonce: string;
  /** The peer that replied. */
  peer: Peer;
  result: unknown;
}
