/**
 * The conversation layer of a node: broadcasts and their replies, conversation events gossiped to
 * the swarm with de-duplication, the ask flow, compaction, retention and catch-up sync.
 *
 * It talks to the rest of the node through a narrow {@link ConversationHost}, so it can be tested
 * with a fake host and wired to whatever membership layer provides the peer list.
 *
 * @module
 */
import type { Broadcast, BroadcastReply, ConversationEvent, Peer } from "../types.ts";
import type { Kwargs } from "../wire/messages.ts";
import { ConfigError, EndpointError, ProtocolError } from "../errors.ts";
import { encode } from "../wire/codec.ts";
import { createLogger } from "../log.ts";
import type { ConversationLog } from "./log.ts";
import { MemoryConversationLog } from "./memory-log.ts";
import { EventKind, MAX_ID_LENGTH, makeEvent, parseEvent } from "./events.ts";
import { readPeer } from "../wire/peer.ts";
import { isMap } from "../util/guards.ts";
import { nowSeconds } from "../util/time.ts";
import { broadcastKwargs, broadcastTime, newBroadcast, replyEventId, type BroadcastReceived } from "./broadcast.ts";
import {
  checkLimits,
  defaultKeepRecent,
  digestSummarizer,
  planCompaction,
  summaryEvent,
  type Summarizer,
} from "./compaction.ts";

const log = createLogger("conversation");

/** Endpoint names of the conversation layer (PROTOCOL.md). */
export const ConversationEndpoint = {
  Reply: "_synapse.broadcast.reply",
  Event: "_synapse.conversation.event",
  Sync: "_synapse.conversation.sync",
  List: "_synapse.conversation.list",
} as const;

/** What the conversation layer needs from its node. */
export interface ConversationHost {
  /** This node as a Peer record. */
  self(): Peer;
  /** Known peers (never self). */
  peers(): Peer[];
  /** Why `peer` may not take part (different swarm or team), or null when it may. */
  admit(peer: Peer): string | null;
  /** Call `endpoint` on a peer; rejects on any failure. */
  call(peer: Pick<Peer, "address" | "port">, endpoint: string, args: unknown[], kwargs: Kwargs): Promise<unknown>;
  /** Emit a node event (never throws). */
  emit(event: string, payload: unknown): void;
}

/** Options of the conversation layer (node options `conversation*`). Times in seconds. */
export interface ConversationOptions {
  /** Where events are kept (default: a new {@link MemoryConversationLog}). */
  log?: ConversationLog;
  /** Compact a conversation once it holds more than this many events (default: never). */
  maxEvents?: number | null;
  /** Newest events kept verbatim by compaction (default: min(10, maxEvents / 2)). */
  keepRecent?: number;
  /** Prune conversations quiet for this long, and refuse events older than this (default: keep forever). */
  retention?: number | null;
  /**
   * How many peers a node relays a new event or reply to. Default: all of them (flooding, as Python
   * nodes do). A small number (3 to 5) keeps traffic linear in the swarm size: the author still sends
   * to every peer it knows, relays only cover peers the author did not reach.
   */
  gossipFanout?: number;
  /** Text of compaction summaries (default: {@link digestSummarizer}). */
  summarizer?: Summarizer;
}

/** Options of {@link Conversations.emit}. */
export interface EmitOptions {
  /** The event this one answers (for an `ack` or `reply`: the nonce). */
  parentId?: string | null;
  metadata?: Record<string, unknown>;
}

/** Options of {@link Conversations.sync}. */
export interface SyncOptions {
  /** Only events with `created_at` after this (float Unix seconds; default 0: everything). */
  since?: number;
}

/** What the ask handler learns besides the task and context. */
export interface AskInfo {
  /** The broadcast the ask came in, or null for a direct `_node.ask`. */
  broadcast: Broadcast | null;
}

/** The default task handler of a node (`node.ask(handler)`). */
export type AskHandler = (task: string, context: Record<string, unknown>, info: AskInfo) => unknown;

/** A broadcast, or its nonce. */
export type BroadcastRef = Broadcast | string;

function nonceOf(ref: BroadcastRef): string {
  const nonce = typeof ref === "string" ? ref : ref?.nonce;
  if (typeof nonce !== "string" || nonce.length === 0) throw new ConfigError("expected a Broadcast or a nonce string");
  return nonce;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Sample `k` items (Fisher-Yates prefix). */
function sample<T>(items: T[], k: number): T[] {
  const copy = items.slice();
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(Math.random() * (copy.length - i));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy.slice(0, k);
}

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

  private summarize: Summarizer;
  private askHandler: AskHandler | null = null;
  /** nonce -> replier id -> reply; loaded from the log on first use of a nonce. */
  private readonly replyCache = new Map<string, Map<string, BroadcastReply>>();
  private readonly compacting = new Map<string, Promise<void>>();
  private readonly recompact = new Set<string>();
  private readonly background = new Set<Promise<void>>();
  private sweeper: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly host: ConversationHost,
    options: ConversationOptions = {},
  ) {
    this.log = options.log ?? new MemoryConversationLog();
    this.maxEvents = options.maxEvents ?? null;
    this.keepRecent = options.keepRecent ?? (this.maxEvents === null ? 10 : defaultKeepRecent(this.maxEvents));
    if (this.maxEvents !== null) checkLimits(this.maxEvents, this.keepRecent);
    const retention = options.retention ?? null;
    if (retention !== null && !(typeof retention === "number" && retention > 0)) {
      throw new ConfigError(`conversationRetention must be a positive number of seconds or null, got ${String(retention)}`);
    }
    this.retention = retention;
    const fanout = options.gossipFanout ?? Number.POSITIVE_INFINITY;
    if (!(fanout >= 1)) throw new ConfigError(`gossipFanout must be at least 1, got ${String(fanout)}`);
    this.gossipFanout = fanout === Number.POSITIVE_INFINITY ? fanout : Math.floor(fanout);
    this.summarize = options.summarizer ?? digestSummarizer;
  }

  // ---------------------------------------------------------------- lifecycle

  /** Start the retention sweeper (when retention is set). */
  start(): void {
    if (this.retention === null || this.sweeper) return;
    const everyMs = Math.min(60_000, Math.max(1_000, (this.retention * 1000) / 4));
    this.track(this.prune());
    this.sweeper = setInterval(() => this.track(this.prune()), everyMs);
    this.sweeper.unref?.();
  }

  /** Stop the sweeper. The log stays open (close it yourself when done). */
  stop(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
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

  // ---------------------------------------------------------------- peers

  private others(exclude: ReadonlySet<string> = new Set()): Peer[] {
    const self = this.host.self().id;
    return this.host.peers().filter((p) => p.id !== self && !exclude.has(p.id));
  }

  /** Peers a relay goes to: every other peer, or a random `gossipFanout` of them. */
  private relayTargets(exclude: ReadonlySet<string>): Peer[] {
    const peers = this.others(exclude);
    return peers.length <= this.gossipFanout ? peers : sample(peers, this.gossipFanout);
  }

  /** Call every target concurrently; failures are logged, never thrown. Resolves to the number that answered. */
  private async fanOut(targets: Peer[], endpoint: string, args: unknown[], kwargs: Kwargs): Promise<number> {
    const results = await Promise.allSettled(targets.map((p) => this.host.call(p, endpoint, args, kwargs)));
    let ok = 0;
    results.forEach((r, i) => {
      if (r.status === "fulfilled") ok++;
      else log.debug(`${endpoint} to ${targets[i]!.name || targets[i]!.id.slice(0, 8)} failed: ${errorText(r.reason)}`);
    });
    return ok;
  }

  // ---------------------------------------------------------------- storing

  private tooOld(createdAt: number): boolean {
    return this.retention !== null && createdAt < nowSeconds() - this.retention;
  }

  /** Append to the log; on success notify and maybe compact. */
  private async append(event: ConversationEvent): Promise<boolean> {
    if (this.tooOld(event.created_at)) return false;
    if (!(await this.log.append(event))) return false;
    this.host.emit("conversation.event", event);
    this.host.emit(`conversation.${event.kind}`, event);
    this.scheduleCompaction(event.conversation_id);
    return true;
  }

  /** Store an event from any source; replies go through the per-(nonce, peer) de-duplication. */
  private async ingest(event: ConversationEvent): Promise<ConversationEvent | null> {
    if (event.kind === EventKind.Reply) {
      const nonce = event.parent_id ?? event.conversation_id;
      return this.recordReply(nonce, event.peer, event.payload.result ?? null, event.conversation_id, event.created_at, event.metadata);
    }
    return (await this.append(event)) ? event : null;
  }

  private async loadReplies(nonce: string): Promise<Map<string, BroadcastReply>> {
    let byPeer = this.replyCache.get(nonce);
    if (byPeer) return byPeer;
    const events = await this.log.events(nonce);
    byPeer = this.replyCache.get(nonce);
    if (!byPeer) this.replyCache.set(nonce, (byPeer = new Map()));
    for (const e of events) {
      if (e.kind === EventKind.Reply && !byPeer.has(e.peer.id)) byPeer.set(e.peer.id, { nonce, peer: e.peer, result: e.payload.result ?? null });
    }
    return byPeer;
  }

  /**
   * Record `peer`'s reply to `nonce` once: the in-memory set gates concurrent copies, the log's
   * derived event id gates copies after a restart or a compaction. Returns the stored event or null.
   */
  private async recordReply(
    nonce: string,
    peer: Peer,
    result: unknown,
    conversationId = nonce,
    createdAt?: number,
    metadata?: Record<string, unknown>,
  ): Promise<ConversationEvent | null> {
    const byPeer = await this.loadReplies(nonce);
    if (byPeer.has(peer.id)) return null;
    const reply: BroadcastReply = { nonce, peer, result };
    byPeer.set(peer.id, reply); // before any await: a concurrent copy now sees it
    const event = makeEvent({
      conversationId,
      eventId: replyEventId(nonce, peer.id),
      kind: EventKind.Reply,
      peer,
      payload: { result },
      parentId: nonce,
      createdAt,
      metadata,
    });
    if (!(await this.append(event))) return null;
    this.host.emit("broadcast.reply", reply);
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
    this.replyCache.set(broadcast.nonce, new Map());
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
    const sent = await this.fanOut(this.others(), endpoint, args, broadcastKwargs(broadcast, kwargs));
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
      log.debug(`broadcast ${broadcast.nonce} ignored: ${errorText(error)}`);
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
      const first = (await this.loadReplies(nonce)).get(self.id);
      return first ?? { nonce, peer: self, result: result ?? null };
    }
    const targets = this.others();
    if (typeof target !== "string" && target.origin && target.origin.id !== self.id) {
      // The origin first: its request goes out before the rest of the swarm's.
      const at = targets.findIndex((p) => p.id === target.origin.id);
      const origin = at >= 0 ? targets.splice(at, 1)[0]! : target.origin;
      targets.unshift(origin);
    }
    await this.fanOut(targets, ConversationEndpoint.Reply, [nonce, self], { result: result ?? null });
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
      throw new EndpointError("bad_request", "invalid broadcast reply: nonce must be a non-empty string");
    }
    const peer = readPeer(peerRaw, { mode: "lenient", what: "broadcast reply peer" });
    const refusal = this.host.admit(peer);
    if (refusal) throw new EndpointError("bad_request", refusal);
    const stored = await this.recordReply(nonce, peer, result ?? null);
    if (stored) {
      const targets = this.relayTargets(new Set([peer.id]));
      this.track(this.fanOut(targets, ConversationEndpoint.Reply, [nonce, peer], { result: result ?? null }));
    }
    return { ok: true };
  }

  /** Replies this node knows for a broadcast, in the order they were filed. */
  async replies(target: BroadcastRef): Promise<BroadcastReply[]> {
    return [...(await this.loadReplies(nonceOf(target))).values()];
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
    const targets = this.others();
    if (waitFor === undefined || waitFor.id === this.host.self().id) {
      await this.fanOut(targets, ConversationEndpoint.Event, [event], {});
      return;
    }
    const rest = targets.filter((p) => p.id !== waitFor.id);
    const first = targets.find((p) => p.id === waitFor.id) ?? waitFor; // reach the origin even if not (yet) a known peer
    this.track(this.fanOut(rest, ConversationEndpoint.Event, [event], {}));
    await this.fanOut([first], ConversationEndpoint.Event, [event], {});
  }

  /** `ack`: "I saw this and choose to wade in" (parent_id = nonce). Never an assignment. */
  async ack(broadcast: BroadcastRef, payload: Record<string, unknown> = {}): Promise<ConversationEvent> {
    const nonce = nonceOf(broadcast);
    return this.emit(nonce, EventKind.Ack, payload, { parentId: nonce });
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
    if (refusal) throw new EndpointError("bad_request", refusal);
    if (this.tooOld(event.created_at)) throw new EndpointError("bad_request", `conversation event older than the retention window (${this.retention} s)`);
    const stored = await this.ingest(event);
    if (stored) {
      this.track(this.fanOut(this.relayTargets(new Set([event.peer.id])), ConversationEndpoint.Event, [event], {}));
    }
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
   * Catch up from a peer: fetch one conversation (or every conversation the peer lists) with
   * `_synapse.conversation.sync` and store what is new here. Synced events are not relayed. Returns
   * the events that were new.
   */
  async sync(peer: Pick<Peer, "address" | "port">, conversation?: BroadcastRef, options: SyncOptions = {}): Promise<ConversationEvent[]> {
    const since = options.since ?? 0;
    const ids = conversation === undefined ? await this.host.call(peer, ConversationEndpoint.List, [], {}) : [nonceOf(conversation)];
    if (!Array.isArray(ids)) throw new ProtocolError("_synapse.conversation.list did not answer a list");
    const fresh: ConversationEvent[] = [];
    for (const id of ids) {
      if (typeof id !== "string") continue;
      const answer = await this.host.call(peer, ConversationEndpoint.Sync, [id], { since });
      const events = isMap(answer) && Array.isArray(answer.events) ? answer.events : [];
      for (const raw of events) {
        let event: ConversationEvent;
        try {
          event = parseEvent(raw);
        } catch (error) {
          log.debug(`sync of ${id}: malformed event skipped: ${errorText(error)}`);
          continue;
        }
        if (event.conversation_id !== id || this.host.admit(event.peer) || this.tooOld(event.created_at)) continue;
        const stored = await this.ingest(event);
        if (stored) fresh.push(stored);
      }
    }
    return fresh;
  }

  // ---------------------------------------------------------------- ask

  /** Set (or clear with null) the default task handler. */
  setAskHandler(handler: AskHandler | null): void {
    if (handler !== null && typeof handler !== "function") throw new ConfigError("the ask handler must be a function");
    this.askHandler = handler;
  }

  /** True when an ask handler is set. */
  get hasAskHandler(): boolean {
    return this.askHandler !== null;
  }

  private askArguments(task: unknown, context: unknown): [string, Record<string, unknown>] {
    if (typeof task !== "string") throw new EndpointError("bad_request", "task must be a string");
    if (context !== undefined && context !== null && !isMap(context)) throw new EndpointError("bad_request", "context must be a map");
    return [task, (context as Record<string, unknown> | null | undefined) ?? {}];
  }

  /**
   * Serve `_node.ask` (and `synapse.ask` outside a broadcast): the handler's result.
   *
   * @throws {Error} "node has no ask handler" (answered as internal_error).
   */
  async askDirect(task: unknown, context: unknown): Promise<unknown> {
    const handler = this.askHandler;
    if (!handler) throw new Error("node has no ask handler");
    const [t, c] = this.askArguments(task, context);
    return handler(t, c, { broadcast: null });
  }

  /**
   * Serve `synapse.ask` as part of a broadcast: ACK (delivered to the origin before answering),
   * answer `{accepted: true, deferred: true}`, run the handler in the background, then reply with its
   * result, or emit an `error` event `{task, error}` when it throws.
   */
  async askBroadcast(task: unknown, context: unknown, broadcast: Broadcast): Promise<{ accepted: true; deferred: true }> {
    const handler = this.askHandler;
    if (!handler) throw new Error("node has no ask handler");
    const [t, c] = this.askArguments(task, context);
    const nonce = broadcast.nonce;
    const ack = this.build(nonce, EventKind.Ack, {}, { parentId: nonce });
    await this.publish(ack, broadcast.origin);
    this.track(
      (async () => {
        let result: unknown;
        try {
          result = await handler(t, c, { broadcast });
        } catch (error) {
          // Like the ACK and the reply, the error reaches the origin even when it is not a known peer.
          await this.publish(this.build(nonce, EventKind.Error, { task: t, error: errorText(error) }, { parentId: nonce }), broadcast.origin);
          return;
        }
        await this.reply(broadcast, result);
      })(),
    );
    return { accepted: true, deferred: true };
  }

  // ---------------------------------------------------------------- compaction and retention

  /** Replace the summarizer used by compaction. */
  setSummarizer(summarizer: Summarizer): void {
    if (typeof summarizer !== "function") throw new ConfigError("the summarizer must be a function");
    this.summarize = summarizer;
  }

  private scheduleCompaction(conversationId: string): void {
    if (this.maxEvents === null) return;
    if (this.compacting.has(conversationId)) {
      this.recompact.add(conversationId);
      return;
    }
    const run = (async () => {
      do {
        this.recompact.delete(conversationId);
        await this.compact(conversationId);
      } while (this.recompact.has(conversationId));
    })().finally(() => this.compacting.delete(conversationId));
    this.compacting.set(conversationId, run);
    this.track(run);
  }

  /**
   * Fold the older events of a conversation into one `summary` event if it holds more than
   * `maxEvents`. The folded ids stay remembered, so gossip cannot bring them back. Returns the
   * summary, or null when nothing was folded. A summarizer that throws falls back to the digest.
   */
  async compact(target: BroadcastRef): Promise<ConversationEvent | null> {
    if (this.maxEvents === null) return null;
    const conversationId = nonceOf(target);
    if ((await this.log.count(conversationId)) <= this.maxEvents) return null;
    const events = await this.log.events(conversationId);
    const plan = planCompaction(conversationId, events, { maxEvents: this.maxEvents, keepRecent: this.keepRecent });
    if (!plan) return null;
    let text: string;
    try {
      text = String(await this.summarize(plan.fold));
    } catch (error) {
      log.warn(`summarizer failed for ${conversationId}, using the digest`, error);
      text = await digestSummarizer(plan.fold);
    }
    const summary = summaryEvent(conversationId, plan.fold, text, this.host.self());
    await this.log.compact(
      conversationId,
      plan.fold.map((e) => e.event_id),
      summary,
    );
    this.host.emit("conversation.event", summary);
    this.host.emit(`conversation.${EventKind.Summary}`, summary);
    return summary;
  }

  /** Drop conversations quiet for longer than the retention. Returns the dropped ids. */
  async prune(now: number = nowSeconds()): Promise<string[]> {
    if (this.retention === null) return [];
    const dropped = await this.log.prune(now - this.retention);
    for (const id of dropped) this.replyCache.delete(id);
    if (dropped.length > 0) log.debug(`pruned ${dropped.length} quiet conversation(s)`);
    return dropped;
  }
}
