/**
 * The conversation layer of a node: broadcasts and their replies, conversation events gossiped to
 * the swarm with de-duplication, and catch-up sync. It wires in parts of their own: the ask flow
 * (`ask.ts`), the reply book (`replies.ts`), fan-out (`gossip.ts`), batched dissemination among Bun
 * peers (`dissemination.ts`), signatures (`signing.ts`), upkeep (`upkeep.ts`) and sync
 * (`sync.ts`). It talks to the node through a narrow {@link ConversationHost} (tested with a fake).
 *
 * Longer than 400 lines: it is the layer's whole face to the node (broadcast, reply, ack, emit,
 * sync, the served endpoints, each delegating to a part) and the wiring of its parts to each other;
 * the work itself lives in the parts' own modules.
 *
 * @module
 */
import type { Broadcast, BroadcastReply, ConversationEvent, Peer } from "../types.ts";
import type { Kwargs } from "../wire/messages.ts";
import { ConfigError, type EndpointError } from "../errors.ts";
import { encode } from "../wire/codec.ts";
import { createLogger } from "../log.ts";
import type { ConversationLog, MaybePromise } from "./log.ts";
import { MemoryConversationLog } from "./memory-log.ts";
import { EventKind, authoredEvent, fromTheFuture } from "./events.ts";
import { announceEvent, announceEventLater, announceReply, announceReplyLater } from "./announce.ts";
import { broadcastKwargs, newBroadcast, openingMessage, type BroadcastReceived } from "./broadcast.ts";
import type { Summarizer } from "./compaction.ts";
import { ConversationEndpoint, conversationSettings, nonceOf, type BroadcastRef, type ConversationHost, type ConversationOptions, type EmitOptions, type SyncOptions, type SyncResult } from "./contracts.ts";
import { AskFlow, checkOrigin } from "./ask.ts";
import { Upkeep, type CompactOptions } from "./upkeep.ts";
import { Gossip } from "./gossip.ts";
import { ReplyBook, replierOnceFiled, type ReplyOrigin } from "./replies.ts";
import { syncFrom, type SyncPort } from "./sync.ts";
import { SignatureRoutes, openRecords, type PerPeerKwargs } from "./signing.ts";
import { SIG_KEY, signatureBytes, signatureText, type SignedRecords } from "../security/records.ts";
import { checkEvent, checkReply, receivedOpening } from "./inbound.ts";
import { Dissemination, type DisseminationStats } from "./dissemination.ts";
import type { Item } from "./batch-items.ts";
import { EventFiling } from "./filing.ts";

const log = createLogger("conversation");

/**
 * One node's conversations. Created by the node (`node.conversationLayer`); most users go through
 * the node's delegating methods (`node.broadcast`, `node.reply`, `node.conversation`, ...).
 */
export class Conversations {
  /** The event store. */
  readonly log: ConversationLog;
  /** Compaction threshold, or null. */
  readonly maxEvents: number | null;
  /** Events kept verbatim by compaction. */
  readonly keepRecent: number;
  /** Retention in seconds, or null. */
  readonly retention: number | null;
  /** Relay fan-out (Infinity: every peer). */
  readonly gossipFanout: number;
  private readonly replyBook: ReplyBook;
  private readonly background = new Set<Promise<void>>();
  private readonly gossip: Gossip;
  private readonly dissemination: Dissemination;
  /** The ask flow: the node's ask handler, served directly and as part of broadcasts. */
  readonly asks: AskFlow;
  private readonly upkeep: Upkeep;
  private readonly signatures: SignatureRoutes;
  private readonly events: EventFiling; // other nodes' events, filed once their signature passed

  constructor(
    private readonly host: ConversationHost,
    options: ConversationOptions = {},
  ) {
    const settings = conversationSettings(options);
    this.log = options.log ?? new MemoryConversationLog();
    this.maxEvents = settings.maxEvents;
    this.keepRecent = settings.keepRecent;
    this.retention = settings.retention;
    this.gossipFanout = settings.gossipFanout;
    this.gossip = new Gossip(host, this.gossipFanout);
    this.signatures = new SignatureRoutes(host, host.records ?? openRecords());
    // A reply filed here (its own, or another node's once) is announced as `broadcast.reply`.
    const fileReply = (event: ConversationEvent, now: boolean, datedHere: boolean, pairId?: boolean) => {
      const stored = this.append(event, now, datedHere, pairId); // no closure per reply when stored at once (as an in-memory log does)
      return stored instanceof Promise ? announceReplyLater(this.host, event, stored) : announceReply(this.host, event, stored);
    };
    this.replyBook = new ReplyBook(this.log, fileReply, this.signatures.records);
    this.events = new EventFiling(this.log, () => this.records, (event) => this.append(event, true, false));
    const track = (work: Promise<unknown>) => this.track(work);
    this.dissemination = new Dissemination(host, this, track, this.gossip, settings);
    this.upkeep = new Upkeep(
      {
        log: this.log,
        self: () => this.host.self(),
        sign: (event) => this.records.signEvent(event),
        emit: (event, payload) => this.host.emit(event, payload),
        track,
        dropped: (id) => this.replyBook.forget(id),
      },
      settings,
      settings.summarizer,
    );
    this.asks = new AskFlow({
      publishTo: (origin, nonce, kind, payload) => this.publish(this.build(nonce, kind, payload, { parentId: nonce }), origin),
      reply: (broadcast, result) => this.reply(broadcast, result),
      track,
      checkOrigin: (origin) => checkOrigin(this.host, origin),
    });
  }

  // ---------------------------------------------------------------- lifecycle

  /** Start the retention sweeper (when retention is set). */
  start(): void {
    this.events.stopped = this.replyBook.stopped = false;
    this.upkeep.start();
    this.dissemination.start();
  }

  /** Stop the sweeper. The log stays open (close it yourself when done). */
  stop(): void {
    this.events.stopped = this.replyBook.stopped = true;
    this.upkeep.stop();
    this.dissemination.stop();
  }

  /** Whether the replies to this node's broadcasts go on down a reply tree (hello feature `reply_tree`, see reply-tree.ts). */
  get replyTree(): boolean {
    return this.dissemination.replyTree;
  }

  /** Counters of the dissemination of events and replies (see {@link DisseminationStats}). */
  get stats(): Readonly<DisseminationStats> {
    return this.dissemination.stats;
  }

  /**
   * Resolve once background work (relays, compactions, pruning) started so far has finished, and
   * the dissemination rounds have sent on every new item.
   */
  async flush(): Promise<void> {
    for (;;) {
      if (this.background.size > 0) await Promise.allSettled([...this.background]);
      else if (this.dissemination.busy) await Bun.sleep((this.dissemination.interval ?? 0.01) * 1000);
      else return;
    }
  }

  private track(work: Promise<unknown>): void {
    const done: Promise<void> = work.then(
      () => undefined,
      (error) => log.warn("background conversation work failed", error),
    );
    this.background.add(done);
    void done.finally(() => this.background.delete(done));
  }

  // ---------------------------------------------------------------- storing

  /** Append to the log; on success notify and maybe compact. `now` (another node's record): at once when the log answers at once;
   * else the events fire once its answer settled (whoever calls `emit` or `reply`, then listens, still hears them). `datedHere`: dated by this node's clock just now (not read again).
   * `pairId`: a reply's id made its pair id by the reply book (the in-memory log, not a subclass's `append`, does not read it back). */
  private append(event: ConversationEvent, now: boolean, datedHere: boolean, pairId = false): MaybePromise<boolean> {
    // Called for every event stored (one per reply a node learns), so no closure: a variable a
    // closure captures costs a scope object on every call (three here before, one in `fileReply`).
    // Outside the retention window, or dated beyond the allowed clock skew: not stored.
    if (this.upkeep.tooOld(event.created_at) || (!datedHere && fromTheFuture(event.created_at))) return false;
    const stored = pairId && this.log.constructor === MemoryConversationLog ? (this.log as MemoryConversationLog).appendReply(event) : this.log.append(event);
    if (now && typeof stored === "boolean") return announceEvent(this.host, this.upkeep, event, stored);
    return announceEventLater(this.host, this.upkeep, event, stored);
  }

  /** How this node signs and checks records (docs/security.md). */
  get records(): SignedRecords {
    return this.signatures.records;
  }

  /**
   * The one door for events of other nodes (gossip, sync): stored once their author's signature
   * passed (replies through the reply book).
   *
   * @throws {EndpointError} `bad_request` when the signature rules refuse it (docs/security.md).
   */
  private async ingest(event: ConversationEvent, mac?: Uint8Array | null): Promise<ConversationEvent | null> {
    if (event.kind === EventKind.Reply) {
      const nonce = event.parent_id ?? event.conversation_id;
      const origin = { conversationId: event.conversation_id, createdAt: event.created_at, metadata: event.metadata };
      return this.replyBook.receive(nonce, event.peer, event.payload.result ?? null, event.metadata[SIG_KEY], origin, mac);
    }
    return this.events.file(event, mac);
  }

  // ---------------------------------------------------------------- broadcast

  /**
   * Call `endpoint(...args, broadcast=<Broadcast>, **kwargs)` on every known peer concurrently and
   * record the opening `message` event. A peer that fails does not fail the broadcast. Resolves once
   * every peer answered or failed.
   *
   * @throws {ConfigError} when `kwargs` has a `broadcast` key.
   * @throws {EncodeError} when an argument cannot travel (nothing is sent).
   */
  async broadcast(endpoint: string, args: unknown[] = [], kwargs: Kwargs = {}): Promise<Broadcast> {
    if (typeof endpoint !== "string" || endpoint.length === 0) throw new ConfigError("broadcast needs an endpoint name");
    if ("broadcast" in kwargs) throw new ConfigError("'broadcast' is reserved: it carries the broadcast itself");
    encode([args, kwargs]); // fail here, not silently on every peer
    const broadcast = newBroadcast(this.host.self(), endpoint);
    this.replyBook.opened(broadcast.nonce);
    this.dissemination.opened(broadcast.nonce);
    const message = this.records.signEvent(openingMessage(broadcast.nonce, broadcast.origin, endpoint, args, kwargs));
    await this.append(message, false, false);
    const sent = await this.gossip.fanOut(this.gossip.others(), endpoint, args, this.signatures.broadcastKwargs(broadcastKwargs(broadcast, kwargs), message));
    log.debug(`broadcast ${endpoint} ${broadcast.nonce} reached ${sent} peer(s)`);
    return broadcast;
  }

  /**
   * Called by the endpoint dispatcher for every call that carries a broadcast (before its handler):
   * records the opening `message` event (id = nonce) and emits `broadcast.received` the first time,
   * once its signature (or its MAC `mac`) passed (the handler does not wait for the check).
   */
  observe(broadcast: Broadcast, endpoint: string, args: unknown[], kwargs: Kwargs, sig?: unknown, mac: Uint8Array | null = null): void {
    const opening = receivedOpening(broadcast, endpoint, args, kwargs, this.host, signatureText(sig));
    if ("refused" in opening) return log.debug(`broadcast ${broadcast.nonce} not recorded: ${opening.refused}`);
    if (this.log.has(opening.event.event_id) === true) return log.debug(`broadcast ${broadcast.nonce} not recorded: held already (a record is checked once per node)`);
    const received = { broadcast: opening.broadcast, endpoint, args, kwargs: opening.kwargs } satisfies BroadcastReceived;
    this.track(this.events.fileOrLog(opening.event, `broadcast ${broadcast.nonce} not recorded`, mac).then((stored) => stored && this.host.emit("broadcast.received", received)));
  }

  /**
   * Answer a broadcast: record the reply here and send it to the origin by a call of its own
   * (`_synapse.broadcast.reply(nonce, self, result=...)`) and on to the swarm (batched among Bun
   * peers, per-event calls to the others; docs/conversations.md#gossip). A node
   * replies once per broadcast: a second reply returns the first one and sends nothing.
   *
   * @throws {EncodeError} when the result cannot travel.
   */
  async reply(target: BroadcastRef, result: unknown): Promise<BroadcastReply> {
    const nonce = nonceOf(target);
    encode(result);
    const self = this.host.self();
    const sig = signatureText(this.records.signReply(nonce, result ?? null));
    const event = await this.replyBook.record(nonce, self, result ?? null, sig ? { metadata: { [SIG_KEY]: sig } } : undefined);
    if (!event) {
      const first = await this.replyBook.replyOf(nonce, self.id);
      return first ?? { nonce, peer: self, result: result ?? null };
    }
    const item = { kind: "reply", nonce, peer: self, result: result ?? null, sig: signatureBytes(sig), mac: this.signatures.replyMacs(nonce, result ?? null, sig) } satisfies Item; // 64 bytes, not 88 of base64
    const origin = typeof target !== "string" && target.origin && target.origin.id !== self.id ? target.origin : null;
    // The origin first, by a call of its own: its request goes out before the rest of the swarm's.
    const to = origin && (this.dissemination.known(origin.id) ?? origin); // its record as known here (not a copy of every record to find it)
    const first = to ? this.gossip.fanOut([to], ConversationEndpoint.Reply, [nonce, self], this.signatures.replyKwargs(result, sig, item.mac)) : 0;
    await this.dissemination.spreadOwnReply(item, to, first);
    return { nonce, peer: self, result: result ?? null };
  }

  /** Serve `_synapse.broadcast.reply`: {@link acceptReply}, then send it on (with its MACs `mac`). @throws {EndpointError} as it does. */
  async receiveReply(nonce: unknown, peerRaw: unknown, result: unknown, sig?: unknown, mac: Uint8Array | null = null): Promise<{ ok: true }> {
    this.dissemination.stats.eventsReceived++;
    const peer = await this.acceptReply(nonce, peerRaw, result, sig, mac);
    if (peer) this.track(this.dissemination.spreadReply({ kind: "reply", nonce: nonce as string, peer, result: result ?? null, sig: sig ?? null, mac }));
    else this.dissemination.stats.duplicatesDropped++;
    return { ok: true };
  }

  /**
   * The one door for a reply off the network (a `_synapse.broadcast.reply` call or a batch item):
   * checked (its signature, or its MAC `mac` for this node), filed once per (nonce, peer). The replier when new here, else null
   * (at once when the reply book files it at once, see {@link ReplyBook.receive}).
   *
   * @throws {EndpointError} `bad_request` for a malformed reply, a replier outside the swarm/team or a refused signature (at once, or the promise rejects).
   */
  acceptReply(nonceRaw: unknown, peerRaw: unknown, result: unknown, sig?: unknown, mac?: Uint8Array | null, known = false): MaybePromise<Peer | null> {
    const { nonce, peer } = checkReply(nonceRaw, peerRaw, this.host, known); // `known`: this node's record of the replier (a batched reply by reference)
    const filed = this.replyBook.receive(nonce, peer, result ?? null, sig, undefined, mac);
    return filed instanceof Promise ? replierOnceFiled(filed, peer) : filed ? peer : null; // no closure here (a scope object per call)
  }

  /** The keyword arguments of a relayed `_synapse.broadcast.reply`: `result`, and `sig` (and `mac`) for the peers that take them. */
  replyKwargs(result: unknown, sig: unknown, mac?: Uint8Array | null): Kwargs | PerPeerKwargs {
    return this.signatures.replyKwargs(result, sig, mac);
  }

  /** Serve `_synapse.conversation.batch` (Bun peers only; see dissemination.ts). */
  serveBatch(items: unknown, from: unknown, have: unknown, refs?: unknown, window?: unknown, tree?: unknown): ReturnType<Dissemination["serve"]> {
    return this.dissemination.serve(items, from, have, refs, window, tree);
  }

  /** Replies this node knows for a broadcast, in the order they were filed. */
  async replies(target: BroadcastRef): Promise<BroadcastReply[]> {
    return this.replyBook.of(nonceOf(target));
  }

  // ---------------------------------------------------------------- events

  /**
   * Create an event authored by this node, store it and send it to the swarm: per-event calls to
   * the peers that do not batch (who relay it further), batched rounds among Bun peers. Resolves
   * once those calls are answered (or failed) and the item's first batch was (one Bun peer holds it;
   * the rest learn it within a few rounds).
   *
   * @throws {ConfigError} for an empty conversation id or kind, a non-map payload or metadata, or the
   * `reply` kind (use {@link reply}).
   * @throws {EncodeError} when the payload cannot travel.
   */
  async emit(conversation: BroadcastRef, kind: string, payload: Record<string, unknown> = {}, options: EmitOptions = {}): Promise<ConversationEvent> {
    const event = this.build(conversation, kind, payload, options);
    await this.publish(event);
    return event;
  }

  private build(conversation: BroadcastRef, kind: string, payload: Record<string, unknown>, options: EmitOptions): ConversationEvent {
    const event = this.records.signEvent(authoredEvent(this.host.self(), nonceOf(conversation), kind, payload, options));
    encode(event); // fail here, not silently on every peer
    return event;
  }

  /**
   * Store locally and send to every peer; with `waitFor`, send to that peer too even if unknown, and
   * resolve once it answered (the rest goes on in the background).
   */
  private async publish(event: ConversationEvent, waitFor?: Peer): Promise<void> {
    await this.append(event, false, false);
    const item: Item = { kind: "event", event, mac: this.signatures.eventMacs(event) };
    if (waitFor === undefined || waitFor.id === this.host.self().id) {
      await this.dissemination.spread(item, new Set());
      return;
    }
    const first = this.gossip.others().find((p) => p.id === waitFor.id) ?? waitFor; // reach the origin even if not (yet) a known peer
    this.track(this.dissemination.spread(item, new Set([waitFor.id])));
    await this.gossip.fanOut([first], ConversationEndpoint.Event, [event], {});
  }

  /** `ack`: "I saw this and choose to wade in" (parent_id = the nonce unless `options.parentId`). */
  async ack(broadcast: BroadcastRef, payload: Record<string, unknown> = {}, options: EmitOptions = {}): Promise<ConversationEvent> {
    const nonce = nonceOf(broadcast);
    const event = this.build(nonce, EventKind.Ack, payload, { parentId: options.parentId === undefined ? nonce : options.parentId, metadata: options.metadata });
    // The broadcast's origin gets the ACK by a call of its own, before this resolves (as a reply).
    await this.publish(event, typeof broadcast === "string" ? undefined : broadcast.origin);
    return event;
  }

  /**
   * Serve `_synapse.conversation.event`: store a new event and relay it to every known peer but its
   * author. `stored` tells whether it was new here.
   *
   * @throws {EndpointError} `bad_request` for a malformed event, an author outside the swarm/team, or
   * an event older than the retention window.
   */
  async receiveEvent(raw: unknown): Promise<{ ok: true; stored: boolean }> {
    this.dissemination.stats.eventsReceived++;
    const event = await this.acceptEvent(raw);
    if (event) this.track(this.dissemination.spread({ kind: "event", event }, new Set()));
    else this.dissemination.stats.duplicatesDropped++;
    return { ok: true, stored: event !== null };
  }

  /**
   * The one door for an event off the network (a `_synapse.conversation.event` call or a batch
   * item): checked, then stored (a `reply` event through the reply book). Returns the event as
   * checked when it is new here, else null.
   *
   * @throws {EndpointError} `bad_request` for a malformed event, an author outside the swarm/team,
   * or a time outside the retention window or the allowed clock skew.
   */
  async acceptEvent(raw: unknown, mac?: Uint8Array | null): Promise<ConversationEvent | null> {
    const event = checkEvent(raw, { admit: (p) => this.host.admit(p), tooOld: (t) => this.upkeep.tooOld(t), retention: this.retention });
    return (await this.ingest(event, mac)) ? event : null;
  }

  /** The events of one conversation, oldest first. */
  async conversation(target: BroadcastRef, since?: number): Promise<ConversationEvent[]> {
    return this.log.events(nonceOf(target), since);
  }

  /** Conversation ids, in the order this node first heard of them. */
  async list(): Promise<string[]> {
    return this.log.conversations();
  }

  /**
   * Catch up from a peer: fetch one conversation (or every conversation the peer lists, going on
   * past one that fails: see `failed`) and store what is new here; paged with a Bun peer. Synced
   * events are not relayed. Returns the events that were new.
   */
  sync(peer: Pick<Peer, "address" | "port">, conversation?: BroadcastRef, options: SyncOptions = {}): Promise<SyncResult> {
    const ids = conversation === undefined ? null : [nonceOf(conversation)];
    const host = this.host;
    const port: SyncPort = { call: (p, e, a, k) => host.call(p, e, a, k), admit: (p) => host.admit(p), tooOld: (t) => this.upkeep.tooOld(t), ingest: (e) => this.ingest(e) };
    if (host.pagesSync) port.pagesSync = (p) => host.pagesSync?.(p) ?? null;
    return syncFrom(port, peer, ids, options.since ?? 0, options.pageBytes);
  }

  // ---------------------------------------------------------------- compaction and retention (upkeep.ts)

  /** Replace the summarizer used by compaction. */
  setSummarizer(summarizer: Summarizer): void {
    this.upkeep.setSummarizer(summarizer);
  }

  /** Fold older events into one `summary` if over `maxEvents`; see {@link Upkeep.compact}. */
  compact(target: BroadcastRef): Promise<ConversationEvent | null> {
    return this.upkeep.compact(nonceOf(target));
  }

  /** Compact a conversation now, whatever its size; see {@link Upkeep.compactNow}. */
  compactNow(target: BroadcastRef, options: CompactOptions = {}): Promise<ConversationEvent | null> {
    return this.upkeep.compactNow(nonceOf(target), options);
  }

  /** Drop conversations quiet for longer than the retention. Returns the dropped ids. */
  prune(now?: number): Promise<string[]> {
    return this.upkeep.prune(now);
  }
}
