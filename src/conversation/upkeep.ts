/**
 * Keeping a node's conversation log in bounds: compaction (fold the older events of a conversation
 * that grew past `maxEvents` into one `summary` event, one run at a time per conversation, calling
 * the summarizer at most once per `summarizerInterval` per conversation) and
 * retention (drop conversations quiet for longer than the retention, on a sweeper).
 *
 * @module
 */
import type { ConversationEvent, Peer } from "../types.ts";
import { ConfigError } from "../errors.ts";
import { createLogger } from "../log.ts";
import { nowSeconds } from "../util/time.ts";
import type { ConversationLog } from "./log.ts";
import { EventKind } from "./events.ts";
import { MANUAL_KEEP_RECENT, checkKeepKinds, digestSummarizer, planCompaction, summaryEvent, type Summarizer } from "./compaction.ts";

const log = createLogger("conversation");

/** What upkeep needs from the conversation layer. */
export interface UpkeepPort {
  readonly log: ConversationLog;
  /** This node as a Peer (the author of summaries). */
  self(): Peer;
  /** A summary with this node's signature (docs/security.md); default: unchanged. */
  sign?(event: ConversationEvent): ConversationEvent;
  /** Emit a node event (never throws). */
  emit(event: string, payload: unknown): void;
  /** Run background work, tracked so that `flush()` waits for it and a failure is logged. */
  track(work: Promise<unknown>): void;
  /** A conversation was dropped by retention (forget what is cached about it). */
  dropped(conversationId: string): void;
}

/** The limits upkeep enforces; `null` turns one off. */
export interface UpkeepLimits {
  maxEvents: number | null;
  keepRecent: number;
  /** Kinds compaction always keeps verbatim (besides the opening message). */
  keepKinds: readonly string[];
  /** Seconds. */
  retention: number | null;
  /** Seconds between two summarizer calls of one conversation's automatic compaction (0: no limit). */
  summarizerInterval: number;
}

/** Options of a compaction asked for by hand (`node.compactConversation`). */
export interface CompactOptions {
  /** Newest events kept verbatim besides the opening message (default 25, as Python). */
  keepRecent?: number;
  /** Kinds kept verbatim wherever they are (default: the node's `conversationKeepKinds`). */
  keepKinds?: string[];
}

/** Compaction and retention of one node's conversation log. */
export class Upkeep {
  private summarize: Summarizer;
  private readonly compacting = new Map<string, Promise<void>>();
  private readonly recompact = new Set<string>();
  /** When automatic compaction last called the summarizer, per conversation (seconds). */
  private readonly summarizedAt = new Map<string, number>();
  private sweeper: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly port: UpkeepPort,
    private readonly limits: UpkeepLimits,
    summarizer: Summarizer,
  ) {
    this.summarize = summarizer;
  }

  /** Start the retention sweeper (when retention is set). */
  start(): void {
    const retention = this.limits.retention;
    if (retention === null || this.sweeper) return;
    const everyMs = Math.min(60_000, Math.max(1_000, (retention * 1000) / 4));
    this.port.track(this.prune());
    this.sweeper = setInterval(() => this.port.track(this.prune()), everyMs);
    this.sweeper.unref?.();
  }

  /** Stop the sweeper. */
  stop(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
  }

  /** Replace the summarizer used by compaction. */
  setSummarizer(summarizer: Summarizer): void {
    if (typeof summarizer !== "function") throw new ConfigError("the summarizer must be a function");
    this.summarize = summarizer;
  }

  /** True when an event created at `createdAt` (Unix seconds) is outside the retention window. */
  tooOld(createdAt: number): boolean {
    return this.limits.retention !== null && createdAt < nowSeconds() - this.limits.retention;
  }

  /** A conversation grew: compact it in the background when it may be over the limit. */
  grew(conversationId: string): void {
    if (this.limits.maxEvents === null) return;
    if (this.compacting.has(conversationId)) {
      // One run at a time per conversation; the running one goes round again.
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
    this.port.track(run);
  }

  /**
   * Fold the older events of a conversation into one `summary` event if it holds more than
   * `maxEvents`. The folded ids stay remembered, so gossip cannot bring them back. Returns the
   * summary, or null when nothing was folded. A summarizer that throws falls back to the digest.
   */
  async compact(conversationId: string): Promise<ConversationEvent | null> {
    const { maxEvents, keepRecent, keepKinds } = this.limits;
    if (maxEvents === null) return null;
    if ((await this.port.log.count(conversationId)) <= maxEvents) return null;
    return this.fold(conversationId, { maxEvents, keepRecent, keepKinds }, 2, true);
  }

  /**
   * Compact now, whatever the size limit (Python's `compact_conversation`): everything but the
   * opening message, the `keepKinds` events and the `keepRecent` newest folds into one summary.
   * Waits for a compaction of the same conversation already running. Returns the summary, or null
   * when there was nothing to fold.
   *
   * @throws {ConfigError} for a `keepRecent` that is not an integer >= 0 or a bad `keepKinds`.
   */
  async compactNow(conversationId: string, options: CompactOptions = {}): Promise<ConversationEvent | null> {
    const keepRecent = options.keepRecent ?? MANUAL_KEEP_RECENT;
    if (!Number.isInteger(keepRecent) || keepRecent < 0) throw new ConfigError(`keepRecent must be an integer >= 0, got ${String(keepRecent)}`);
    const keepKinds = options.keepKinds === undefined ? this.limits.keepKinds : checkKeepKinds(options.keepKinds);
    const running = this.compacting.get(conversationId);
    if (running) await running.catch(() => undefined);
    return this.fold(conversationId, { maxEvents: 0, keepRecent, keepKinds }, 1);
  }

  /**
   * The summarizer an automatic compaction of `conversationId` uses now: the node's, at most once per
   * `summarizerInterval`, else the digest (so that a burst of events, forged or not, costs one
   * summarizer call per interval while the conversation stays within `maxEvents`).
   */
  private rateLimited(conversationId: string): Summarizer {
    const interval = this.limits.summarizerInterval;
    if (interval <= 0 || this.summarize === digestSummarizer) return this.summarize;
    const now = nowSeconds();
    const last = this.summarizedAt.get(conversationId);
    if (last !== undefined && now - last < interval && now >= last) return digestSummarizer;
    this.summarizedAt.set(conversationId, now);
    return this.summarize;
  }

  private async fold(conversationId: string, limits: { maxEvents: number; keepRecent: number; keepKinds: readonly string[] }, minFold: number, automatic = false): Promise<ConversationEvent | null> {
    const store = this.port.log;
    const events = await store.events(conversationId);
    const plan = planCompaction(conversationId, events, limits, minFold);
    if (!plan) return null;
    const summarize = automatic ? this.rateLimited(conversationId) : this.summarize;
    let text: string;
    try {
      text = String(await summarize(plan.fold));
    } catch (error) {
      log.warn(`summarizer failed for ${conversationId}, using the digest`, error);
      text = await digestSummarizer(plan.fold);
    }
    const opening = plan.keep.find((e) => e.event_id === conversationId) ?? plan.keep[0];
    const unsigned = summaryEvent(conversationId, plan.fold, text, this.port.self(), opening?.event_id ?? null);
    const summary = this.port.sign ? this.port.sign(unsigned) : unsigned;
    await store.compact(
      conversationId,
      plan.fold.map((e) => e.event_id),
      summary,
    );
    this.port.emit("conversation.event", summary);
    this.port.emit(`conversation.${EventKind.Summary}`, summary);
    // As Python: `conversation.compacted` carries the summary event itself.
    this.port.emit("conversation.compacted", summary);
    return summary;
  }

  /** Drop conversations quiet for longer than the retention. Returns the dropped ids. */
  async prune(now: number = nowSeconds()): Promise<string[]> {
    const retention = this.limits.retention;
    if (retention === null) return [];
    const dropped = await this.port.log.prune(now - retention);
    for (const id of dropped) {
      this.summarizedAt.delete(id);
      this.port.dropped(id);
      this.port.emit("conversation.pruned", id); // as Python: the conversation id
    }
    if (dropped.length > 0) log.debug(`pruned ${dropped.length} quiet conversation(s)`);
    return dropped;
  }
}
