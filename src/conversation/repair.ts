/**
 * Repair by pull: an item whose parent this node does not hold (a reply to a broadcast whose
 * opening message it missed, an event answering one it never got) makes the node sync that
 * conversation (`_synapse.conversation.sync`, paged between Bun peers) from the peer that sent the
 * item, once the parent is still missing {@link REPAIR_DELAY} seconds later (it may simply be on
 * its way by another path: a reply often overtakes the broadcast call).
 *
 * @module
 */
import type { Peer } from "../types.ts";
import { createLogger } from "../log.ts";
import { monotonicMs } from "../util/time.ts";
import type { Item } from "./batch-items.ts";
import type { ConversationLog } from "./log.ts";

const log = createLogger("conversation");

/** Seconds a missing parent may take to arrive by other paths before the conversation is synced. */
export const REPAIR_DELAY = 1;
/** Conversations waiting for a repair at most; more are not repaired by this node (sync still works). */
const MAX_PENDING_REPAIRS = 1000;

/** What repairs need of the conversation layer. */
export interface RepairLayer {
  readonly log: Pick<ConversationLog, "has">;
  /** Catch up one conversation from a peer. */
  sync(peer: Peer, conversationId: string): Promise<unknown>;
}

/** The pending repairs of one node. */
export class Repairs {
  private readonly pending = new Map<string, { peer: Peer; parent: string; due: number }>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;

  constructor(
    private readonly layer: RepairLayer,
    private readonly track: (work: Promise<unknown>) => void,
    /** Where the count of repairs made goes. */
    private readonly stats: { repairs: number },
  ) {}

  /** Forget what is pending; make no more repairs until {@link start}. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending.clear();
  }

  /** Allow repairs again after {@link stop} (a node restarted). */
  start(): void {
    this.stopped = false;
  }

  /**
   * Note the conversation for repair when the item answers an event this node does not hold. A
   * promise only when the log answers with one (an in-memory log answers at once: a batch of
   * hundreds of replies to one broadcast then costs no promise per reply here).
   */
  note(item: Item, from: Peer): Promise<void> | undefined {
    const parent = item.kind === "event" ? item.event.parent_id : item.nonce;
    const conversation = item.kind === "event" ? item.event.conversation_id : item.nonce;
    if (!parent || this.stopped || this.pending.has(conversation) || this.pending.size >= MAX_PENDING_REPAIRS) return;
    const held = this.layer.log.has(parent);
    if (held === true) return;
    if (held === false) return this.pend(conversation, parent, from);
    return this.pendUnless(held, conversation, parent, from);
  }

  /** {@link note} with a log that answers later: {@link pend} unless `held` says the parent is held (apart: no closure per item noted). */
  private pendUnless(held: Promise<boolean>, conversation: string, parent: string, from: Peer): Promise<void> {
    return held.then((has) => (has ? undefined : this.pend(conversation, parent, from)));
  }

  /** Wait for the parent a while, then sync the conversation if it is still missing. */
  private pend(conversation: string, parent: string, from: Peer): undefined {
    if (this.stopped || this.pending.has(conversation) || this.pending.size >= MAX_PENDING_REPAIRS) return;
    this.pending.set(conversation, { peer: from, parent, due: monotonicMs() + REPAIR_DELAY * 1000 });
    this.timer ??= setTimeout(() => this.runRepairs(), REPAIR_DELAY * 1000);
    this.timer.unref?.();
    return undefined;
  }

  /** Sync the conversations whose missing parent has not arrived since. */
  private runRepairs(): void {
    this.timer = null;
    const now = monotonicMs();
    let next = Infinity;
    for (const [conversation, r] of this.pending) {
      if (r.due > now) {
        next = Math.min(next, r.due);
        continue;
      }
      this.pending.delete(conversation);
      const work = Promise.resolve(this.layer.log.has(r.parent)).then((has) => {
        if (has || this.stopped) return;
        this.stats.repairs++;
        log.debug(`repairing ${conversation} from ${r.peer.name || r.peer.id.slice(0, 8)}: ${r.parent} missing`);
        return this.layer.sync(r.peer, conversation);
      });
      this.track(work);
    }
    if (next < Infinity && !this.stopped) {
      this.timer = setTimeout(() => this.runRepairs(), Math.max(1, next - now));
      this.timer.unref?.();
    }
  }
}
