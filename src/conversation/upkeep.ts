/**
 * Keeping a node's conversation log in bounds: compaction (fold the older events of a conversation
 * that grew past `maxEvents` into one `summary` event, one run at a time per conversation) and
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
import { digestSummarizer, planCompaction, summaryEvent, type Summarizer } from "./compaction.ts";

const log = createLogger("conversation");

/** What upkeep needs from the conversation layer. */
export interface UpkeepPort {
  readonly log: ConversationLog;
  /** This node as a Peer (the author of summaries). */
  self(): Peer;
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
  /** Seconds. */
  retention: number | null;
}

/** Compaction and retention of one node's conversation log. */
export class Upkeep {
  private summarize: Summarizer;
  private readonly compacting = new Map<string, Promise<void>>();
  private readonly recompact = new Set<string>();
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
    const { maxEvents, keepRecent } = this.limits;
    if (maxEvents === null) return null;
    const store = this.port.log;
    if ((await store.count(conversationId)) <= maxEvents) return null;
    const events = await store.events(conversationId);
    const plan = planCompaction(conversationId, events, { maxEvents, keepRecent });
    if (!plan) return null;
    let text: string;
    try {
      text = String(await this.summarize(plan.fold));
    } catch (error) {
      log.warn(`summarizer failed for ${conversationId}, using the digest`, error);
      text = await digestSummarizer(plan.fold);
    }
    const summary = summaryEvent(conversationId, plan.fold, text, this.port.self());
    await store.compact(
      conversationId,
      plan.fold.map((e) => e.event_id),
      summary,
    );
    this.port.emit("conversation.event", summary);
    this.port.emit(`conversation.${EventKind.Summary}`, summary);
    return summary;
  }

  /** Drop conversations quiet for longer than the retention. Returns the dropped ids. */
  async prune(now: number = nowSeconds()): Promise<string[]> {
    const retention = this.limits.retention;
    if (retention === null) return [];
    const dropped = await this.port.log.prune(now - retention);
    for (const id of dropped) this.port.dropped(id);
    if (dropped.length > 0) log.debug(`pruned ${dropped.length} quiet conversation(s)`);
    return dropped;
  }
}
