/**
 * The filing of other nodes' events once their signature passed, with the signature checked off
 * the event loop (`SignedRecords.eventRefusal`, docs/security.md#cost): while a record is
 * being checked, a copy of it waits ({@link InFlight}) and is then a copy of a record held, dropped
 * unchecked; after a copy refused, the next one is checked itself (it may be the genuine one).
 *
 * @module
 */
import type { ConversationEvent } from "../types.ts";
import { EndpointError, ErrorCode } from "../errors.ts";
import type { SignedRecords } from "../security/records.ts";
import type { ConversationLog, MaybePromise } from "./log.ts";
import { createLogger } from "../log.ts";

const log = createLogger("conversation");

/** Work by key, one run at a time: a run for a key in flight waits for it to settle (either way). */
export class InFlight<T> {
  private readonly runs = new Map<string, Promise<T>>();

  /** Whether a run for `key` is in flight. */
  busy(key: string): boolean {
    return this.runs.has(key);
  }

  /** Runs in flight (0: none, whatever the key; no key needs making to know it). */
  get size(): number {
    return this.runs.size;
  }

  /** Run `task` for `key`, after the run of the same key in flight if any. */
  after(key: string, task: () => Promise<T>): Promise<T> {
    const first = this.runs.get(key);
    const run = first ? first.then(task, task) : task();
    this.runs.set(key, run);
    const done = () => {
      if (this.runs.get(key) === run) this.runs.delete(key);
    };
    run.then(done, done);
    return run;
  }
}

/** The conversation layer's filing of other nodes' (non-reply) events. */
export class EventFiling {
  private readonly filing = new InFlight<ConversationEvent | null>();
  /** Set while the node is stopped: a check that finishes then files nothing (its log may be closed). */
  stopped = false;

  constructor(
    private readonly log: Pick<ConversationLog, "has">,
    private readonly records: () => SignedRecords,
    /** Store the event (and announce it); false when not stored. */
    private readonly append: (event: ConversationEvent) => MaybePromise<boolean>,
  ) {}

  /**
   * Check `event`'s signature (or its record MAC for this node, `mac`) and store it, once per event id. The event, when stored here.
   *
   * @throws {EndpointError} `bad_request` when the signature rules refuse it (docs/security.md).
   */
  file(event: ConversationEvent, mac?: Uint8Array | null): Promise<ConversationEvent | null> {
    return this.filing.after(event.event_id, () => this.checkAndFile(event, mac));
  }

  /** {@link file}, a refusal logged (at debug, after `what`) instead of thrown. True when stored. */
  fileOrLog(event: ConversationEvent, what: string, mac?: Uint8Array | null): Promise<boolean> {
    return this.file(event, mac).then(
      (stored) => stored !== null,
      (error: unknown) => {
        if (!(error instanceof EndpointError)) throw error;
        log.debug(`${what}: ${error.message}`);
        return false;
      },
    );
  }

  private async checkAndFile(event: ConversationEvent, mac?: Uint8Array | null): Promise<ConversationEvent | null> {
    // A copy of an event held already is dropped unchecked (neither stored nor sent on): one check per node.
    const held = this.log.has(event.event_id);
    if (held === true || (held !== false && (await held))) return null;
    const checked = this.records().eventRefusal(event, mac);
    const refusal = checked instanceof Promise ? await checked : checked;
    if (refusal) throw new EndpointError(ErrorCode.BadRequest, refusal);
    if (this.stopped) return null;
    return (await this.append(event)) ? event : null;
  }
}
