/**
 * The replies to broadcasts, each filed once per (broadcast, replier): the in-memory set gates
 * concurrent copies of a reply (gossip brings many), the log's derived event id gates copies that
 * arrive after a restart or a compaction.
 *
 * @module
 */
import type { BroadcastReply, ConversationEvent, Peer } from "../types.ts";
import { andThen, type ConversationLog, type MaybePromise } from "./log.ts";
import { EventKind, makeEvent } from "./events.ts";
import { pairForm, pairId, replyEventId } from "./broadcast.ts";
import { EndpointError, ErrorCode } from "../errors.ts";
import { openRecords } from "./signing.ts";
import { replyKey } from "./batch-items.ts";
import { InFlight } from "./filing.ts";
import { SIG_KEY, signatureText, type SignedRecords } from "../security/records.ts";

/**
 * Where a new reply event goes: stored (true) or refused (false, e.g. too old). `now`: another node's
 * reply, stored (and announced) at once when the log answers at once; else after a promise, as the
 * node's own records are. `datedHere`: the event was dated by this node's clock just now (it
 * cannot be dated ahead of it). `pairId`: its id is the pair id `<nonce>~<replier id>` of its
 * parent and replier (`replyEventId`), made so by the reply book.
 */
export type AppendEvent = (event: ConversationEvent, now: boolean, datedHere: boolean, pairId?: boolean) => MaybePromise<boolean>;

/** Where a reply came from, when it arrived as a gossiped event rather than a reply call. */
export interface ReplyOrigin {
  conversationId?: string;
  createdAt?: number;
  metadata?: Record<string, unknown>;
}

/**
 * Broadcasts whose replies stay cached. The cache only spares reading the log: past this many, the
 * least recently used broadcast is forgotten here (its replies stay in the log, whose event ids
 * still refuse a second copy), so a flood of broadcasts cannot grow it without bound.
 */
export const REPLY_CACHE_BROADCASTS = 10_000;

/** No origin: a reply that came as a reply (shared, never changed). */
const NO_ORIGIN: ReplyOrigin = Object.freeze({});

/** The replier `peer` once its reply's filing (`filed`) settled, when the reply was new; else null (a function apart: a closure in the caller cost a scope object per reply). */
export function replierOnceFiled(filed: Promise<ConversationEvent | null>, peer: Peer): Promise<Peer | null> {
  return filed.then((event) => (event ? peer : null));
}

/** A broadcast's reply as the API gives it, from its event (`nonce`: the broadcast's). */
function asReply(nonce: string, event: ConversationEvent): BroadcastReply {
  return { nonce, peer: event.peer, result: event.payload.result ?? null };
}

/** `event` once `stored` settles true, else null. */
function storedLater(stored: Promise<boolean>, event: ConversationEvent): Promise<ConversationEvent | null> {
  return stored.then((yes) => (yes ? event : null));
}

/** The reply book of one node. */
export class ReplyBook {
  /**
   * nonce -> replier id -> its reply's event (the one the log keeps: no second object a reply);
   * loaded from the log on first use of a nonce; least recently used first. A conversation compacted
   * in the log keeps its replies' events here until its nonce is forgotten (a reply's value was kept
   * so before too; now its whole event is).
   */
  private readonly byNonce = new Map<string, Map<string, ConversationEvent>>();
  /** The most recently used nonce (already last in `byNonce`: using it again moves nothing). */
  private newest: string | null = null;
  /** Replies of other nodes being checked, by {@link replyKey} (a copy waits for the first). */
  private readonly checking = new InFlight<ConversationEvent | null>();
  /** Replies read from the log, by nonce, while the read runs (concurrent first replies share it). */
  private readonly loading = new Map<string, Promise<Map<string, ConversationEvent>>>();
  /** Set while the node is stopped: a check that finishes then files nothing. */
  stopped = false;

  constructor(
    private readonly log: ConversationLog,
    private readonly append: AppendEvent,
    /** How replies of other nodes are checked (default: unsigned ones accepted, as Python does). */
    private readonly records: SignedRecords = openRecords(),
  ) {}

  /** A broadcast of this node's own: it has no replies yet (no need to read the log). */
  opened(nonce: string): void {
    this.keep(nonce, new Map());
  }

  /** Cache `byPeer` as the most recently used, forgetting the least recently used past the bound. */
  private keep(nonce: string, byPeer: Map<string, ConversationEvent>): void {
    this.newest = nonce;
    this.byNonce.delete(nonce);
    this.byNonce.set(nonce, byPeer);
    if (this.byNonce.size > REPLY_CACHE_BROADCASTS) this.byNonce.delete(this.byNonce.keys().next().value as string);
  }

  /** Broadcasts whose replies are cached (at most {@link REPLY_CACHE_BROADCASTS}). */
  get cached(): number {
    return this.byNonce.size;
  }

  /** Forget what is cached of a conversation (retention dropped it). */
  forget(nonce: string): void {
    this.byNonce.delete(nonce);
    if (this.newest === nonce) this.newest = null;
  }

  /** The cached replies of a broadcast (now the most recently used), or undefined when they must be read from the log. */
  private cachedOf(nonce: string): Map<string, ConversationEvent> | undefined {
    const byPeer = this.byNonce.get(nonce);
    if (byPeer && nonce !== this.newest) this.keep(nonce, byPeer);
    return byPeer;
  }

  /** The replies known for a broadcast, by replier id, in the order they were filed. */
  async of(nonce: string): Promise<BroadcastReply[]> {
    return [...(await this.eventsOf(nonce)).values()].map((event) => asReply(nonce, event));
  }

  /** The reply of `peerId` to a broadcast, if known. */
  async replyOf(nonce: string, peerId: string): Promise<BroadcastReply | undefined> {
    const event = (await this.eventsOf(nonce)).get(peerId);
    return event && asReply(nonce, event);
  }

  /** The reply events known for a broadcast, by replier id, in the order they were filed. */
  private async eventsOf(nonce: string): Promise<Map<string, ConversationEvent>> {
    const byPeer = this.byNonce.get(nonce);
    if (byPeer) {
      this.keep(nonce, byPeer);
      return byPeer;
    }
    const reading = this.loading.get(nonce);
    if (reading) return reading;
    const read = this.load(nonce);
    this.loading.set(nonce, read);
    const done = () => this.loading.delete(nonce);
    read.then(done, done);
    return read;
  }

  private async load(nonce: string): Promise<Map<string, ConversationEvent>> {
    const events = await this.log.events(nonce);
    const byPeer = this.byNonce.get(nonce) ?? new Map<string, ConversationEvent>();
    this.keep(nonce, byPeer);
    for (const e of events) {
      if (e.kind === EventKind.Reply && !byPeer.has(e.peer.id)) byPeer.set(e.peer.id, e);
    }
    return byPeer;
  }

  /**
   * A reply of another node: a copy of one filed already is dropped unchecked (flooding brings
   * many); a new one is filed once its signature passes ({@link SignedRecords.replyRefusal}), the
   * signature kept in its event's metadata. Returns the stored event, or null: at once (no promise)
   * when the broadcast's replies are cached, no copy is being checked, and the check and the log
   * answer at once (unsigned, or checked by MAC or inline, in an in-memory log), as they do for most
   * of a broadcast's replies.
   *
   * @throws {EndpointError} `bad_request` when the signature rules refuse it (thrown at once, or the
   * promise rejects).
   */
  receive(nonce: string, peer: Peer, result: unknown, sig: unknown, origin: ReplyOrigin = NO_ORIGIN, mac?: Uint8Array | null): MaybePromise<ConversationEvent | null> {
    // Called for every reply a node learns (200 a broadcast at 200 peers): kept small and free of
    // closures, the waits in functions of their own, so that the optimizing compilers take it up
    // within a broadcast's first replies and no scope object is made per call.
    // The replies of one broadcast arrive together: the cached ones are used without a promise.
    const byPeer = this.cachedOf(nonce);
    if (byPeer?.has(peer.id)) return null;
    // A copy of a reply being checked waits for that check (no key made while nothing is checked).
    if (byPeer === undefined || (this.checking.size > 0 && this.checking.busy(replyKey(nonce, peer.id)))) return this.checkLater(nonce, peer, result, sig, origin, mac);
    // Nothing between the check and the filing when the check answers at once: a copy arriving
    // later finds the reply filed. A check on the thread is in `checking` meanwhile (copies wait).
    const checked = this.records.replyRefusal(nonce, peer.id, result, sig, mac);
    if (!(checked instanceof Promise)) return this.fileChecked(checked, byPeer, nonce, peer, result, sig, origin);
    return this.fileAfter(checked, byPeer, nonce, peer, result, sig, origin);
  }

  /** {@link receive} of a reply whose broadcast's replies are not cached, or a copy of one being checked: after the check in flight. */
  private checkLater(nonce: string, peer: Peer, result: unknown, sig: unknown, origin: ReplyOrigin, mac?: Uint8Array | null): Promise<ConversationEvent | null> {
    return this.checking.after(replyKey(nonce, peer.id), async () => this.checkAndFile(nonce, peer, result, sig, origin, mac));
  }

  /** {@link receive} of a reply checked on the signature thread: filed once `checked` settles (copies wait for it meanwhile). */
  private fileAfter(checked: Promise<string | null>, byPeer: Map<string, ConversationEvent>, nonce: string, peer: Peer, result: unknown, sig: unknown, origin: ReplyOrigin): Promise<ConversationEvent | null> {
    return this.checking.after(replyKey(nonce, peer.id), () => checked.then((refusal) => this.fileChecked(refusal, byPeer, nonce, peer, result, sig, origin)));
  }

  private checkAndFile(nonce: string, peer: Peer, result: unknown, sig: unknown, origin: ReplyOrigin, mac?: Uint8Array | null): MaybePromise<ConversationEvent | null> {
    // A copy before this one may have been filed meanwhile.
    return andThen(this.cachedOf(nonce) ?? this.eventsOf(nonce), (byPeer) => {
      if (byPeer.has(peer.id)) return null;
      return andThen(this.records.replyRefusal(nonce, peer.id, result, sig, mac), (refusal) => this.fileChecked(refusal, byPeer, nonce, peer, result, sig, origin));
    });
  }

  /** File a reply whose check answered `refusal` (null: passed). @throws {EndpointError} for a refusal. */
  private fileChecked(refusal: string | null, byPeer: Map<string, ConversationEvent>, nonce: string, peer: Peer, result: unknown, sig: unknown, origin: ReplyOrigin): MaybePromise<ConversationEvent | null> {
    if (refusal) throw new EndpointError(ErrorCode.BadRequest, refusal);
    // Stopped while the check ran: nothing goes into a store its owner may have closed.
    if (this.stopped) return null;
    const text = signatureText(sig);
    return this.file(byPeer, nonce, peer, result, text ? { ...origin, metadata: { ...origin.metadata, [SIG_KEY]: text } } : origin, true);
  }

  /**
   * File `peer`'s reply to `nonce` once. Returns the stored event, or null when the reply was
   * known already or the log refused it.
   */
  async record(nonce: string, peer: Peer, result: unknown, origin: ReplyOrigin = {}): Promise<ConversationEvent | null> {
    return this.file(await this.eventsOf(nonce), nonce, peer, result, origin);
  }

  /** File a reply into `byPeer` (the nonce's cache) unless it is there. */
  private file(byPeer: Map<string, ConversationEvent>, nonce: string, peer: Peer, result: unknown, origin: ReplyOrigin, now = false): MaybePromise<ConversationEvent | null> {
    if (byPeer.has(peer.id)) return null;
    // The pair form's id is made here, and the log told so (it need not read the id back).
    const pair = pairForm(nonce, peer.id);
    const event = makeEvent({
      conversationId: origin.conversationId ?? nonce,
      eventId: pair ? pairId(nonce, peer.id) : replyEventId(nonce, peer.id),
      kind: EventKind.Reply,
      peer,
      payload: { result },
      parentId: nonce,
      createdAt: origin.createdAt,
      metadata: origin.metadata,
    });
    byPeer.set(peer.id, event); // before any await: a concurrent copy now sees it
    const stored = this.append(event, now, origin.createdAt === undefined, pair);
    // No closure per reply: stored at once (an in-memory log) is answered at once.
    return stored instanceof Promise ? storedLater(stored, event) : stored ? event : null;
  }
}
