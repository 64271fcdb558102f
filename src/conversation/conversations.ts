/**
 * The conversation layer of a node: broadcasts and their replies, conversation events gossiped to
 * the swarm with de-duplication, and catch-up sync. It wires in parts of their own: the ask flow
 * (`ask.ts`), the reply book (`replies.ts`), fan-out (`gossip.ts`), upkeep (`upkeep.ts`) and sync
 * (`sync.ts`). It talks to the node through a narrow {@link ConversationHost}, so it is tested with
 * a fake host.
 *
 * @module
 */
import type { Broadcast, BroadcastReply, ConversationEvent, Peer } from "../types.ts";
import type { Kwargs } from "../wire/messages.ts";
import { ConfigError, EndpointError, ErrorCode } from "../errors.ts";
import { encode } from "../wire/codec.ts";
import { createLogger } from "../log.ts";
import type { ConversationLog } from "./log.ts";
import { MemoryConversationLog } from "./memory-log.ts";
import { EventKind, MAX_CLOCK_SKEW, MAX_ID_LENGTH, fromTheFuture, makeEvent, parseEvent } from "./events.ts";
import { readPeer } from "../wire/peer.ts";
import { errorMessage, isMap } from "../util/guards.ts";
import { broadcastKwargs, broadcastTime, newBroadcast, type BroadcastReceived } from "./broadcast.ts";
import type { Summarizer } from "./compaction.ts";
import { ConversationEndpoint, conversationSettings, nonceOf, type BroadcastRef, type ConversationHost, type ConversationStats, type ConversationOptions, type EmitOptions, type SyncOptions, type SyncResult } from "./contracts.ts";
import { AskFlow, checkOrigin } from "./ask.ts";
import { Upkeep, type CompactOptions } from "./upkeep.ts";
import { Gossip } from "./gossip.ts";
import { ReplyBook, type ReplyOrigin } from "./replies.ts";
import { syncFrom, type SyncPort } from "./sync.ts";

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
  /** Counters since the layer was created. */
  readonly stats: ConversationStats = { eventsReceived: 0, eventsForwarded: 0, duplicatesDropped: 0 };

  private readonly replyBook: ReplyBook;
  private readonly background = new Set<Promise<void>>();
  private readonly gossip: Gossip;
  /** The ask flow: the node's ask handler, served directly and as part of broadcasts. */
  readonly asks: AskFlow;
  private readonly upkeep: Upkeep;

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
    this.replyBook = new ReplyBook(this.log, (event) => this.append(event));
    const track = (work: Promise<unknown>) => this.track(work);
    this.upkeep = new Upkeep(
      {
        log: this.log,
        self: () => this.host.self(),
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
    this.upkeep.start();
  }

  /** Stop the sweeper. The log stays open (close it yourself when done). */
  stop(): void {
    this.upkeep.stop();
  }

  /** Resolve once background work (relays, compactions, pruning) started so far has finished. */
  async flush(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
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

  private tooOld(createdAt: number): boolean {
    return this.upkeep.tooOld(createdAt);
  }

  /** Append to the log; on success notify and maybe compact. */
  private async append(event: ConversationEvent): Promise<boolean> {
    // Outside the retention window, or dated beyond the allowed clock skew: not stored.
    if (this.tooOld(event.created_at) || fromTheFuture(event.created_at)) return false;
    if (!(await this.log.append(event))) return false;
    this.host.emit("conversation.event", event);
    this.host.emit(`conversation.${event.kind}`, event);
    this.upkeep.grew(event.conversation_id);
    return true;
  }

  /** Store an event from any source; replies go through the per-(nonce, peer) de-duplication. */
  private async ingest(event: ConversationEvent): Promise<ConversationEvent | null> {
    if (event.kind === EventKind.Reply) {
      const nonce = event.parent_id ?? event.conversation_id;
      return this.recordReply(nonce, event.peer, event.payload.result ?? null, {
        conversationId: event.conversation_id,
        createdAt: event.created_at,
        metadata: event.metadata,
      });
    }
    return (await this.append(event)) ? event : null;
  }

  /** File a reply once (see {@link ReplyBook.record}) and announce it. */
  private async recordReply(nonce: string, peer: Peer, result: unknown, origin?: ReplyOrigin): Promise<ConversationEvent | null> {
    const event = await this.replyBook.record(nonce, peer, result, origin);
    if (event) this.host.emit("broadcast.reply", { nonce, peer, result } satisfies BroadcastReply);
    return event;
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
    await this.append(
      makeEvent({
        conversationId: broadcast.nonce,
        eventId: broadcast.nonce,
        kind: EventKind.Message,
        peer: broadcast.origin,
        payload: { endpoint, args, kwargs },
        createdAt: broadcastTime(broadcast.nonce),
      }),
    );
    const sent = await this.gossip.fanOut(this.gossip.others(), endpoint, args, broadcastKwargs(broadcast, kwargs));
    log.debug(`broadcast ${endpoint} ${broadcast.nonce} reached ${sent} peer(s)`);
    return broadcast;
  }

  /**
   * Called by the endpoint dispatcher for every call that carries a broadcast (before its handler):
   * records the opening `message` event (id = nonce) and emits `broadcast.received` the first time.
   */
  observe(broadcast: Broadcast, endpoint: string, args: unknown[], kwargs: Kwargs): void {
    let origin: Peer;
    try {
      origin = readPeer(broadcast.origin, { mode: "lenient", what: "broadcast origin" });
    } catch (error) {
      log.debug(`broadcast ${broadcast.nonce} ignored: ${errorMessage(error)}`);
      return;
    }
    if (broadcast.nonce.length > MAX_ID_LENGTH) return;
    const refusal = this.host.admit(origin);
    if (refusal) {
      log.debug(`broadcast ${broadcast.nonce} from outside the swarm not recorded: ${refusal}`);
      return;
    }
    const { broadcast: _omitted, ...rest } = kwargs;
    const clean: Broadcast = { nonce: broadcast.nonce, origin, endpoint: broadcast.endpoint || endpoint };
    const event = makeEvent({
      conversationId: broadcast.nonce,
      eventId: broadcast.nonce,
      kind: EventKind.Message,
      peer: origin,
      payload: { endpoint, args, kwargs: rest },
      createdAt: broadcastTime(broadcast.nonce),
    });
    this.track(
      this.append(event).then((stored) => {
        if (stored) this.host.emit("broadcast.received", { broadcast: clean, endpoint, args, kwargs: rest } satisfies BroadcastReceived);
      }),
    );
  }

  /**
   * Answer a broadcast: record the reply here and send `_synapse.broadcast.reply(nonce, self,
   * result=...)` to every known peer (and the origin), so that the whole swarm learns it. A node
   * replies once per broadcast: a second reply returns the first one and sends nothing.
   *
   * @throws {EncodeError} when the result cannot travel.
   */
  async reply(target: BroadcastRef, result: unknown): Promise<BroadcastReply> {
    const nonce = nonceOf(target);
    encode(result);
    const self = this.host.self();
    const event = await this.recordReply(nonce, self, result ?? null);
    if (!event) {
      const first = (await this.replyBook.of(nonce)).get(self.id);
      return first ?? { nonce, peer: self, result: result ?? null };
    }
    const targets = this.gossip.others();
    if (typeof target !== "string" && target.origin && target.origin.id !== self.id) {
      // The origin first: its request goes out before the rest of the swarm's.
      const at = targets.findIndex((p) => p.id === target.origin.id);
      const origin = at >= 0 ? targets.splice(at, 1)[0]! : target.origin;
      targets.unshift(origin);
    }
    await this.gossip.fanOut(targets, ConversationEndpoint.Reply, [nonce, self], { result: result ?? null });
    return { nonce, peer: self, result: result ?? null };
  }

  /**
   * Serve `_synapse.broadcast.reply`: record the reply once per (nonce, peer) and forward it to the
   * rest of the swarm.
   *
   * @throws {EndpointError} `bad_request` for a malformed call or a peer outside the swarm/team.
   */
  async receiveReply(nonce: unknown, peerRaw: unknown, result: unknown): Promise<{ ok: true }> {
    if (typeof nonce !== "string" || nonce.length === 0 || nonce.length > MAX_ID_LENGTH) {
      throw new EndpointError(ErrorCode.BadRequest, "invalid broadcast reply: nonce must be a non-empty string");
    }
    const peer = readPeer(peerRaw, { mode: "lenient", what: "broadcast reply peer" });
    const refusal = this.host.admit(peer);
    if (refusal) throw new EndpointError(ErrorCode.BadRequest, refusal);
    this.stats.eventsReceived++;
    const stored = await this.recordReply(nonce, peer, result ?? null);
    if (stored) {
      const targets = this.gossip.relayTargets(new Set([peer.id]));
      this.stats.eventsForwarded += targets.length;
      this.track(this.gossip.fanOut(targets, ConversationEndpoint.Reply, [nonce, peer], { result: result ?? null }));
    } else this.stats.duplicatesDropped++;
    return { ok: true };
  }

  /** Replies this node knows for a broadcast, in the order they were filed. */
  async replies(target: BroadcastRef): Promise<BroadcastReply[]> {
    return [...(await this.replyBook.of(nonceOf(target))).values()];
  }

  // ---------------------------------------------------------------- events

  /**
   * Create an event authored by this node, store it and send it to every known peer (who relay it
   * further). Resolves once every peer answered or failed.
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
    const conversationId = nonceOf(conversation);
    if (typeof kind !== "string" || kind.length === 0 || kind.length > MAX_ID_LENGTH) throw new ConfigError("an event kind must be a non-empty string");
    if (kind === EventKind.Reply) throw new ConfigError("use reply() to answer a broadcast");
    if (!isMap(payload)) throw new ConfigError("an event payload must be a plain object");
    if (options.metadata !== undefined && !isMap(options.metadata)) throw new ConfigError("event metadata must be a plain object");
    const event = makeEvent({
      conversationId,
      kind,
      peer: this.host.self(),
      payload,
      parentId: options.parentId ?? null,
      metadata: options.metadata ?? {},
    });
    encode(event);
    return event;
  }

  /**
   * Store locally and send to every peer; with `waitFor`, send to that peer too even if unknown, and
   * resolve once it answered (the rest goes on in the background).
   */
  private async publish(event: ConversationEvent, waitFor?: Peer): Promise<void> {
    await this.append(event);
    const targets = this.gossip.others();
    if (waitFor === undefined || waitFor.id === this.host.self().id) {
      await this.gossip.fanOut(targets, ConversationEndpoint.Event, [event], {});
      return;
    }
    const rest = targets.filter((p) => p.id !== waitFor.id);
    const first = targets.find((p) => p.id === waitFor.id) ?? waitFor; // reach the origin even if not (yet) a known peer
    this.track(this.gossip.fanOut(rest, ConversationEndpoint.Event, [event], {}));
    await this.gossip.fanOut([first], ConversationEndpoint.Event, [event], {});
  }

  /** `ack`: "I saw this and choose to wade in" (parent_id = the nonce unless `options.parentId`). */
  async ack(broadcast: BroadcastRef, payload: Record<string, unknown> = {}, options: EmitOptions = {}): Promise<ConversationEvent> {
    const nonce = nonceOf(broadcast);
    return this.emit(nonce, EventKind.Ack, payload, { parentId: options.parentId === undefined ? nonce : options.parentId, metadata: options.metadata });
  }

  /**
   * Serve `_synapse.conversation.event`: store a new event and relay it to every known peer but its
   * author. `stored` tells whether it was new here.
   *
   * @throws {EndpointError} `bad_request` for a malformed event, an author outside the swarm/team, or
   * an event older than the retention window.
   */
  async receiveEvent(raw: unknown): Promise<{ ok: true; stored: boolean }> {
    const event = parseEvent(raw);
    const refusal = this.host.admit(event.peer);
    if (refusal) throw new EndpointError(ErrorCode.BadRequest, refusal);
    if (this.tooOld(event.created_at)) throw new EndpointError(ErrorCode.BadRequest, `conversation event older than the retention window (${this.retention} s)`);
    if (fromTheFuture(event.created_at)) {
      throw new EndpointError(ErrorCode.BadRequest, `conversation event dated more than ${MAX_CLOCK_SKEW} s ahead of this node's clock`);
    }
    this.stats.eventsReceived++;
    const stored = await this.ingest(event);
    if (stored) {
      const targets = this.gossip.relayTargets(new Set([event.peer.id]));
      this.stats.eventsForwarded += targets.length;
      this.track(this.gossip.fanOut(targets, ConversationEndpoint.Event, [event], {}));
    } else this.stats.duplicatesDropped++;
    return { ok: true, stored: stored !== null };
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
    const port: SyncPort = { call: (p, e, a, k) => host.call(p, e, a, k), admit: (p) => host.admit(p), tooOld: (t) => this.tooOld(t), ingest: (e) => this.ingest(e) };
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
