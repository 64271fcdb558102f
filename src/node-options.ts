/**
 * What a {@link Node} is configured with ({@link NodeOptions}) and what it emits ({@link NodeEvents}).
 *
 * @module
 */
import type { BroadcastReply, Capability, ConversationEvent, NodeKind } from "./types.ts";
import type { Pool } from "./transport/pool.ts";
import type { Transport } from "./transport/socket.ts";
import type { UserErrorHandler } from "./events.ts";
import type { NodeIdentity } from "./security/identity.ts";
import type { SwarmKeyOption } from "./security/closed-swarm.ts";
import type { MdnsOptions, MembershipEvents, SeedLike } from "./membership/index.ts";
import type { BroadcastReceived, ConversationLog, Summarizer } from "./conversation/index.ts";
import type { TeamEvents } from "./teams/index.ts";

/** Options of `new Node(...)`. Times are in seconds. */
export interface NodeOptions {
  /** Human-readable name (default: `<hostname>-<first 6 chars of id>`). */
  name?: string;
  /** Swarm name; `null` (the default) accepts peers of any swarm. */
  swarm?: string | null;
  /** Team inside the swarm (default `"default"`). */
  team?: string | null;
  /** Free-text role shown in the agent card. */
  role?: string | null;
  /** Free-text description shown in the agent card. */
  description?: string | null;
  /** `"node"` (default) or `"bootstrap"`. */
  kind?: NodeKind;
  /** Advertised capabilities: names or {@link Capability} records. */
  capabilities?: Array<string | Capability>;
  /** Address to listen on (default `"0.0.0.0"`). */
  bind?: string;
  /** Port to listen on; 0 (default) picks a free port, readable as `node.port` after start. */
  port?: number;
  /** Address to tell peers; `"auto"` (default) picks a LAN address when bound to 0.0.0.0. */
  advertise?: string;
  /** Largest accepted request frame in bytes (default 4 MiB). */
  maxUploadSize?: number;
  /**
   * Seconds a request frame may take to arrive whole, counted from its first byte; a connection
   * whose frame is late is closed (default 30; 0 = no limit).
   */
  readTimeout?: number;
  /** Seconds an inbound connection may stay idle before it is closed (default 120; 0 = never). */
  idleTimeout?: number;
  /**
   * Inbound connections open at once; past it a new one is answered "server busy" and closed
   * (default: three quarters of the process's file-descriptor limit, at most 10,000).
   */
  maxConnections?: number;
  /**
   * Bytes that partial request frames may hold across all inbound connections (default 256 MiB);
   * past it the connections holding the most are closed.
   */
  maxBufferedInput?: number;
  /**
   * Fixed node id (default: the identity's public key in hex, 64 characters like Python's ids).
   * Not with an identity file, whose key is the id.
   */
  id?: string;
  /**
   * The node's Ed25519 identity: the path of its file (created on first start, mode 0600; a file
   * others may read is refused), or a `NodeIdentity`. Default: `$SYNAPSE_IDENTITY`, else a fresh
   * identity kept in memory for this run. The node id is its public key in hex.
   */
  identity?: string | NodeIdentity | null;
  /**
   * Makes this node a member of a closed swarm: every connection, accepted or dialed, starts with
   * a Noise handshake that proves both sides hold the key, and is encrypted after it; nothing is
   * said in the clear. A 32-byte key (bytes, base64 as `sn keygen` prints it, or the path of a
   * file holding that base64), or several for rotation (the first dials; all are accepted), or a
   * shared `SwarmKeyring`. Default: `$SYNAPSE_SWARM_KEY` (comma-separated for several), else an
   * open swarm; `null` is open whatever the environment says. See docs/security.md.
   */
  swarmKey?: SwarmKeyOption | null;
  /**
   * Check the signatures of other nodes' events and replies on a worker thread (default true),
   * batched per turn of the event loop and shared by the nodes of the process, so that the event
   * loop does the rest of the work while a second core checks; a turn of a few checks (fewer than
   * 8) with nothing on the thread is checked inline, and so is every check if the thread cannot run
   * (or on a machine of one core), and for 10 s at a time while the thread gets no core of its own
   * (on the CPU less than 35% of the time it takes over 8 batches: several nodes' processes per
   * core). `false`: every check on the event loop.
   * Membership claims are checked on the event loop either way. See docs/security.md#cost.
   */
  signatureThread?: boolean;
  /**
   * Record MACs between Bun peers (default true): a signing node offers an X25519 key, bound to its
   * identity, in its hello answer, and attaches to each event and reply it authors a short MAC for
   * each Bun peer whose key it holds; a peer that finds a valid MAC for itself accepts the record
   * without the Ed25519 check (the signature still travels, and anything else is checked by it).
   * `false`: no MACs made, offered or checked. See docs/security.md#record-macs.
   */
  recordMacs?: boolean;
  /** Known peers past which records carry no MACs (default 64: their bytes then cost more than the checks they save). See docs/security.md#record-macs. */
  recordMacRecipients?: number;
  /** First contacts to join: `"host:port"`, `"host"` (port 9999) or `["host", port]`. */
  seeds?: SeedLike[];
  /** Seconds between heartbeats to every known peer (default 5); `null` turns them off. */
  heartbeatInterval?: number | null;
  /** A peer not heard from for this many seconds is dropped, firing `peer.offline` (default 20); `null` never drops. */
  peerTimeout?: number | null;
  /**
   * The most peers this node keeps (default 1000): past it new peers are refused (logged once,
   * counted in `node.membership.stats.peersRefused`) while known ones are still refreshed. See
   * docs/membership.md#bounds.
   */
  maxPeers?: number;
  /**
   * How liveness runs among Bun peers (default `"gossip"`): `"gossip"` probes them by SWIM, a few
   * calls per node per interval whatever the swarm's size; `"mesh"` heartbeats every peer every
   * interval, as the Python original. Python peers get direct heartbeats either way. See
   * docs/membership.md.
   */
  membership?: "gossip" | "mesh";
  /** `true` (or options) to advertise and discover peers over mDNS (`_synapse._tcp.local.`). */
  mdns?: boolean | MdnsOptions;
  /** Network interface (name such as `"eth0"`, or its IPv4 address) for mDNS and the `"auto"` advertise address. */
  interface?: string;
  /** Where conversation events are kept (default: in memory); `new SqliteConversationLog(path)` survives restarts. */
  conversationLog?: ConversationLog;
  /** Fold a conversation holding more than this many events into a `summary` event (default: never). */
  conversationMaxEvents?: number | null;
  /** Newest events compaction keeps verbatim, besides the opening message (default: min(10, max / 2)). */
  conversationKeepRecent?: number;
  /**
   * Event kinds compaction always keeps verbatim, besides the opening message (default none: as a
   * Python node, only the opening message). A layer whose state lives in its events lists them,
   * e.g. `["task.offer"]` for the teams layer.
   */
  conversationKeepKinds?: string[];
  /** Text of compaction summaries (default: a plain digest); also settable with `node.summarizer(fn)`. */
  summarizer?: Summarizer;
  /**
   * Seconds: compaction calls your summarizer at most once per conversation in this time (default
   * 60); a compaction sooner folds with the plain digest, and the next summarizer call folds that
   * digest in. A forged burst of events then costs one summarizer (LLM) call, not one per few
   * events. 0 calls it on every compaction. `node.compactConversation` always calls it.
   */
  conversationSummarizerInterval?: number;
  /**
   * Where errors thrown by your code go: event listeners (`node.on`) and periodic tasks
   * (`node.periodic`). Default: one warning line on stderr (`synapse: warning: periodic task "x"
   * failed: ...`); `null` silences them. Either way the node carries on.
   */
  onUserError?: UserErrorHandler | null;
  /** Seconds: prune conversations quiet for longer, refuse older events (default: keep forever). */
  conversationRetention?: number | null;
  /** Peers a node relays each new event or reply to (default: all, as Python nodes flood). */
  conversationGossipFanout?: number;
  /**
   * Seconds between two rounds of batched dissemination among Bun peers (default 0.02): each round
   * makes one `_synapse.conversation.batch` call to each of `conversationBatchFanout` random Bun peers
   * with every new event and reply they are not known to have; see docs/conversations.md. `null`:
   * per-event calls to every peer (flooding or `conversationGossipFanout`), as towards Python peers,
   * which always get those.
   */
  conversationBatchInterval?: number | null;
  /** Bun peers called per dissemination round (default 1). */
  conversationBatchFanout?: number;
  /**
   * Send the replies to this node's broadcasts on down a reply tree, and let the origin of a Bun
   * peer's broadcast do so with this node's reply (default true; hello feature `reply_tree`); see
   * docs/conversations.md#the-reply-tree. `false`: replies spread by the batched rounds alone.
   */
  conversationReplyTree?: boolean;
  /**
   * Connection pool for the calls the node makes itself (joins, heartbeats, gossip, broadcasts).
   * Default: a pool of its own, closed by {@link Node.stop}, whose connection cap follows the
   * membership mode (`maxPeers` and some room in mesh mode, where every peer is called each
   * interval; 256 in gossip mode). Many nodes in one process (tests,
   * benchmarks, simulations) can share one `Pool` so that they keep one connection per peer
   * between them instead of one per node and peer; a pool given here is not closed on stop.
   */
  pool?: Pool;
  /**
   * How connections are made and accepted (default: TCP through Bun), e.g. a
   * `MemoryNetwork`'s transport to run many nodes in one process. The node's own pool uses it too;
   * a `pool` given as well must use the same transport. With `swarmKey`, the node wraps this
   * transport in the closed swarm's secure one (a `pool` given must then be on a secure transport).
   */
  transport?: Transport;
}

/**
 * Events a node emits, by name, with their payloads; later layers add theirs (the task life cycle,
 * `team.task.*` on a team's node and `worker.task.*` on a worker's, comes from {@link TeamEvents}).
 * Besides these, `conversation.<kind>` fires with the stored event for every kind
 * (`conversation.ack`, `conversation.task.offer`, ...): see {@link NodeEventName}.
 */
export interface NodeEvents extends TeamEvents {
  started: { address: string; port: number };
  stopped: undefined;
  /** A peer became known (first contact, or back after `peer.offline`). */
  "peer.joined": MembershipEvents["peer.joined"];
  /** A heartbeat was exchanged with a known peer (either direction). */
  "peer.heartbeat": MembershipEvents["peer.heartbeat"];
  /** A peer was silent for `peerTimeout` seconds and was dropped. */
  "peer.offline": MembershipEvents["peer.offline"];
  /** Gossip membership suspects a Bun peer: it missed its probes and may still refute (docs/membership.md). */
  "peer.suspect": MembershipEvents["peer.suspect"];
  /** A suspected Bun peer refuted the suspicion: it is alive. */
  "peer.alive": MembershipEvents["peer.alive"];
  /** An event was stored in a conversation (any kind, any author, this node included). */
  "conversation.event": ConversationEvent;
  /** This node compacted a conversation: the `summary` event that replaced the folded ones (as Python). */
  "conversation.compacted": ConversationEvent;
  /** Retention dropped a quiet conversation: its id (as Python). */
  "conversation.pruned": string;
  /** A broadcast call arrived here (first time for its nonce), whether or not this node serves its endpoint. */
  "broadcast.received": BroadcastReceived;
  /** A reply to a broadcast became known here (once per nonce and replier). */
  "broadcast.reply": BroadcastReply;
}

/** `conversation.<kind>`: an event of that kind was stored. */
export type ConversationKindEvent = `conversation.${string}`;

/** Every name `node.on` accepts: the {@link NodeEvents} and `conversation.<kind>`. */
export type NodeEventName = keyof NodeEvents | ConversationKindEvent;

/**
 * What the node's emitter carries: the {@link NodeEvents}, and `conversation.<kind>` events (typed
 * precisely by `node.on`).
 */
export type NodeEventMap = NodeEvents & { [event: ConversationKindEvent]: unknown };
