/**
 * The {@link Team}: the side of the task layer that hands out work. It offers each task as a
 * conversation of its own, grants it to the first claimant of the current attempt, keeps a lease
 * on it (renewed by any progress), re-offers it when the lease runs out, and records the first
 * `task.done` or `task.failed`. Its table can be rebuilt from the node's conversation log.
 *
 * Behaviour follows the Python package's `synapse_p2p.teams.Team` (docs/teams.md).
 *
 * @module
 */
import type { ConversationEvent } from "../types.ts";
import { ConfigError, ErrorCode, TeamTaskError } from "../errors.ts";
import { createLogger } from "../log.ts";
import { isMap } from "../util/guards.ts";
import { MAX_TIMER_DELAY_MS, isDuration, nowSeconds, secondsToMs, wallStepsSince } from "../util/time.ts";
import { uuidv7 } from "../conversation/uuid.ts";
import {
  TaskKind,
  claimAttempt,
  emitTeamEvent,
  failureText,
  onTaskEvent,
  readProgress,
  taskIdOf,
  type TeamEvents,
  type TeamHost,
  type TeamTask,
} from "./task.ts";
import { restoreTasks, type MutableTask } from "./restore.ts";

const log = createLogger("teams");

/** Options of `new Team(node, ...)`. Times are in seconds. */
export interface TeamOptions {
  /**
   * Seconds without activity (offer, grant, progress) after which an unfinished task is
   * re-offered (default 300). Workers renew it with heartbeats while they work.
   */
  lease?: number;
  /** Fail a task once this many offers went uncompleted (default: no limit). */
  maxAttempts?: number | null;
  /** Forget finished tasks this many seconds after they finished (default: never). */
  taskRetention?: number | null;
}

/** Options of {@link Team.offer}. */
export interface OfferOptions {
  /** What to do, free-form (default `{}`). */
  spec?: Record<string, unknown>;
  /** Capability names a worker needs, all of them, to claim it (default none). */
  requires?: string[];
}

/** Options of {@link Team.wait}. */
export interface TeamWaitOptions {
  /** Seconds to wait; 0 or Infinity (the default) wait until the task finishes. */
  timeout?: number;
}

interface Waiter {
  resolve(result: unknown): void;
  reject(error: Error): void;
}

/**
 * Hands out tasks so that exactly one worker at a time works on each.
 *
 * @example
 * const team = new Team(node, { lease: 60, maxAttempts: 3 });
 * const task = await team.offer("resize images", { spec: { dir: "/tmp/in" }, requires: ["images"] });
 * const result = await team.wait(task, { timeout: 600 });
 */
export class Team {
  /** Seconds of quiet after which an unfinished task is re-offered. */
  readonly lease: number;
  /** Offers after which an uncompleted task fails; null: no limit. */
  readonly maxAttempts: number | null;
  /** Seconds a finished task stays in the table; null: forever. */
  readonly taskRetention: number | null;

  private readonly table = new Map<string, MutableTask>();
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly offs: Array<() => void> = [];
  private timer: ReturnType<typeof setInterval> | null = null;

  /**
   * @throws {ConfigError} when an option is out of range.
   */
  constructor(
    readonly node: TeamHost,
    options: TeamOptions = {},
  ) {
    const { lease = 300, maxAttempts = null, taskRetention = null } = options;
    if (!isDuration(lease) || lease === 0) throw new ConfigError(`lease must be a number of seconds > 0, got ${String(lease)}`);
    if (maxAttempts !== null && !(Number.isInteger(maxAttempts) && maxAttempts >= 1)) throw new ConfigError(`maxAttempts must be an integer >= 1 or null, got ${String(maxAttempts)}`);
    if (taskRetention !== null && !isDuration(taskRetention)) throw new ConfigError(`taskRetention must be a number of seconds >= 0 or null, got ${String(taskRetention)}`);
    this.lease = lease;
    this.maxAttempts = maxAttempts;
    this.taskRetention = taskRetention;
    this.offs.push(
      onTaskEvent(node, TaskKind.Claim, (e) => this.onClaim(e)),
      onTaskEvent(node, TaskKind.Progress, (e) => this.onProgress(e)),
      onTaskEvent(node, TaskKind.Done, (e) => this.onFinish(e, "done")),
      onTaskEvent(node, TaskKind.Failed, (e) => this.onFinish(e, "failed")),
      node.on("stopped", () => this.close()),
    );
    // As the Python team: check every quarter of the lease, at least every 50 ms.
    const every = Math.min(Math.max(0.05, lease / 4), MAX_TIMER_DELAY_MS / 1000);
    this.timer = setInterval(() => this.check(), every * 1000);
    this.timer.unref?.();
  }

  /** The team's tasks by id: offered, claimed, and finished ones until `taskRetention` forgets them. */
  get tasks(): ReadonlyMap<string, TeamTask> {
    return this.table;
  }

  /**
   * Offer a task to the swarm: a new conversation whose first event is the `task.offer`.
   *
   * @throws {ConfigError} when the title, spec or requires are not what they should be, or the team is closed.
   */
  async offer(title: string, options: OfferOptions = {}): Promise<TeamTask> {
    const { spec = {}, requires = [] } = options;
    if (this.timer === null) throw new ConfigError("this team is closed");
    if (typeof title !== "string" || title.length === 0) throw new ConfigError("a task needs a title");
    if (!isMap(spec)) throw new ConfigError("a task's spec must be a plain object");
    if (!Array.isArray(requires) || !requires.every((r) => typeof r === "string" && r.length > 0)) throw new ConfigError("requires must be a list of capability names");
    const now = nowSeconds();
    const task: MutableTask = {
      id: uuidv7(),
      title,
      spec,
      requires: [...requires],
      status: "offered",
      attempt: 1,
      assignee: null,
      result: undefined,
      error: null,
      progress: [],
      createdAt: now,
      updatedAt: now,
      finishedAt: null,
    };
    this.table.set(task.id, task);
    await this.sendOffer(task);
    return task;
  }

  /**
   * Wait for a task to finish.
   *
   * @returns the result of its first `task.done`.
   * @throws {TeamTaskError} (rejects) `task_failed` when it failed, `timeout` when `timeout` ran out first.
   * @throws {ConfigError} (rejects) when the task is not in this team's table, or the timeout is not a duration.
   */
  wait(task: TeamTask | string, options: TeamWaitOptions = {}): Promise<unknown> {
    const { timeout = Infinity } = options;
    const id = typeof task === "string" ? task : task.id;
    const known = this.table.get(id);
    if (!known) return Promise.reject(new ConfigError(`unknown task: ${id}`));
    if (!isDuration(timeout)) return Promise.reject(new ConfigError(`timeout must be a number of seconds >= 0, got ${String(timeout)}`));
    if (known.status === "done") return Promise.resolve(known.result);
    if (known.status === "failed") return Promise.reject(failedError(known));
    // Made now, so that its stack shows who waited.
    const timedOut = new TeamTaskError(ErrorCode.Timeout, id, `task ${id} did not finish within ${timeout} s`, { attempts: known.attempt });
    return new Promise((resolve, reject) => {
      let set = this.waiters.get(id);
      if (!set) this.waiters.set(id, (set = new Set()));
      const ms = secondsToMs(timeout);
      const timer = ms <= MAX_TIMER_DELAY_MS ? setTimeout(() => settle(() => reject(timedOut)), ms) : undefined;
      const waiter: Waiter = {
        resolve: (result) => settle(() => resolve(result)),
        reject: (error) => settle(() => reject(error)),
      };
      const settle = (then: () => void) => {
        clearTimeout(timer);
        set.delete(waiter);
        then();
      };
      set.add(waiter);
    });
  }

  /**
   * Rebuild the table from the node's conversation log (after a restart): every conversation whose
   * first `task.offer` this node made (same id, or same name). Finished tasks come back with their
   * results; unfinished ones keep their last activity time, so they are re-offered once their lease
   * runs out. Tasks already in the table are left as they are.
   *
   * @returns the tasks restored.
   */
  async restore(): Promise<TeamTask[]> {
    const restored = await restoreTasks(this.node, (id) => this.table.has(id));
    for (const task of restored) if (!this.table.has(task.id)) this.table.set(task.id, task);
    return restored;
  }

  /** Stop the lease checks and event handling (also done when the node stops). Pending waits stay pending. */
  close(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    for (const off of this.offs.splice(0)) off();
  }

  // ---------------------------------------------------------------- events

  private onClaim(event: ConversationEvent): void {
    const task = this.openTask(event);
    if (!task || task.status !== "offered") return; // granted already: later claims get nothing
    const attempt = claimAttempt(event);
    if (attempt === undefined || (attempt !== null && attempt !== task.attempt)) return; // malformed, or a stale claim
    task.status = "claimed";
    task.assignee = { id: event.peer.id, name: event.peer.name };
    task.updatedAt = nowSeconds();
    const payload = { task_id: task.id, worker_id: event.peer.id, worker_name: event.peer.name };
    this.send(task, TaskKind.Grant, payload, event.event_id);
    this.announce("team.task.granted", task, event);
  }

  private onProgress(event: ConversationEvent): void {
    const task = this.openTask(event);
    if (!task) return;
    task.updatedAt = nowSeconds(); // any progress renews the lease
    if (event.payload.heartbeat === true) return;
    task.progress.push(readProgress(event));
    this.announce("team.task.progress", task, event);
  }

  private onFinish(event: ConversationEvent, status: "done" | "failed"): void {
    const task = this.openTask(event);
    if (!task) return; // unknown, or finished already: the first one wins
    if (status === "done") this.finish(task, "done", event.payload.result ?? null, null, event);
    else this.finish(task, "failed", undefined, failureText(event.payload.error), event);
  }

  /** The unfinished task an event is about, if it is one of ours. */
  private openTask(event: ConversationEvent): MutableTask | null {
    const id = taskIdOf(event);
    const task = id === null ? undefined : this.table.get(id);
    return task && task.status !== "done" && task.status !== "failed" ? task : null;
  }

  private finish(task: MutableTask, status: "done" | "failed", result: unknown, error: string | null, event: ConversationEvent | null): void {
    task.status = status;
    task.result = result;
    task.error = error;
    task.finishedAt = nowSeconds();
    task.updatedAt = task.finishedAt;
    this.announce(status === "done" ? "team.task.done" : "team.task.failed", task, event);
    const waiters = this.waiters.get(task.id);
    this.waiters.delete(task.id);
    for (const w of waiters ?? []) {
      if (status === "done") w.resolve(result);
      else w.reject(failedError(task));
    }
  }

  // ---------------------------------------------------------------- leases

  /** The periodic check: re-offer or fail quiet tasks, forget old finished ones. */
  private check(): void {
    const now = nowSeconds();
    for (const task of this.table.values()) {
      // Steps of the system clock (NTP setting a box's clock) are no time passed: a step forward
      // had re-offered every task at once, a step back held a dead worker's lease for its length.
      if (task.status === "done" || task.status === "failed") {
        if (this.taskRetention !== null && task.finishedAt !== null && now - task.finishedAt - wallStepsSince(task.finishedAt) >= this.taskRetention) this.table.delete(task.id);
        continue;
      }
      if (now - task.updatedAt - wallStepsSince(task.updatedAt) < this.lease) continue;
      if (this.maxAttempts !== null && task.attempt >= this.maxAttempts) {
        const error = `no worker completed the task after ${task.attempt} attempts`;
        this.send(task, TaskKind.Failed, { task_id: task.id, error }, null);
        this.finish(task, "failed", undefined, error, null);
        continue;
      }
      task.attempt += 1;
      task.status = "offered";
      task.assignee = null;
      task.updatedAt = now;
      void this.sendOffer(task);
    }
  }

  private async sendOffer(task: MutableTask): Promise<void> {
    const payload = { task_id: task.id, title: task.title, spec: task.spec, requires: [...task.requires], attempt: task.attempt };
    this.announce("team.task.offered", task, null);
    await this.emit(task, TaskKind.Offer, payload, null);
  }

  /** Emit a task event without waiting (lease checks and handlers must not throw). */
  private send(task: TeamTask, kind: string, payload: Record<string, unknown>, parentId: string | null): void {
    void this.emit(task, kind, payload, parentId);
  }

  private async emit(task: TeamTask, kind: string, payload: Record<string, unknown>, parentId: string | null): Promise<void> {
    try {
      await this.node.emitConversationEvent(task.id, kind, payload, { parentId });
    } catch (error) {
      log.warn(`could not send ${kind} for task ${task.id}`, error);
    }
  }

  private announce(event: keyof TeamEvents & `team.${string}`, task: TeamTask, cause: ConversationEvent | null): void {
    emitTeamEvent(this.node, event, { task, event: cause });
  }
}

function failedError(task: TeamTask): TeamTaskError {
  return new TeamTaskError(ErrorCode.TaskFailed, task.id, `task ${task.id} (${task.title}) failed: ${task.error ?? "task failed"}`, {
    error: task.error,
    attempts: task.attempt,
  });
}
