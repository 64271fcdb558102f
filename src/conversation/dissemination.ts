/**
 * Batched dissemination of conversation events and replies among Bun peers. Without it, every item
 * costs a call per peer, flooded on by every receiver (N replies to a broadcast: about N^3 calls).
 * With it, each node runs rounds (`batchInterval` seconds), each calling `batchFanout` random Bun
 * peers (their hello offered `batch`) ONE `_synapse.conversation.batch` call each, carrying
 *
 * - push: every *hot* item the peer is not known to have (an item is hot until this node pushed
 *   it to {@link HOT_PUSHES} peers, for at most {@link HOT_ROUNDS} rounds; an item that came in an
 *   answer to this node's pull is never hot here: pulls spread it on), and
 * - pull: `have`, a digest of every item this node remembers ({@link KEEP_ROUNDS} rounds and at
 *   least {@link KEEP_SECONDS}: a slow swarm must not forget an item before every node has it), so that
 *   the answer brings exactly the items the callee remembers and the caller lacks; to a peer that
 *   offered `have_window`, mostly the news of the last seconds only (digest-window.ts).
 *
 * Items learnt within one round travel together: a node calls while something is hot or its pulls
 * bring news (until {@link FRUITLESS_PULLS} fruitless answers in a row), `batchFanout` at a time.
 *
 * - De-duplication: by key (event id; (nonce, replier) for a reply), before anything is ingested
 *   or queued (`duplicatesDropped`); past that, the log's ids and the reply book refuse copies.
 * - Every incoming item goes through the conversation layer's one ingest path (`acceptEvent`,
 *   `acceptReply`): the checks of a `_synapse.conversation.event` or `_synapse.broadcast.reply` call.
 * - Repair by pull (`repair.ts`): an item whose parent is still missing a second later makes this
 *   node sync that conversation from the sender.
 * - Peers that do not batch get per-event calls (`Gossip.perEventTargets`); a Bun peer not yet
 *   connected gets the author's, which opens the connection (else a short `_synapse.ping` probe).
 * - Replies go by reference (the replier's id) to peers that offered `reply_ref` (docs/protocol.md).
 * - Items travel as bytes to peers that offered `item_bytes` (item-bytes.ts): relayed as they came.
 * - The replies to this node's own broadcasts go on down a reply tree to the peers that offered
 *   `reply_tree` (reply-tree.ts), and a tree call's items are sent on down its group and not pushed.
 *
 * Longer than 400 lines: both halves of the rounds live here, the calls out (pushes and digests)
 * and the serving of them (de-duplication, ingest, relay), which share the remembered entries and
 * the round's state; the parts that stand alone are modules of their own (item-memory, item-bytes,
 * peer-view, digest-window, repair).
 *
 * @module
 */
import type { ConversationEvent, Peer } from "../types.ts";
import { acceptItem, isNew, type DisseminationLayer, type DisseminationStats, type Taken } from "./dissemination-ports.ts";
import { createLogger } from "../log.ts";
import { monotonicMs } from "../util/time.ts";
import { errorMessage, isMap } from "../util/guards.ts";
import { Repairs } from "./repair.ts";
import { PeerViews, type PeerView } from "./peer-view.ts";
import { ConversationEndpoint, type ConversationHost, type ConversationSettings } from "./contracts.ts";
import type { Gossip } from "./gossip.ts";
import { BATCH_BYTES, authorOf, itemBound, itemHash, type Item, type RawItem, type WireItem } from "./batch-items.ts";
import { readAnswerItems, readBatchItems } from "./item-bytes.ts";
import { HOT_PUSHES, HOT_ROUNDS, ItemMemory, batchFor, handOver, holders, packFor, pickPeer, release, waitFor, within, type Entry } from "./item-memory.ts";
import { ReplyTree, cutPerGroup, readTreeIds, shuffle } from "./reply-tree.ts";
import { DigestChoice, batchKwargs, digestWindow } from "./digest-window.ts";
import type { MaybePromise } from "./log.ts";
import type { BinParts } from "../wire/bin-parts.ts";

const log = createLogger("conversation");

/** Random peers looked at to find one that lacks a hot item, per call of a round. */
const PICK_TRIES = 4;
/** No peer (a relay's per-event targets among Bun peers alone), no id: shared, never changed. */
const NO_PEERS: Peer[] = [];
const NO_IDS: ReadonlySet<string> = new Set();
/** Answers in a row that brought nothing new after which a node stops pulling (until its next news). */
export const FRUITLESS_PULLS = 3;
/** New items an answer must bring for the next pull to go at once (not at the next round). */
export const EAGER_PULL_ITEMS = 8;
/** Rounds between two pulls of a node whose pulls stopped, while it remembers items. */
export const IDLE_PULL_ROUNDS = 50;
/**
 * Rounds after its last news at which a node whose pulls stopped pulls once more, before the pulls
 * of every {@link IDLE_PULL_ROUNDS}: a node that stopped while it still lacked an item (three answers
 * in a row from peers that lacked it too) is not left without it for a second. In the 200-peer
 * broadcast bench that happened in about one round in thirty, which then took 1.1 s.
 */
export const CHECK_PULL_ROUNDS: readonly number[] = [12, 25];
/** This node's own broadcasts remembered for the reply tree (the newest; one older gets no tree). */
const OWN_BROADCASTS = 256;

/** How an item is learnt: as usual; a reply of this node's broadcast for the tree ({@link Dissemination.spreadReply}); without pulls after it (a tree call's, a replier's own under a tree). */
const enum Learn {
  Usual,
  Root,
  Quiet,
}

export { HOT_PUSHES, HOT_ROUNDS, KEEP_ROUNDS, KEEP_SECONDS, MAX_ENTRIES } from "./item-memory.ts";
export type { DisseminationLayer, DisseminationStats } from "./dissemination-ports.ts";

/** One node's dissemination of conversation items. */
export class Dissemination {
  /** Counters; see {@link DisseminationStats}. */
  readonly stats: DisseminationStats = { eventsReceived: 0, eventsForwarded: 0, duplicatesDropped: 0, batchesSent: 0, batchesReceived: 0, repairs: 0 };
  /** Recently learnt items. */
  private readonly memory = new ItemMemory();
  /** This node's id (a node's id never changes): asked of the host once, not for every item. */
  private selfIdCache: string | null = null;
  private round = 0;
  /** The round the newest item was learnt in. */
  private newest = 0;
  /** Answers in a row that brought nothing new (reset by any news). */
  private fruitless = FRUITLESS_PULLS;
  private timer: ReturnType<typeof setInterval> | null = null;
  private inFlight = 0;
  private readonly repairs: Repairs;
  private stopped = false;
  private readonly views: PeerViews;
  /** A reply by reference named a replier unknown here: the next call asks for whole records (no `refs`). */
  private wantWhole = false;
  /** Which digest each call carries (digest-window.ts). */
  private readonly digests = new DigestChoice();
  /** Calls down reply trees (reply-tree.ts). */
  private readonly tree: ReplyTree;
  /** The nonces of this node's newest broadcasts (their replies go down the tree). */
  private readonly own = new Set<string>();
  /** Replies to this node's broadcasts learnt since the last round: the next round sends them down the tree. */
  private roots: Entry[] = [];

  /** Seconds between rounds, or null: no batching (every peer gets per-event calls, as Python nodes do). */
  readonly interval: number | null;
  /** Bun peers called per round. */
  readonly fanout: number;
  /** Whether the replies to this node's broadcasts go down a reply tree (the settings' rule: the option, and batching). */
  readonly replyTree: boolean;

  constructor(
    private readonly host: Pick<ConversationHost, "self" | "peers" | "call" | "batches" | "macs" | "replyRefs" | "itemBytes" | "haveWindow" | "replyTree">,
    private readonly layer: DisseminationLayer,
    /** Keeps background work for the layer's `flush`. */
    private readonly track: (work: Promise<unknown>) => void,
    private readonly gossip: Gossip,
    settings: Pick<ConversationSettings, "batchInterval" | "batchFanout" | "replyTree">,
  ) {
    this.interval = settings.batchInterval;
    this.fanout = settings.batchFanout;
    this.replyTree = settings.replyTree;
    this.tree = new ReplyTree(host, () => this.selfId, track, this.stats);
    this.repairs = new Repairs(layer, track, this.stats);
    this.views = new PeerViews(host, track, this.interval);
  }

  private get selfId(): string {
    return (this.selfIdCache ??= this.host.self().id);
  }

  /** True while items are hot or batch calls are in flight (what {@link Conversations.flush} waits for). */
  get busy(): boolean {
    return this.inFlight > 0 || this.tree.inFlight > 0 || this.roots.length > 0 || this.memory.hasHot(this.round);
  }

  /** A known peer by id (from the peer list as taken at most a few seconds ago, peer-view.ts), or null. */
  known(id: string): Peer | null {
    return this.views.find(id);
  }

  /** Stop the rounds and forget what is queued. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.roots = [];
    this.memory.clear();
    this.repairs.stop();
    this.views.reset();
  }

  /** Allow rounds again after {@link stop} (a node restarted). */
  start(): void {
    this.stopped = false;
    this.repairs.start();
  }

  /**
   * Send a new item on: per-event calls to the peers that do not batch (`targets` of them when the
   * author sends, the relay's fan-out otherwise), and into the next rounds for the Bun peers that
   * do. `known` lists peers that have it already (or get it by a call of their own). Resolves once
   * the per-event calls are answered or failed.
   */
  spread(item: Item, known: ReadonlySet<string>): Promise<number> {
    return this.send(item, known, true) ?? Promise.resolve(0);
  }

  /** A broadcast of this node's own opened: the replies it gets go down the reply tree. */
  opened(nonce: string): void {
    if (!this.replyTree) return;
    this.own.add(nonce);
    if (this.own.size > OWN_BROADCASTS) this.own.delete(this.own.values().next().value as string);
  }

  /**
   * Whether `origin` sends the replies to its broadcasts on down a reply tree: null while this node
   * has no connection to it (its hello not seen yet), false without batching.
   */
  treeOrigin(origin: Peer): boolean | null {
    if (this.interval === null) return false;
    return this.host.replyTree ? this.host.replyTree(origin) : false;
  }

  /**
   * A reply that came by a `_synapse.broadcast.reply` call: {@link spread}, but one to a broadcast of
   * this node's own is not pushed by the rounds: the next round sends it to its Bun peers
   * ({@link pushRoots}), down the tree.
   */
  spreadReply(item: Item & { kind: "reply" }): Promise<number> {
    if (!this.own.has(item.nonce)) return this.spread(item, NO_IDS);
    return this.send(item, NO_IDS, false, false, undefined, undefined, undefined, Learn.Root) ?? Promise.resolve(0);
  }

  /**
   * This node's own reply, sent to its broadcast's origin `to` (null: none, this node's own
   * broadcast) by the call `first` (resolving to 1 once answered). An origin that sends replies on
   * down a reply tree (known once connected) holds it once it answered: it is remembered here for
   * pulls, not pushed by the rounds. Else (or unanswered) it is {@link spread}. Either way the peers
   * that do not batch get the author's per-event calls.
   */
  async spreadOwnReply(item: Item, to: Peer | null, first: Promise<number> | number): Promise<void> {
    if (to !== null && this.treeOrigin(to) !== false && (await first) === 1 && this.treeOrigin(to) === true) {
      await (this.send(item, new Set([to.id]), false, true, undefined, undefined, undefined, Learn.Quiet) ?? 0);
      return;
    }
    await Promise.all([first, this.spread(item, new Set(to ? [to.id] : []))]);
  }

  /**
   * Relay an item that came in a batch from `fromId` (empty: unknown): as {@link spread}, but without
   * a promise when nothing is sent by a per-event call (the usual case among Bun peers), so that a batch
   * of hundreds of new items costs no background work per item. `pushed`: it came pushed (in a batch
   * request); an item that came in the answer to this node's own pull is not pushed on (see {@link learn}).
   */
  private relay(item: Item, raw: RawItem, fromId: string, pushed: boolean, view: PeerView, now: number, how: Learn): void {
    // The usual case, a relay among Bun peers alone, on a short path of its own: it runs for every
    // item learnt (hundreds a round), and as a small function the optimizing compiler takes it up
    // sooner and compiles it in a fraction of the time {@link send} took (about 70 ms a process).
    // What it does is what `send` does in that case.
    if (view.plain.length === 0 && this.interval !== null && view.batch.length + view.unknown.length > 0) {
      const author = authorOf(item);
      const size = raw.bytes?.length ?? itemBound(item); // exact when its bytes were kept (no walk of its values)
      if (author !== this.selfId && size <= BATCH_BYTES) {
        this.learn(item, size, pushed ? holders(author, fromId) : null, pushed, false, now, raw, how);
        return;
      }
    }
    this.relayOther(item, raw, fromId, pushed, view, now, how);
  }

  /** {@link relay} in the other cases (Python peers, no batching peer, an item too big or this node's own); who holds it is kept for an item pushed on, or looked at for per-event calls. */
  private relayOther(item: Item, raw: RawItem, fromId: string, pushed: boolean, view: PeerView, now: number, how: Learn): void {
    const known = pushed || view.plain.length > 0 ? new Set(fromId ? [fromId] : []) : NO_IDS;
    const calls = this.send(item, known, pushed, true, view, now, raw, how);
    if (calls) this.track(calls);
  }

  /**
   * {@link spread}'s work (`hot`: push the item on, see {@link learn}; `own`: `known` is the caller's
   * to give, and becomes the entry's; `view`, `now`, `raw`: a relay's, once per batch, and the item as read;
   * `how`: see {@link Learn}); null when no per-event call was made and nobody waits.
   */
  private send(item: Item, known: ReadonlySet<string>, hot: boolean, own = false, relayView?: PeerView, now?: number, raw?: RawItem, how = Learn.Usual): Promise<number> | null {
    const self = this.selfId;
    const author = authorOf(item);
    const size = this.interval === null ? Infinity : (raw?.bytes?.length ?? itemBound(item));
    let plain: Peer[];
    let pushed: Promise<void> | null = null;
    if (size > BATCH_BYTES) {
      plain = this.gossip.unbatchedTargets(author, self, known); // no batching, or too big for a batch
    } else {
      const view = relayView ?? this.views.get(author === self);
      // A relay among Bun peers alone (the usual case) calls nobody: no targets to look for.
      plain = author !== self && view.plain.length === 0 ? NO_PEERS : this.gossip.perEventTargets(view, author, self, known);
      // Rounds only where some peer batches (or may, once connected). Who holds it matters only while it is pushed.
      if (view.batch.length + view.unknown.length > 0) {
        const peers = !hot ? null : own ? (known as Set<string>) : new Set(known);
        peers?.add(author);
        // Only an item this node pushes is waited for: one that came in a pull's answer is held
        // already by the node that answered.
        pushed = this.learn(item, size, peers, hot, hot && author === self, now, raw, how);
      }
    }
    if (author !== self) this.stats.eventsForwarded += plain.length;
    if (plain.length === 0) return pushed ? pushed.then(() => 0) : null;
    const calls = this.gossip.sendItem(plain, item, this.layer);
    return pushed ? Promise.all([calls, pushed]).then(([n]) => n) : calls;
  }

  /**
   * Remember an item, and make sure the rounds run. With `hot`, the item is pushed on (to
   * {@link HOT_PUSHES} peers within {@link HOT_ROUNDS} rounds): an item of this node's, or one that
   * came pushed or by a per-event call. An item that came in the answer to this node's own pull is
   * only offered to pulls: the node that answered holds it and every digest exchange meets it, so
   * pushing it on again mostly sent copies (measured at 200 peers: 60% of the items a node received
   * were copies of items it held, nine in ten of them pushed on from answers). With `wait`, returns a
   * promise that settles once the item's first push was answered (or failed), or once it cooled
   * without one: an author's `emit` then resolves when at least one Bun peer holds the item (in a
   * swarm of two, every peer), as it resolved when every peer had answered before batching.
   * `raw`: the item as read, with its bytes as they came when kept. `how`: {@link Learn.Root} queues
   * the item for the next round's tree; neither it nor {@link Learn.Quiet} starts pulls (the origin
   * gets every reply by its replier's call; a tree's item came to the tree's other nodes too; a
   * replier's own reply that its origin got is held there).
   */
  private learn(item: Item, size: number, peers: Set<string> | null, hot: boolean, wait = false, now = monotonicMs(), raw?: RawItem, how = Learn.Usual): Promise<void> | null {
    if (this.stopped || this.memory.index.find(item) !== undefined) return null;
    this.newest = this.round;
    const pushes = hot ? 0 : HOT_PUSHES;
    const entry: Entry = { item, wire: null, ref: null, bytes: raw?.bytes ?? null, form: raw?.form ?? 0, at: this.round, learntAt: now, size, hash: itemHash(item), peers, pushes, waiters: null };
    if (item.kind === "reply") this.digests.noteReply(item.nonce, now);
    // Past the bound (a flood of events) the oldest is forgotten; the log still refuses its copies.
    this.memory.add(entry);
    if (how === Learn.Root) this.roots.push(entry);
    this.resume(how === Learn.Usual);
    return wait ? waitFor(entry) : null;
  }

  /** Pull again from the next round on (news came, or a caller holds what this node lacks); without `pull`, only make sure the rounds run. */
  private resume(pull = true): void {
    if (this.stopped) return;
    if (pull) this.fruitless = 0;
    if (this.timer === null && this.interval !== null) {
      this.timer = setInterval(() => this.tick(), this.interval * 1000);
      this.timer.unref?.();
    }
  }

  /**
   * One round: forget old items; while something is hot or pulls bring news, call
   * `fanout` random Bun peers, pushing the hot items each is not known to have and sending the
   * digest of every item remembered, so that the answer brings exactly what this node lacks.
   */
  private tick(): void {
    this.round++;
    this.memory.age(this.round, monotonicMs());
    if (this.memory.index.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
    // Quiet (no pulls due, nothing learnt since the last items cooled, no author waiting): the round
    // looks at no entry, but for one pull every IDLE_PULL_ROUNDS while items are remembered (with the
    // full digest), and at CHECK_PULL_ROUNDS after the last news (with the usual one), so that a
    // node that lacks an item nobody pushes any more still gets it.
    const idle = this.round - this.newest;
    const quiet = this.fruitless >= FRUITLESS_PULLS && idle > HOT_ROUNDS + 1;
    if (!quiet) this.callOut();
    else if (idle % IDLE_PULL_ROUNDS === 0) this.callOut(true, true);
    else if (CHECK_PULL_ROUNDS.includes(idle)) this.callOut(true, false);
  }

  /**
   * Call `fanout` random Bun peers (less those in flight): a round's calls, or the next pull at once
   * ({@link EAGER_PULL_ITEMS}); `quiet`: a quiet node's pull, `full` with its full digest.
   */
  private callOut(quiet = false, full = quiet): void {
    if (this.roots.length > 0 && !this.stopped) this.pushRoots();
    const hot = this.memory.hot(this.round);
    // Calls go on while something is hot (to push) or news came lately (to pull what others have).
    if ((hot.length === 0 && this.fruitless >= FRUITLESS_PULLS && !quiet) || this.inFlight >= this.fanout || this.stopped) return;
    const candidates = this.views.get().batch;
    // Peers picked this round (by index): a random peer is drawn without copying the peer list.
    const tried = new Set<number>();
    for (let picked = this.inFlight; picked < this.fanout && tried.size < candidates.length; picked++) {
      // A random peer, preferring one that is not known to have every hot item.
      const { peer, due } = pickPeer(candidates, tried, hot, PICK_TRIES);
      if (peer) this.call(peer, due, full);
    }
  }

  /** A batch call to `peer` pushing `hot`; `full`: with the full digest, whatever the peer takes. */
  private call(peer: Peer, hot: Entry[], full: boolean): void {
    const refs = this.host.replyRefs?.(peer) === true; // replies by reference, pushed, and answered unless a replier was unknown here
    // Items as bytes to a peer that takes them (and its answer comes so), else a list.
    const { items, sent: due } = batchFor(hot, this.host.itemBytes?.(peer) === true, refs, () => this.host.macs?.(peer) === true);
    for (const e of due) e.pushes++;
    handOver(due, peer.id, this.selfId, this.stats); // before the call: the next round does not push them to this peer again
    this.stats.batchesSent++;
    this.inFlight++;
    const whole = refs && this.wantWhole;
    if (whole) this.wantWhole = false;
    const { have, window } = this.digests.pick(this.memory, () => this.host.haveWindow?.(peer) === true, full);
    const kwargs = batchKwargs(this.selfId, have, refs && !whole, window);
    let fresh = 0;
    const work = this.host
      .call(peer, ConversationEndpoint.Batch, [items], kwargs)
      .then(
        async (answer) => {
          fresh = isMap(answer) ? await this.receive(answer.items, peer) : 0;
          if (fresh === 0) this.fruitless++;
        },
        (error) => {
          // Not delivered: a later round may push them to this peer again.
          for (const e of due) e.peers?.delete(peer.id);
          if (whole) this.wantWhole = true;
          log.debug(`batch to ${peer.name || peer.id.slice(0, 8)} failed: ${errorMessage(error)}`);
        },
      )
      .finally(() => {
        this.inFlight--;
        for (const e of due) release(e);
        // News is spreading fast (the answer held much that was new here): pull again now.
        if (fresh >= EAGER_PULL_ITEMS && this.timer !== null) this.callOut();
      });
    this.track(work);
  }

  /**
   * Serve `_synapse.conversation.batch(items, from=..., have=...)`: take in what is new (through the
   * layer's ingest), and answer `{items}`: the items remembered here that the caller neither sent
   * nor lists in its `have` digest (nor is known to have); as bytes when the request's were (item-bytes.ts).
   * With `window` (seconds, hello feature `have_window`) the digest lists the caller's items of that
   * many seconds: only the entries learnt within it (give or take a second, digest-window.ts) are looked at.
   * A `window` that is not a positive finite number is ignored (the digest is taken as full).
   *
   * @throws {EndpointError} `bad_request` when `items` is not a list or too long, or bytes not of whole items (item-bytes.ts).
   */
  async serve(items: unknown, fromId: unknown, haveRaw: unknown, refs?: unknown, window?: unknown, tree?: unknown): Promise<{ items: WireItem[] | BinParts | Uint8Array }> {
    const raws = readBatchItems(items);
    const asBytes = items instanceof Uint8Array;
    this.stats.batchesReceived++;
    const sender = typeof fromId === "string" ? this.views.find(fromId) : null;
    const senderId = sender?.id ?? (typeof fromId === "string" ? fromId : "");
    if (tree !== undefined && tree !== null) {
      // A tree call: its group gets the items first (as they came), then they are taken in here, not pushed on, and nothing is answered.
      const ids = readTreeIds(tree);
      if (items instanceof Uint8Array && !this.stopped) this.forward(items, raws, ids);
      await this.take(raws, senderId, sender, false, Learn.Quiet);
      // A reply whose replier is unknown here was left out: pulled at once, whole, from the caller (which holds it).
      if (this.wantWhole && sender !== null && !this.stopped) this.call(sender, [], true);
      return { items: asBytes ? new Uint8Array(0) : [] };
    }
    await this.take(raws, senderId, sender, true);
    if (senderId === "" || this.stopped) return { items: asBytes ? new Uint8Array(0) : [] };
    const { answer, unknown } = this.memory.unlisted(haveRaw, () => this.sentBy(raws), digestWindow(window));
    // The caller remembers items this node does not: pull again (else a node that stopped pulling
    // while it lacked an item, cold everywhere since, would wait for its next news).
    if (unknown) this.resume();
    // The digest alone says what the caller lacks (an answer of this node's may have been lost).
    const out = batchFor(within(answer, BATCH_BYTES, () => true), asBytes, refs === true, () => sender !== null && this.host.macs?.(sender) === true);
    handOver(out.sent, senderId, this.selfId, this.stats);
    return { items: out.items };
  }

  /**
   * Send a tree call's items (`bytes`, read as `raws`) on to its group (`ids`): the peers of it
   * known here, but this node and those known not to take tree calls (their hello said so; one not
   * connected yet is called, as the origin vouched for it). The ids not known here are named behind
   * one of those calls, for a node further down that knows them ({@link SendOptions.passOn}).
   */
  private forward(bytes: Uint8Array, raws: ReadonlyArray<RawItem | null>, ids: readonly string[]): void {
    const members: Peer[] = [];
    let count = 0;
    let macs = false;
    for (const raw of raws) {
      if (raw === null) continue;
      count++;
      if (raw.mac) macs = true;
    }
    const { refusing } = this.tree.lookAt(this.views.get(), macs);
    const unknown: string[] = [];
    for (const id of ids) {
      if (id === this.selfId) continue;
      const peer = this.views.find(id);
      if (peer === null) unknown.push(id);
      else if (!refusing.has(id)) members.push(peer);
    }
    // As they came: the decoder's bin is a copy of its own or a view of input that is never written again.
    if (members.length > 0) this.tree.send(bytes, count, members, unknown.length > 0 ? { passOn: unknown } : undefined);
    else if (unknown.length > 0) log.debug(`reply tree: ${unknown.length} peers of a group unknown here, none known to send them on to (they pull the replies)`);
  }

  /**
   * The round's replies to this node's broadcasts ({@link Learn.Root}) down the tree, to every Bun
   * peer that takes it ({@link ReplyTree.lookAt}) in a random order; to an older Bun peer (which
   * refuses `tree`) by a batch call of this node's, as a round pushes them; to a peer not connected
   * yet once its connection is open ({@link reachLone}). The rounds then do not push them.
   */
  private pushRoots(): void {
    let entries = this.roots;
    this.roots = [];
    const view = this.views.get();
    const macs = entries.some((e) => e.item.mac);
    const { members: taking, others, refusing } = this.tree.lookAt(view, macs);
    const lone: Peer[] = [];
    for (const peer of others) {
      if (!refusing.has(peer.id)) lone.push(peer);
      // Known not to take the tree: a batch call to a Bun node that batches without it; nothing to
      // one that does not batch (a Python node the view took before its hello was known).
      else if (this.host.batches?.(peer) === true) this.call(peer, entries, false);
    }
    const members = taking.slice();
    if (members.length + lone.length === 0) return;
    const { bytes, sent } = packFor(entries, true, macs);
    if (sent.length === 0) return; // none could be encoded (their values changed since they were checked)
    if (sent.length < entries.length) {
      // Past a batch's bytes: the rest goes at the next round.
      const went = new Set(sent);
      this.roots = entries.filter((e) => !went.has(e));
      entries = sent;
    }
    // Each group gets the replies' MACs for its own members only (their tags for others would travel unread).
    const cut = macs ? cutPerGroup(entries, bytes.parts) : null;
    this.tree.send(bytes, entries.length, shuffle(members), { cut });
    for (const peer of lone) this.reachLone(peer, bytes, entries, macs, cut);
  }

  /**
   * A peer of the view this node has no connection to yet, which may be a Bun peer or a Python one
   * (only its hello tells): the connection is opened by `_synapse.ping`, which every node answers,
   * then the round's replies (`entries`, as `bytes`) go by what the hello told: a tree call of its
   * own (an empty group) to a peer that takes the tree, a batch call to one that batches without
   * it (an older Bun node), nothing to one that does not batch (a Python node is never sent a call
   * it does not know; its repliers' per-event calls, and a relay's once it is known, carry replies to it).
   */
  private reachLone(peer: Peer, bytes: BinParts, entries: Entry[], macs: boolean, cut: ((group: readonly Peer[]) => BinParts) | null): void {
    const opened = this.host.call(peer, "_synapse.ping", [], {}).then(
      () => {
        if (this.stopped) return;
        const takes = this.tree.takes(peer, macs);
        if (takes === true) this.tree.send(bytes, entries.length, [peer], { refused: (refuser) => this.call(refuser, entries, false), cut });
        else if (this.host.batches?.(peer) === true) this.call(peer, entries, false);
      },
      (error) => log.debug(`reply tree: ${peer.name || peer.id.slice(0, 8)} not reached (${errorMessage(error)})`),
    );
    this.track(opened);
  }

  /** The entries of the items a caller sent in its batch (taken in by now): left out of its answer. */
  private sentBy(raws: Array<RawItem | null>): Set<Entry> {
    const sent = new Set<Entry>();
    for (const raw of raws) {
      const e = raw && this.memory.index.findRaw(raw);
      if (e) sent.add(e);
    }
    return sent;
  }

  /** Items of an answer to this node's batch (not an async function: a small one, compiled early and cheaply). */
  private receive(items: unknown, from: Peer): Promise<number> | number {
    return this.take(readAnswerItems(items, from), from.id, from, false);
  }

  /**
   * De-duplicate, ingest what is new, spread it on (`pushed`: the items came in a request), and note
   * missing parents for repair. Every new item's ingest starts at once, so that the batch's
   * signature checks go to the thread together; the items are then taken in the batch's order (a
   * reply is noted for repair only after the opening before it in the batch was filed). Not an
   * async function: when every item is filed at once (most batches) it answers at once, its loop
   * state in registers rather than in a generator's scope; {@link takeLater} waits otherwise.
   */
  private take(raws: Array<RawItem | null>, fromId: string, from: Peer | null, pushed: boolean, how = Learn.Usual): MaybePromise<number> {
    // Each new item's ingest, or its promise (most replies are filed at once: no promise per item).
    const taking: Array<MaybePromise<Taken>> = [];
    // The items read, beside their ingest: a new one is relayed with its key and kept bytes.
    const news: RawItem[] = [];
    // The peer view and the time, taken once for the batch (not per item).
    const view = this.views.get();
    const now = monotonicMs();
    for (const raw of raws) {
      if (raw === null) continue;
      this.stats.eventsReceived++;
      const known = this.memory.index.findRaw(raw);
      if (known) {
        if (fromId) known.peers?.add(fromId);
        this.stats.duplicatesDropped++;
        continue;
      }
      // A reply by reference whose replier is unknown here is left out (not remembered): the next pull asks for whole records, which brings it.
      if (raw.kind === "reply" && raw.peer === undefined && !this.views.resolve(raw, this.selfId, this.host)) {
        this.wantWhole = true;
        this.resume();
        continue;
      }
      news.push(raw);
      taking.push(acceptItem(this.layer, raw));
    }
    let fresh = 0;
    for (let i = 0; i < taking.length; i++) {
      const item = taking[i]!;
      if (item instanceof Promise) return this.takeLater(taking, news, i, fresh, fromId, from, pushed, view, now, how);
      if (!isNew(item, this.stats)) continue;
      this.relay(item, news[i]!, fromId, pushed, view, now, how);
      fresh++;
      const noted = from ? this.repairs.note(item, from) : undefined;
      if (noted) return this.takeLater(taking, news, i + 1, fresh, fromId, from, pushed, view, now, how, noted);
    }
    return fresh;
  }

  /** {@link take} from item `start` on (`fresh` new so far), once something waits (an item's ingest, or `noted`: a repair note). */
  private async takeLater(taking: Array<MaybePromise<Taken>>, news: RawItem[], start: number, fresh: number, fromId: string, from: Peer | null, pushed: boolean, view: PeerView, now: number, how: Learn, noted?: Promise<void>): Promise<number> {
    if (noted) await noted;
    for (let i = start; i < taking.length; i++) {
      const pending = taking[i]!;
      const item = pending instanceof Promise ? await pending : pending;
      if (!isNew(item, this.stats)) continue;
      this.relay(item, news[i]!, fromId, pushed, view, now, how);
      fresh++;
      const note = from ? this.repairs.note(item, from) : undefined;
      if (note) await note;
    }
    return fresh;
  }
}
