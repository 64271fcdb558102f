/**
 * The {@link Worker}: the side of the task layer that does the work. It claims the offers it can
 * take (a handler set, not its own offer, not already running that task, every `requires` among its
 * capabilities), runs its handler when the team grants the task to it, renews the lease with
 * heartbeats while the handler runs, and reports `task.done` or `task.failed`.
 *
 * Behaviour follows the Python package's `synapse_p2p.teams.Worker` (docs/teams.md).
 *
 * @module
 */
import type { ConversationEvent, Peer } from "../types.ts";
import { ConfigError } from "../errors.ts";
import { createLogger } from "../log.ts";
import { errorMessage, isMap } from "../util/guards.ts";
import { MAX_TIMER_DELAY_MS, isDuration, monotonicMs, secondsToMs } from "../util/time.ts";
import { TaskKind, emitTeamEvent, onTaskEvent, readGrant, readOffer, taskIdOf, type OfferFields, type TeamEvents, type TeamHost, type WorkerTaskEvent } from "./task.ts";

const log = createLogger("teams");

/** Options of `new Worker(node, ...)`. Times are in seconds. */
export interface WorkerOptions {
  /** Seconds a claimed offer is remembered while waiting for the grant (default 60). */
  claimTimeout?: number;
  /** Seconds between heartbeats (`task.progress` with `heartbeat: true`) while a handler runs (default 60). */
  renewInterval?: number;
  /** Capability names the worker has (default: the node's capabilities, read at each offer). */
  capabilities?: string[];
  /** Tasks claimed or running at once (default: no limit, as a Python worker). */
  concurrency?: number;
}

/** A task granted to this worker, as its handler receives it. */
export interface Assignment {
  /** The task id (also its conversation id). */
  readonly taskId: string;
  readonly title: string;
  readonly spec: Record<string, unknown>;
  readonly requires: readonly string[];
  /** The offer's attempt number (1 for the first offer). */
  readonly attempt: number;
  /** The node that offered the task. */
  readonly team: Peer;
  /**
   * Report progress (`task.progress {task_id, message, ...data}`); renews the lease and is kept in
   * the team's record of the task.
   */
  progress(message: string, data?: Record<string, unknown>): Promise<void>;
}

/** What a worker runs for each task granted to it; its return value is the task's result. */
export type TaskHandler = (assignment: Assignment) => unknown;

interface HeldOffer extends OfferFields {
  offerEventId: string;
  team: Peer;
  /** Monotonic ms after which the offer is forgotten. */
  expiresAt: number;
}

/**
 * Claims offers a node can take and runs a handler for each task granted to it.
 *
 * @example
 * const worker = new Worker(node, { renewInterval: 30 });
 * worker.task(async (assignment) => {
 *   await assignment.progress("halfway", { percent: 50 });
 *   return { ok: true };
 * });
 */
export class Worker {
  readonly claimTimeout: number;
  readonly renewInterval: number;
  readonly concurrency: number;

  private handler: TaskHandler | null = null;
  private readonly held = new Map<string, HeldOffer>();
  /**
   * Offers this worker could take but had no free slot for (`concurrency`), oldest first: claimed
   * when a slot frees up, unless a grant or an outcome for the task was seen meanwhile.
   */
  private readonly waiting = new Map<string, HeldOffer>();
  private readonly running = new Set<string>();
  /** The heartbeat timer of each running task. */
  private readonly renewals = new Map<string, ReturnType<typeof setInterval>>();
  private readonly capabilities: string[] | null;
  private readonly offs: Array<() => void> = [];

  /**
   * @throws {ConfigError} when an option is out of range.
   */
  constructor(
    readonly node: TeamHost,
    options: WorkerOptions = {},
  ) {
    const { claimTimeout = 60, renewInterval = 60, capabilities, concurrency = Infinity } = options;
    if (!isDuration(claimTimeout) || claimTimeout === 0) throw new ConfigError(`claimTimeout must be a number of seconds > 0, got ${String(claimTimeout)}`);
    if (!isDuration(renewInterval) || renewInterval === 0) throw new ConfigError(`renewInterval must be a number of seconds > 0, got ${String(renewInterval)}`);
    if (capabilities !== undefined && !(Array.isArray(capabilities) && capabilities.every((c) => typeof c === "string"))) throw new ConfigError("capabilities must be a list of names");
    if (!(concurrency === Infinity || (Number.isInteger(concurrency) && concurrency >= 1))) throw new ConfigError(`concurrency must be an integer >= 1, got ${String(concurrency)}`);
    this.claimTimeout = claimTimeout;
    this.renewInterval = renewInterval;
    this.concurrency = concurrency;
    this.capabilities = capabilities ? [...capabilities] : null;
    this.offs.push(
      onTaskEvent(node, TaskKind.Offer, (e) => this.onOffer(e)),
      onTaskEvent(node, TaskKind.Grant, (e) => this.onGrant(e)),
      onTaskEvent(node, TaskKind.Done, (e) => this.onOutcome(e)),
      onTaskEvent(node, TaskKind.Failed, (e) => this.onOutcome(e)),
      node.on("stopped", () => this.close()),
    );
  }

  /** Set the handler (replacing any earlier one); until one is set the worker claims nothing. */
  task(handler: TaskHandler): this {
    if (typeof handler !== "function") throw new ConfigError("a task handler must be a function");
    this.handler = handler;
    return this;
  }

  /** Ids of the tasks whose handlers are running here. */
  get active(): string[] {
    return [...this.running];
  }

  /**
   * Stop claiming, forget held offers and stop the heartbeats of running tasks (also done when the
   * node stops): the team re-offers those once their lease runs out. Running handlers are not
   * interrupted; what they report afterwards still counts if it arrives first (at-least-once).
   */
  close(): void {
    for (const off of this.offs.splice(0)) off();
    this.held.clear();
    this.waiting.clear();
    for (const timer of this.renewals.values()) clearInterval(timer);
    this.renewals.clear();
  }

  private onOffer(event: ConversationEvent): void {
    if (!this.handler || event.peer.id === this.node.id) return;
    const offer = readOffer(event);
    if (!offer || this.running.has(offer.taskId)) return;
    const mine = new Set(this.capabilities ?? this.node.capabilityNames());
    if (!offer.requires.every((r) => mine.has(r))) return;
    const held: HeldOffer = { ...offer, offerEventId: event.event_id, team: event.peer, expiresAt: monotonicMs() + this.claimTimeout * 1000 };
    this.forgetExpired();
    this.waiting.delete(offer.taskId); // a re-offer replaces what was waiting
    if (!this.held.has(offer.taskId) && this.held.size + this.running.size >= this.concurrency) {
      this.waiting.set(offer.taskId, held);
      return;
    }
    void this.claim(held);
  }

  /** Claim an offer: remember it until the grant (or `claimTimeout`), send `task.claim`. */
  private async claim(offer: HeldOffer): Promise<void> {
    this.held.set(offer.taskId, offer);
    this.announce("worker.task.claimed", offer, offer.team);
    const capabilities = this.capabilities ?? this.node.capabilityNames();
    try {
      await this.node.emitConversationEvent(offer.taskId, TaskKind.Claim, { task_id: offer.taskId, attempt: offer.attempt, capabilities }, { parentId: offer.offerEventId });
    } catch (error) {
      log.warn(`could not claim task ${offer.taskId}`, error);
    }
  }

  /** A slot is free: claim the oldest waiting offer that is still open. */
  private pull(): void {
    this.forgetExpired();
    for (const [id, offer] of this.waiting) {
      if (this.held.size + this.running.size >= this.concurrency) return;
      this.waiting.delete(id);
      if (!this.running.has(id) && !this.held.has(id)) void this.claim(offer);
    }
  }

  /** Someone finished a task: an offer of it waiting here is moot. */
  private onOutcome(event: ConversationEvent): void {
    const id = taskIdOf(event);
    if (id !== null) this.waiting.delete(id);
  }

  private onGrant(event: ConversationEvent): void {
    const grant = readGrant(event);
    if (!grant) return;
    this.waiting.delete(grant.taskId); // granted to someone: not open any more
    const offer = this.held.get(grant.taskId);
    if (!offer) return;
    this.held.delete(grant.taskId); // granted to us or to another: either way the offer is settled
    if (grant.workerId !== this.node.id || offer.expiresAt < monotonicMs() || this.running.has(grant.taskId)) {
      this.pull();
      return;
    }
    void this.run(offer);
  }

  private async run(offer: HeldOffer): Promise<void> {
    const handler = this.handler;
    if (!handler) return;
    const { taskId } = offer;
    this.running.add(taskId);
    const emit = (kind: string, payload: Record<string, unknown>) =>
      this.node.emitConversationEvent(taskId, kind, { task_id: taskId, ...payload }, { parentId: offer.offerEventId }).then(
        () => undefined,
        (error) => log.warn(`could not send ${kind} for task ${taskId}`, error),
      );
    const assignment: Assignment = {
      taskId,
      title: offer.title,
      spec: offer.spec,
      requires: offer.requires,
      attempt: offer.attempt,
      team: offer.team,
      progress: async (message, data = {}) => {
        if (typeof message !== "string") throw new ConfigError("a progress message must be a string");
        if (!isMap(data)) throw new ConfigError("progress data must be a plain object");
        // task_id and message are the protocol's; the data cannot override them.
        const { task_id: _id, message: _message, ...rest } = data;
        await emit(TaskKind.Progress, { message, ...rest });
      },
    };
    const renewMs = Math.min(secondsToMs(this.renewInterval), MAX_TIMER_DELAY_MS);
    this.renewals.set(taskId, setInterval(() => void emit(TaskKind.Progress, { message: "working", heartbeat: true }), renewMs));
    this.announce("worker.task.started", offer, offer.team);
    try {
      const result = await handler(assignment);
      await emit(TaskKind.Done, { result: result ?? null });
      this.announce("worker.task.finished", offer, offer.team, { result });
    } catch (error) {
      const text = errorMessage(error);
      await emit(TaskKind.Failed, { error: text });
      this.announce("worker.task.finished", offer, offer.team, { error: text });
    } finally {
      clearInterval(this.renewals.get(taskId));
      this.renewals.delete(taskId);
      this.running.delete(taskId);
      this.pull();
    }
  }

  private forgetExpired(): void {
    const now = monotonicMs();
    for (const [id, offer] of this.held) if (offer.expiresAt < now) this.held.delete(id);
    for (const [id, offer] of this.waiting) if (offer.expiresAt < now) this.waiting.delete(id);
  }

  private announce(event: keyof TeamEvents & `worker.${string}`, offer: OfferFields, team: Peer, outcome: Pick<WorkerTaskEvent, "result" | "error"> = {}): void {
    emitTeamEvent(this.node, event, { taskId: offer.taskId, title: offer.title, attempt: offer.attempt, team, ...outcome });
  }
}
