/**
 * The `Node`: a facade that wires the parts (wire, transport, endpoints, and the layers added on
 * top) into one object with a name, a swarm, endpoints and a lifecycle. Its options and events are
 * in `node-options.ts`.
 *
 * Longer than 400 lines, on purpose: it is the facade, one documented method per public operation,
 * each a line or two that hands the work to a part in its own folder; the constructor wires the parts
 * through their narrow hosts (membership, conversations). No logic of a part lives here.
 *
 * @module
 */
import { EndpointRegistry, type EndpointOptions, type Handler } from "./rpc/endpoints.ts";
import { registerCoreBuiltins } from "./rpc/builtins.ts";
import { Listener } from "./transport/listener.ts";
import { serverLimits } from "./transport/server-limits.ts";
import { isWildcard, resolveAdvertise, resolveInterface } from "./address.ts";
import { ConfigError, ConnectionError, SignatureError } from "./errors.ts";
import { Emitter, reportUserError, type UserErrorHandler } from "./events.ts";
import { createLogger } from "./log.ts";
import { Scheduler, type AddTaskOptions, type PeriodicTask, type TaskFunction } from "./schedule/scheduler.ts";
import type { Schedule } from "./schedule/schedule.ts";
import {
  Membership,
  discoveriesFromOptions,
  membershipRefusal,
  poolCapacity,
  claimOf,
  registerMembershipEndpoints,
  type JoinOptions,
  type StopOptions,
} from "./membership/index.ts";
import type { Broadcast, BroadcastReply, Capability, ConversationEvent, NodeInfo, NodeKind, Peer } from "./types.ts";
import { Client, kw, splitArguments } from "./rpc/client.ts";
import { Pool } from "./transport/pool.ts";
import { bunTransport } from "./transport/bun-transport.ts";
import type { Transport } from "./transport/socket.ts";
import { resolveSecurity } from "./security/closed-swarm.ts";
import type { NodeIdentity } from "./security/identity.ts";
import type { SwarmKeyring } from "./security/keyring.ts";
import { isSecureTransport } from "./security/secure-transport.ts";
import { SIGNED_FEATURE, SignedRecords } from "./security/records.ts";
import { MAC_FEATURE, MAC_KEY_FEATURE, RecordMacs } from "./security/record-macs.ts";
import {
  AGENT_CARD_MIME_TYPE,
  ArtifactStore,
  Conversations,
  agentCard,
  checkArtifact,
  type ArtifactDocument,
  type ArtifactSignature,
  registerConversationEndpoints,
  type ArtifactDescriptor,
  type ArtifactOptions,
  askSwarm,
  type AskHandler,
  type AskSwarmOptions,
  type BroadcastRef,
  type CompactOptions,
  type EmitOptions,
  type SwarmAnswer,
  type Summarizer,
  type SyncOptions,
  type SyncResult,
} from "./conversation/index.ts";
import { isPort } from "./util/guards.ts";
import { defaultNodeName } from "./membership/mdns-txt.ts";
import type { ConversationKindEvent, NodeEventMap, NodeEvents, NodeOptions } from "./node-options.ts";

export type { ConversationKindEvent, NodeEventMap, NodeEventName, NodeEvents, NodeOptions } from "./node-options.ts";
import { nowSeconds } from "./util/time.ts";
import { BATCH_FEATURE, HAVE_WINDOW_FEATURE, ITEM_BYTES_FEATURE, REPLY_REF_FEATURE, REPLY_TREE_FEATURE, SWIM_DIGEST_FEATURE, SWIM_FEATURE, SWIM_LEAN_FEATURE, SWIM_PACKED_FEATURE, SWIM_SUM_FEATURE, SYNC_PAGES_FEATURE } from "./wire/protocol.ts";
import { METRICS_ENDPOINT, TrafficCounters, readMetrics, type NodeMetrics } from "./node-metrics.ts";

const log = createLogger("node");

/** Seconds a conversation call (broadcast, event, reply, sync) waits for a peer. */
const CONVERSATION_CALL_TIMEOUT = 10;

function normaliseCapability(c: string | Capability): Capability {
  if (typeof c === "string") return { name: c };
  if (!c || typeof c.name !== "string" || !c.name) throw new ConfigError("a capability needs a name");
  return { ...c };
}

/**
 * A swarm member. Give each process one: it listens for calls, serves endpoints, and (with the
 * layers built on it) joins a swarm, gossips conversations and runs periodic tasks.
 *
 * @example
 * const node = new Node({ name: "calculator", port: 9999 });
 * node.endpoint("sum", { description: "Add two numbers" }, (a: number, b: number) => a + b);
 * await node.start();
 */
export class Node {
  /**
   * The node id: the hex of its identity's Ed25519 public key (64 characters), unless `options.id`
   * fixed another.
   */
  readonly id: string;
  /** The node's Ed25519 identity (from `options.identity`, `SYNAPSE_IDENTITY`, or made for this run). */
  readonly identity: NodeIdentity;
  /**
   * The swarm keys of a closed swarm (`options.swarmKey`), `null` in an open one. Rotate through
   * it while the node runs: `install` the new key, `use` it, `remove` the old one.
   */
  readonly keyring: SwarmKeyring | null;
  /**
   * How this node signs its records and checks those of others (docs/security.md): with its
   * identity, unless a fixed `id` is not the identity's key (then it signs nothing).
   */
  readonly records: SignedRecords;
  /** The transport the listener accepts with: the closed swarm's secure one, or the one given. */
  private readonly transport: Transport | undefined;
  readonly name: string;
  readonly swarm: string | null;
  readonly team: string | null;
  readonly role: string | null;
  readonly description: string | null;
  readonly kind: NodeKind;
  /** Address and port given at construction (the port may be 0 until started). */
  readonly bind: string;
  /** Endpoint registry (advanced use; prefer {@link endpoint}). */
  readonly endpoints = new EndpointRegistry();
  /** Node events; see {@link on}. A listener that throws is reported (see `NodeOptions.onUserError`). */
  readonly events: Emitter<NodeEventMap>;
  /**
   * Runs periodic tasks: yours ({@link periodic}) and the node's own liveness work. Started by
   * {@link start}, stopped by {@link stop}. A run that throws is reported (see `NodeOptions.onUserError`).
   */
  readonly scheduler: Scheduler;
  /** Swarm membership: known peers, seeds, heartbeats, mDNS (see {@link peers} and {@link join}). */
  readonly membership: Membership;
  /** Broadcasts, conversation events, ask, compaction (most users go through the methods below). */
  readonly conversationLayer: Conversations;
  /** Published artifacts (see {@link artifact}), each signed by this node (docs/security.md). */
  readonly artifacts: ArtifactStore;
  /**
   * The connection pool for the calls the node makes itself (joins, heartbeats, gossip,
   * broadcasts): its own unless `options.pool` gave one. {@link stop} closes its own pool;
   * `Client`s you create use the process-wide pool.
   */
  readonly pool: Pool;
  private readonly ownsPool: boolean;

  private readonly capabilitySet = new Map<string, Capability>();
  /** Moves on whenever the capabilities change (see {@link MembershipHost.selfVersion}). */
  private capabilityVersion = 0;
  private listener: Listener | null = null;
  /** Frame limit and timeouts of the listener, checked at construction. */
  private readonly limits: ReturnType<typeof serverLimits>;
  private advertised: string;
  private boundPort: number;
  private stopping: Promise<void> | null = null;
  /** Calls and bytes through the listener and the node's own Clients (see {@link metrics}). */
  private readonly traffic = new TrafficCounters();
  /** Unix seconds of the last start; null while stopped. */
  private startedAt: number | null = null;

  constructor(options: NodeOptions = {}) {
    const onUserError: UserErrorHandler = options.onUserError === null ? () => {} : (options.onUserError ?? reportUserError);
    if (typeof onUserError !== "function") throw new ConfigError("onUserError must be a function or null");
    this.events = new Emitter<NodeEventMap>({ onError: onUserError });
    this.scheduler = new Scheduler({ onError: (task, error) => onUserError(error, `periodic task "${task}"`) });
    const security = resolveSecurity({ identity: options.identity, swarmKey: options.swarmKey, swarm: options.swarm ?? null, transport: options.transport ?? bunTransport });
    this.identity = security.identity;
    this.keyring = security.keyring;
    this.transport = security.transport ?? options.transport;
    if (options.id !== undefined && security.named && options.id !== security.identity.id) {
      throw new ConfigError(`id ${options.id} is not the identity's (${security.identity.id}): with an identity file, leave id out`);
    }
    if (options.pool && security.transport && !isSecureTransport(options.pool.transport)) {
      // A plaintext pool would dial the swarm's members in the clear (and they would refuse it).
      throw new ConfigError("a closed swarm's node needs a pool on a secure transport (secureTransport(...)), not a plaintext one");
    }
    if (options.pool && !security.transport && options.transport && options.pool.transport !== options.transport) {
      throw new ConfigError("the pool given uses another transport than the one given");
    }
    this.ownsPool = options.pool === undefined;
    // Its cap follows the membership mode (a mesh node keeps a connection to every peer).
    this.pool = options.pool ?? new Pool({ transport: this.transport, maxConnections: poolCapacity(options) });
    this.id = options.id ?? security.identity.id;
    this.records = new SignedRecords({ identity: this.id === security.identity.id ? security.identity : null, closed: security.keyring !== null, verifyThread: options.signatureThread ?? true });
    // Record MACs between Bun peers (docs/security.md#record-macs): a signing node's key is bound in its hello answer.
    if (options.recordMacs !== false && this.records.signerId !== null) {
      const bindingOf = (id: string) => this.peerHello(id)?.[MAC_KEY_FEATURE];
      const macs = new RecordMacs({ identity: security.identity, swarm: options.swarm ?? null, bindingOf, maxRecipients: options.recordMacRecipients });
      this.records.macs = macs;
      this.events.on("peer.offline", (peer) => macs.forget(peer.id)); // its MAC key goes with it
    }
    this.artifacts = new ArtifactStore(this.records);
    this.name = options.name ?? defaultNodeName(this.id);
    this.swarm = options.swarm ?? null;
    this.team = options.team === undefined ? "default" : options.team;
    this.role = options.role ?? null;
    this.description = options.description ?? null;
    this.kind = options.kind ?? "node";
    if (this.kind !== "node" && this.kind !== "bootstrap") throw new ConfigError(`invalid kind: ${String(this.kind)}`);
    this.bind = options.bind ?? "0.0.0.0";
    const port = options.port ?? 0;
    if (!isPort(port, true)) throw new ConfigError(`invalid port: ${port}`);
    this.boundPort = port;
    this.limits = serverLimits(options);
    const ifaceAddress = resolveInterface(options.interface);
    this.advertised =
      ifaceAddress && isWildcard(this.bind) && (options.advertise ?? "auto") === "auto"
        ? ifaceAddress
        : resolveAdvertise(this.bind, options.advertise, options.interface);
    for (const c of options.capabilities ?? []) {
      const cap = normaliseCapability(c);
      this.capabilitySet.set(cap.name, cap);
    }
    registerCoreBuiltins(this.endpoints, {
      info: () => this.info(),
      capabilityList: () => this.capabilityList(),
      // Gossip membership is offered to Bun peers in the hello answer (docs/membership.md).
      // Packed SWIM updates and lean deaths (swim-wire.ts) are offered beside it: every gossip node reads them.
      // Record MACs (`mac`, the key's binding as `mac_key`) are offered by a node that makes them;
      // the reply tree by a node that batches with it on (docs/conversations.md#the-reply-tree).
      helloFeatures: () => ({
        ...(this.conversationLayer.replyTree ? { [REPLY_TREE_FEATURE]: true } : {}),
        ...(this.membership.gossip ? { [SWIM_FEATURE]: true, [SWIM_PACKED_FEATURE]: true, [SWIM_LEAN_FEATURE]: true, [SWIM_DIGEST_FEATURE]: true, [SWIM_SUM_FEATURE]: true } : {}),
        ...(this.records.macs ? { [MAC_FEATURE]: true, [MAC_KEY_FEATURE]: this.records.macs.binding } : {}),
      }),
    });
    this.membership = new Membership(
      {
        id: this.id,
        swarm: this.swarm,
        team: this.team,
        scheduler: this.scheduler,
        running: () => this.running,
        self: () => this.toPeer(),
        selfVersion: () => this.capabilityVersion,
        info: () => this.info(),
        call: (host, port, endpoint, args, timeout) => this.callMember(host, port, endpoint, args, timeout),
        emit: (event, payload) => this.events.emit(event, payload),
        listens: (event) => this.events.has(event),
        claimRefusal: (claim, sig, changes) => this.records.claimRefusal(claim, sig, changes),
        claimStale: (claim) => this.records.claimStale(claim),
        features: (host, port) => {
          const channel = this.pool.peek(host, port);
          return channel?.mode === "multiplex" ? channel.features : null;
        },
        hello: (host, port) => this.pool.peek(host, port)?.settled() ?? Promise.resolve(null),
        // A pool shared with other nodes keeps the channel: they may have calls on it in flight
        // (closing it failed them, and in a gossip swarm one false death cascaded into more);
        // the pool's idle timeout closes it once nobody uses it. Without a release, membership
        // does not look for other peers at that address either (a walk over the whole table).
        release: this.ownsPool ? (host, port) => void this.pool.release(host, port) : undefined,
        watchDropped: (listener) => this.pool.onDropped(listener),
      },
      // A closed swarm's node advertises over mDNS only what discovery needs.
      this.keyring && options.mdns ? { ...options, mdns: { ...(options.mdns === true ? {} : options.mdns), closed: true } } : options,
      discoveriesFromOptions(options),
      // Gossip members' claims about themselves are signed and checked as every record is.
      { claims: this.records.claimPort() },
    );
    registerMembershipEndpoints(this.endpoints, this.membership);
    this.conversationLayer = new Conversations(
      {
        self: () => this.toPeer(),
        peers: () => this.membership.list(),
        peerCount: () => this.membership.table.size,
        peerIds: () => this.membership.table.ids(),
        peersVersion: () => this.membership.table.version,
        admit: (peer) => membershipRefusal(this, peer),
        call: (peer, endpoint, args, kwargs) => this.callConversationPeer(peer, endpoint, args, kwargs),
        emit: (event, payload) => this.events.emit(event as keyof NodeEventMap & string, payload as never),
        // What the peer's hello offered, once this node has a connection to it (docs/protocol.md).
        pagesSync: (peer) => this.helloOffered(peer, SYNC_PAGES_FEATURE),
        records: this.records,
        signs: (peer) => this.helloOffered(peer, SIGNED_FEATURE),
        batches: (peer) => this.helloOffered(peer, BATCH_FEATURE),
        macs: (peer) => this.helloOffered(peer, MAC_FEATURE),
        replyRefs: (peer) => this.helloOffered(peer, REPLY_REF_FEATURE),
        itemBytes: (peer) => this.helloOffered(peer, ITEM_BYTES_FEATURE),
        haveWindow: (peer) => this.helloOffered(peer, HAVE_WINDOW_FEATURE),
        replyTree: (peer) => this.helloOffered(peer, REPLY_TREE_FEATURE),
      },
      {
        log: options.conversationLog,
        maxEvents: options.conversationMaxEvents,
        keepRecent: options.conversationKeepRecent,
        keepKinds: options.conversationKeepKinds,
        summarizer: options.summarizer,
        retention: options.conversationRetention,
        gossipFanout: options.conversationGossipFanout,
        batchInterval: options.conversationBatchInterval,
        batchFanout: options.conversationBatchFanout,
        replyTree: options.conversationReplyTree,
        summarizerInterval: options.conversationSummarizerInterval,
      },
    );
    registerConversationEndpoints(this.endpoints, this.conversationLayer, this.artifacts);
    // A Bun extension read by `sn metrics` and the dashboard; a Python node never calls it.
    this.endpoints.builtin(METRICS_ENDPOINT, "This node's counters (Bun extension)", [], () => this.metrics());
  }

  /** The hello answer of known peer `id`, on this node's connection to it; null without one. */
  private peerHello(id: string): Readonly<Record<string, unknown>> | null {
    const entry = this.membership.table.get(id);
    const channel = entry ? this.pool.peek(entry.dialHost, entry.peer.port) : null;
    return channel?.mode === "multiplex" ? channel.features : null;
  }

  /** Whether the peer's hello answer offered `feature`; null before this node has a connection to it. */
  private helloOffered(peer: Pick<Peer, "address" | "port">, feature: string): boolean | null {
    const channel = this.pool.peek(peer.address, peer.port);
    return channel && channel.mode !== "unknown" ? channel.mode === "multiplex" && channel.features[feature] === true : null;
  }

  /**
   * A membership call. A join or heartbeat carries this node's signed claim (`sig`) to a peer that
   * takes it: every peer of a closed swarm, else one whose hello offered `signed`; never to a
   * Python peer.
   */
  private callMember(host: string, port: number, endpoint: string, args: unknown[], timeout: number): Promise<unknown> {
    const client = new Client(host, port, { timeout, pool: this.pool, meter: this.traffic });
    const self = args[0] as Peer;
    if ((endpoint !== "_synapse.join" && endpoint !== "_synapse.heartbeat") || args.length !== 1 || self?.id !== this.id || this.records.signerId === null) {
      return client.call(endpoint, ...args);
    }
    // A first contact in an open swarm goes unsigned (no ping first: heartbeats are frequent, and a
    // Python peer gets nothing but the calls it always got); the next ones know the peer's hello.
    const takes = this.keyring !== null || this.helloOffered({ address: host, port }, SIGNED_FEATURE) === true;
    const sig = takes ? this.records.signClaim(claimOf(self)) : null;
    return sig ? client.call(endpoint, self, kw({ sig })) : client.call(endpoint, self);
  }

  private callConversationPeer(peer: Pick<Peer, "address" | "port"> & { id?: string }, endpoint: string, args: unknown[], kwargs: Record<string, unknown>): Promise<unknown> {
    // A stopped node calls nobody: relays or handlers still finishing must not reopen its pool.
    if (!this.running) return Promise.reject(new ConnectionError(`node ${this.name} is stopped`, `${peer.address}:${peer.port}`, { endpoint }));
    const entry = peer.id ? this.membership.table.get(peer.id) : undefined;
    if (entry) return this.membership.callPeer(entry, endpoint, [...args, kw(kwargs)], CONVERSATION_CALL_TIMEOUT);
    return Client.fromPeer(peer, { timeout: CONVERSATION_CALL_TIMEOUT, pool: this.pool, meter: this.traffic }).request(endpoint, { args, kwargs });
  }

  /**
   * Call `endpoint(...args, broadcast=<Broadcast>, **kwargs)` on every known peer at once (end the
   * arguments with `kw({...})` for keyword arguments). Every receiver sees the same nonce, which is
   * also the id of the conversation that follows. A failing peer does not fail the broadcast.
   */
  broadcast(endpoint: string, ...args: unknown[]): Promise<Broadcast> {
    if (!this.running) return Promise.reject(new ConfigError(`node ${this.name} is not running: start() it before broadcasting`));
    const split = splitArguments(args);
    return this.conversationLayer.broadcast(endpoint, split.args, split.kwargs);
  }

  /** Reply to a broadcast (once); the reply reaches the origin and the whole swarm. */
  reply(broadcast: BroadcastRef, result: unknown): Promise<BroadcastReply> {
    return this.conversationLayer.reply(broadcast, result);
  }

  /** Replies known here for a broadcast (one per replying peer). */
  replies(broadcast: BroadcastRef): Promise<BroadcastReply[]> {
    return this.conversationLayer.replies(broadcast);
  }

  /**
   * ACK a broadcast: "I saw this and choose to wade in" (never an assignment). The event's parent
   * is the nonce unless `options.parentId` says otherwise (Python's `parent_id=`); `metadata` goes
   * with it.
   */
  ack(broadcast: BroadcastRef, payload: Record<string, unknown> = {}, options: EmitOptions = {}): Promise<ConversationEvent> {
    return this.conversationLayer.ack(broadcast, payload, options);
  }

  /** Add an event of any kind (built-in or custom, e.g. `task.offer`) to a conversation and gossip it. */
  emitConversationEvent(conversation: BroadcastRef, kind: string, payload: Record<string, unknown> = {}, options: EmitOptions = {}): Promise<ConversationEvent> {
    return this.conversationLayer.emit(conversation, kind, payload, options);
  }

  /** The events of a conversation (a broadcast or its id), oldest first. */
  conversation(conversation: BroadcastRef): Promise<ConversationEvent[]> {
    return this.conversationLayer.conversation(conversation);
  }

  /** Ids of the conversations this node knows. */
  conversations(): Promise<string[]> {
    return this.conversationLayer.list();
  }

  /** Set the default task handler served by `_node.ask` and `synapse.ask` (`null` removes it). */
  ask(handler: AskHandler | null): this {
    this.conversationLayer.asks.setHandler(handler);
    return this;
  }

  /**
   * Ask the swarm: broadcast `synapse.ask(task, context=...)` (as `sn ask` does) and get the ACKs,
   * replies and errors as they come. Ends once every peer that ACKed has replied or failed, after
   * `timeout` seconds (default 30), or when you stop iterating.
   *
   * @example
   * for await (const answer of node.askSwarm("summarise the logs", { timeout: 10 })) {
   *   if (answer.kind === "reply") console.log(answer.peer.name, answer.result);
   * }
   */
  askSwarm(task: string, options: AskSwarmOptions = {}): AsyncGenerator<SwarmAnswer, void, undefined> {
    return askSwarm(
      {
        broadcast: (endpoint, args, kwargs) => this.broadcast(endpoint, ...args, kw(kwargs)),
        onReply: (listener) => this.events.on("broadcast.reply", listener),
        onEvent: (kind, listener) => this.on(`conversation.${kind}`, listener),
      },
      task,
      options,
    );
  }

  /**
   * Compact a conversation now, whatever its size (Python's `compact_conversation`): all but the
   * opening message, the `keepKinds` events (default: the node's `conversationKeepKinds`) and the
   * `keepRecent` newest (default 25) fold into one `summary` event. Fires `conversation.compacted`.
   * Returns the summary, or null when there was nothing to fold.
   *
   * @throws {ConfigError} for a bad `keepRecent` or `keepKinds`.
   */
  compactConversation(conversation: BroadcastRef, options: CompactOptions = {}): Promise<ConversationEvent | null> {
    return this.conversationLayer.compactNow(conversation, options);
  }

  /** Publish (or replace) an artifact: JSON-like content, a string, or bytes. */
  artifact(name: string, content: unknown, options: ArtifactOptions = {}): ArtifactDescriptor {
    return this.artifacts.set(name, content, options);
  }

  /**
   * Publish this node's agent card (see {@link agentCard}) as the artifact `name` with the MIME type
   * Python planners look for ({@link AGENT_CARD_MIME_TYPE}) and kind `metadata`. Call it again after
   * adding capabilities or endpoints to refresh it.
   */
  publishAgentCard(extra: Record<string, unknown> = {}, name = "agent-card"): ArtifactDescriptor {
    return this.artifacts.set(name, agentCard(this, extra), { mimeType: AGENT_CARD_MIME_TYPE, kind: "metadata", description: `agent card of ${this.name}` });
  }

  /**
   * Fetch a peer's artifact (`_synapse.artifact.get`) and check it ({@link checkArtifact}): one
   * tampered with, or signed by another node than `peer.id`, is refused; so is an unsigned one from
   * a peer known to sign or in a closed swarm. An unsigned one from any other peer (a Python node)
   * comes with `signature.status` "unsigned".
   *
   * @throws {SignatureError} for an artifact that does not hold.
   */
  async fetchArtifact(peer: Pick<Peer, "id" | "address" | "port">, name: string): Promise<ArtifactDocument & { signature: ArtifactSignature }> {
    const doc = await this.callConversationPeer(peer, "_synapse.artifact.get", [name], {});
    const signature = checkArtifact(doc, peer.id);
    if (signature.status === "signed") this.records.noteSigner(signature.signer);
    if (signature.status === "tampered") throw new SignatureError("tampered", `artifact ${name} of ${peer.id.slice(0, 8)} refused: ${signature.reason}`);
    if (signature.status === "unsigned" && (this.records.closed || this.records.knownSigner(peer.id))) {
      throw new SignatureError("unsigned", `artifact ${name} of ${peer.id.slice(0, 8)} refused: it is not signed, and that node signs its records`);
    }
    return { ...(doc as ArtifactDocument), signature };
  }

  /** Set the text summarizer compaction uses (default: a plain digest). */
  summarizer(fn: Summarizer): this {
    this.conversationLayer.setSummarizer(fn);
    return this;
  }

  /**
   * Catch up from a peer: one conversation, or every conversation it lists when `conversation` is
   * omitted, optionally only events after `since`; paged with a Bun peer (docs/conversations.md).
   * Returns the events that were new here; a full sync goes on past a conversation that fails and
   * lists it in the result's `failed` (a one-conversation sync rejects instead).
   */
  syncConversation(peer: Pick<Peer, "address" | "port">, conversation?: BroadcastRef, options: SyncOptions = {}): Promise<SyncResult> {
    return this.conversationLayer.sync(peer, conversation, options);
  }

  /** Known peers by id (a snapshot; never this node itself). */
  get peers(): Map<string, Peer> {
    return this.membership.peers;
  }

  /**
   * Join the swarm: call `_synapse.join` on every seed (an unreachable one is logged and
   * skipped), add the peers they know, then wait up to `wait` seconds for discovery (mDNS).
   * Starts the node first when it is not running.
   *
   * @returns the known peers.
   */
  async join(options: JoinOptions = {}): Promise<Peer[]> {
    if (!this.running) await this.start();
    return this.membership.join(options);
  }

  /** The listening port (the bound one once started). */
  get port(): number {
    return this.boundPort;
  }

  /** The address peers are told to dial. */
  get address(): string {
    return this.advertised;
  }

  /** True between {@link start} and {@link stop}. */
  get running(): boolean {
    return this.listener !== null;
  }

  /**
   * This node's numbers now: calls and bytes sent and received by endpoint group (`rpc`,
   * `membership`, `conversation`, `other`), peers by membership state, and the membership and
   * conversation layers' counters (docs/metrics.md). Counts run from the node's creation; take two
   * readings for rates. Peers read the same record remotely through `_synapse.metrics`.
   */
  metrics(): NodeMetrics {
    return readMetrics({
      traffic: this.traffic,
      states: this.membership.states,
      membership: this.membership.stats,
      conversation: this.conversationLayer.stats,
      now: nowSeconds(),
      startedAt: this.startedAt,
    });
  }

  /** Inbound connections open right now (0 when stopped); for diagnostics and tests. */
  get connectionCount(): number {
    return this.listener?.connectionCount ?? 0;
  }

  /**
   * Register an endpoint. Positional and keyword arguments bind to the handler's parameters as in
   * a Python call; a handler whose last parameter is named `ctx` (or registered with
   * `{ context: true }`) gets the {@link CallContext} there.
   *
   * Parameters are whatever the caller sent (annotate and check them). Name the handler's type to
   * have TypeScript type unannotated parameters:
   * `node.endpoint<(a: number, b: number) => number>("sum", (a, b) => a + b)`.
   */
  endpoint<H extends Handler = Handler>(name: string, handler: H): this;
  endpoint<H extends Handler = Handler>(name: string, options: EndpointOptions, handler: H): this;
  endpoint(name: string, a: EndpointOptions | Handler, b?: Handler): this {
    const [options, handler] = typeof a === "function" ? [{}, a] : [a, b];
    if (typeof handler !== "function") throw new ConfigError(`endpoint ${name} needs a handler function`);
    this.endpoints.register(name, options, handler);
    return this;
  }

  /** Add (or replace) an advertised capability. */
  capability(name: string, details: Omit<Capability, "name"> = {}): this {
    this.capabilitySet.set(name, normaliseCapability({ ...details, name }));
    this.capabilityVersion++;
    return this;
  }

  /** Advertised capabilities, in the order they were added. */
  capabilityList(): Capability[] {
    return [...this.capabilitySet.values()];
  }

  /** Capability names, as peers see them. */
  capabilityNames(): string[] {
    return [...this.capabilitySet.keys()];
  }

  /**
   * `_synapse.info`: this node's identity (also `self` in heartbeat answers). An unset role or
   * description is `""`, as a Python node sends it.
   */
  info(): NodeInfo {
    return {
      id: this.id,
      name: this.name,
      kind: this.kind,
      address: this.advertised,
      port: this.boundPort,
      swarm: this.swarm,
      team: this.team,
      role: this.role ?? "",
      description: this.description ?? "",
      capabilities: this.capabilityNames(),
    };
  }

  /** This node as a {@link Peer} record (what it sends when joining and heartbeating). */
  toPeer(): Peer {
    return {
      id: this.id,
      address: this.advertised,
      port: this.boundPort,
      swarm: this.swarm,
      team: this.team,
      name: this.name,
      kind: this.kind,
      capabilities: this.capabilityNames(),
      last_seen: nowSeconds(),
    };
  }

  /**
   * Run `fn` on a schedule while the node runs: a number is seconds, or pass `every(...)`,
   * `cron(...)` or `solar(...)`. The first run starts when the node starts (or at once when it is
   * already running). A run that throws is logged and never stops later runs.
   *
   * @throws {ScheduleError} for an invalid schedule (checked now, not when it fires).
   */
  periodic(schedule: Schedule | number, fn: TaskFunction, options: AddTaskOptions = {}): PeriodicTask {
    return this.scheduler.add(schedule, fn, options);
  }

  /**
   * Subscribe to a node event (one of {@link NodeEvents}, or `conversation.<kind>` for the stored
   * events of one kind); returns an unsubscribe function. A listener that throws is reported, never
   * fatal.
   */
  on<K extends keyof NodeEvents>(event: K, listener: (payload: NodeEvents[K]) => unknown): () => void;
  on(event: ConversationKindEvent, listener: (event: ConversationEvent) => unknown): () => void;
  on(event: string, listener: (payload: never) => unknown): () => void {
    return this.events.on(event as keyof NodeEventMap & string, listener as (payload: unknown) => unknown);
  }

  /** Bind the listener and start background work (after a stop still in progress has finished). */
  async start(): Promise<void> {
    if (this.stopping) await this.stopping; // the old listener must release the port first
    if (this.listener) return;
    const listener = new Listener({
      hostname: this.bind,
      port: this.boundPort,
      ...this.limits,
      transport: this.transport,
      handler: (req, remote, remoteIdentity) => this.endpoints.dispatch(req, remote, remoteIdentity),
      meter: this.traffic,
    });
    listener.start();
    this.listener = listener;
    this.boundPort = listener.port;
    this.stopping = null;
    this.startedAt = nowSeconds();
    this.membership.start();
    this.scheduler.start();
    this.records.start();
    this.conversationLayer.start();
    log.debug(`${this.name} listening on ${this.bind}:${this.boundPort}, advertising ${this.advertised}`);
    this.events.emit("started", { address: this.advertised, port: this.boundPort });
  }

  /**
   * Leave the swarm (Bun peers that answer `_synapse.leave` drop this node at once; at most half a
   * second, best-effort; mDNS says goodbye), close the listener and every connection, and cancel
   * background work. Idempotent. `{ leave: false }` stops silently, as a crash would.
   */
  stop(options: StopOptions = {}): Promise<void> {
    if (!this.listener) return this.stopping ?? Promise.resolve();
    const listener = this.listener;
    this.listener = null;
    this.startedAt = null;
    this.stopping = (async () => {
      this.scheduler.stop();
      this.conversationLayer.stop();
      this.records.stop();
      await this.membership.stop(options);
      listener.stop();
      if (this.ownsPool) this.pool.closeAll();
      this.events.emit("stopped", undefined);
    })();
    return this.stopping;
  }

  /**
   * Start, print the listening address and the registered endpoints, and run until SIGINT or
   * SIGTERM, then stop cleanly. Resolves after the stop.
   */
  async run(): Promise<void> {
    await this.start();
    const out = (line: string) => process.stdout.write(`${line}\n`);
    out(`synapse node ${this.name} (${this.id.slice(0, 8)}) listening on ${this.bind}:${this.port}, advertising ${this.address}:${this.port}`);
    if (this.swarm) out(`  swarm ${this.swarm}, team ${this.team ?? "-"}`);
    const published = this.endpoints.list().filter((e) => e.publish);
    out(`  endpoints: ${published.length === 0 ? "(none)" : ""}`);
    for (const e of published) out(`    ${e.name}${e.description ? ` - ${e.description}` : ""}`);
    for (const line of this.runReport()) out(line);
    await new Promise<void>((resolve) => {
      const onSignal = (signal: string) => {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
        out(`received ${signal}, stopping`);
        this.stop().then(resolve, resolve);
      };
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
    });
  }

  /** Extra lines for {@link run}'s banner: the periodic tasks with their next run. */
  protected runReport(): string[] {
    const tasks = this.scheduler.list();
    if (tasks.length === 0) return [];
    return [
      "  periodic tasks:",
      ...tasks.map((t) => `    ${t.name} (${t.schedule}) next ${t.nextRun ? t.nextRun.toISOString() : "-"}`),
    ];
  }
}
