/**
 * The vocabulary of the task layer, shared by {@link Team} and {@link Worker}: the event kinds,
 * the task record, the node a team or worker stands on ({@link TeamHost}), the typed events they
 * emit on it, and readers that turn a `task.*` payload off the network into checked values (or
 * null: a malformed event is ignored, never fatal).
 *
 * The wire shapes are the Python package's (`synapse_p2p.teams`); see docs/teams.md.
 *
 * @module
 */
import type { ConversationEvent, Peer } from "../types.ts";
import { isMap } from "../util/guards.ts";

/** The conversation event kinds of the task layer, as the wire spells them. */
export const TaskKind = {
  Offer: "task.offer",
  Claim: "task.claim",
  Grant: "task.grant",
  Progress: "task.progress",
  Done: "task.done",
  Failed: "task.failed",
} as const;

/** Where a task stands in its team's table. */
export type TeamTaskStatus = "offered" | "claimed" | "done" | "failed";

/** One `task.progress` report a team kept (heartbeats renew the lease but are not kept). */
export interface TaskProgress {
  /** The worker's text. */
  message: string;
  /** The other keys of the payload (everything but `task_id` and `message`). */
  data: Record<string, unknown>;
  /** Who reported it. */
  peer: Peer;
  /** Unix seconds (float), from the event. */
  at: number;
}

/** The worker a task is granted to. */
export interface TaskAssignee {
  id: string;
  name: string;
}

/**
 * A task as its team sees it. The team updates the record in place as events arrive; read it,
 * don't write it.
 */
export interface TeamTask {
  /** The task id, a UUIDv7; also the id of the task's conversation. */
  readonly id: string;
  readonly title: string;
  /** What to do, free-form (the Python package's `spec` map). */
  readonly spec: Record<string, unknown>;
  /** Capability names a worker needs, all of them, to claim the task. */
  readonly requires: readonly string[];
  readonly status: TeamTaskStatus;
  /** The current offer's number: 1 for the first offer, one more for each re-offer. */
  readonly attempt: number;
  /** The worker of the current attempt once granted; null while offered. */
  readonly assignee: TaskAssignee | null;
  /** What the handler returned, once done. */
  readonly result: unknown;
  /** Why it failed, once failed. */
  readonly error: string | null;
  /** Non-heartbeat progress reports, oldest first. */
  readonly progress: readonly TaskProgress[];
  /** Unix seconds (float) of the first offer. */
  readonly createdAt: number;
  /** Unix seconds (float) of the last activity (offer, grant, progress): the lease runs from it. */
  readonly updatedAt: number;
  /** Unix seconds (float) when it finished; null while open. */
  readonly finishedAt: number | null;
}

/** The payload of every team event a node emits: the task as it stands after the change. */
export interface TeamTaskEvent {
  task: TeamTask;
  /** The conversation event behind the change, or null for a change made by the lease check. */
  event: ConversationEvent | null;
}

/** The payload of every worker event a node emits. */
export interface WorkerTaskEvent {
  /** The task id. */
  taskId: string;
  title: string;
  attempt: number;
  /** The node that offered it. */
  team: Peer;
  /** `worker.task.finished`: the handler's result; otherwise undefined. */
  result?: unknown;
  /** `worker.task.finished` after a throw: the error text; otherwise undefined. */
  error?: string;
}

/**
 * Events that a {@link Team} and a {@link Worker} emit on their node (`node.on("team.task.done",
 * ...)`), for dashboards and `sn watch`-like views. Team events fire on the team's node only;
 * every node of the swarm sees the raw `conversation.task.*` events.
 */
export interface TeamEvents {
  /** A task was offered: first offer (attempt 1) or a re-offer after its lease ran out. */
  "team.task.offered": TeamTaskEvent;
  /** The team granted a task to the first claimant of the current attempt. */
  "team.task.granted": TeamTaskEvent;
  /** A non-heartbeat progress report arrived for a task. */
  "team.task.progress": TeamTaskEvent;
  /** A task finished with a result (the first `task.done`). */
  "team.task.done": TeamTaskEvent;
  /** A task failed: its worker reported failure, or `maxAttempts` offers went uncompleted. */
  "team.task.failed": TeamTaskEvent;
  /** This worker claimed an offer. */
  "worker.task.claimed": WorkerTaskEvent;
  /** This worker was granted a task and its handler started. */
  "worker.task.started": WorkerTaskEvent;
  /** This worker's handler finished (result) or threw (error); the outcome was reported. */
  "worker.task.finished": WorkerTaskEvent;
}

/**
 * What a team or a worker needs of its node: a `Node` is one. Taken as an interface so that this
 * layer sits below the node facade (and can be tested on a fake).
 */
export interface TeamHost {
  readonly id: string;
  readonly name: string;
  /** Capability names the node advertises (a worker's default capabilities). */
  capabilityNames(): string[];
  /** Store a new event and gossip it to the swarm. */
  emitConversationEvent(conversation: string, kind: string, payload?: Record<string, unknown>, options?: { parentId?: string | null }): Promise<ConversationEvent>;
  /** One conversation's events, oldest first. */
  conversation(conversation: string): Promise<ConversationEvent[]>;
  /** The ids of the conversations the node holds. */
  conversations(): Promise<string[]>;
  /** Subscribe to a node event; returns the unsubscribe function. */
  on(event: string, listener: (payload: unknown) => unknown): () => void;
  /** The node's emitter, for the typed {@link TeamEvents}. */
  readonly events: { emit(event: string, payload: never): void };
}

/** Emit one of the {@link TeamEvents} on the host. */
export function emitTeamEvent<K extends keyof TeamEvents>(host: TeamHost, event: K, payload: TeamEvents[K]): void {
  (host.events.emit as (event: string, payload: unknown) => void)(event, payload);
}

/** Subscribe to `conversation.<kind>` on the host. */
export function onTaskEvent(host: TeamHost, kind: string, listener: (event: ConversationEvent) => void): () => void {
  // The node emits `conversation.<kind>` with the stored event (NodeEvents says so).
  return host.on(`conversation.${kind}`, (payload) => listener(payload as ConversationEvent));
}

/** The task id of a `task.*` event: `payload.task_id`, which must name the event's conversation. */
export function taskIdOf(event: ConversationEvent): string | null {
  const id = event.payload.task_id;
  return typeof id === "string" && id === event.conversation_id ? id : null;
}

/** A checked `task.offer` payload. */
export interface OfferFields {
  taskId: string;
  title: string;
  spec: Record<string, unknown>;
  requires: string[];
  attempt: number;
}

/** Read a `task.offer`; null when malformed. */
export function readOffer(event: ConversationEvent): OfferFields | null {
  const taskId = taskIdOf(event);
  const { title, spec, requires, attempt } = event.payload;
  if (taskId === null || typeof title !== "string") return null;
  if (spec !== undefined && spec !== null && !isMap(spec)) return null;
  if (requires !== undefined && requires !== null && !(Array.isArray(requires) && requires.every((r) => typeof r === "string"))) return null;
  if (!isAttempt(attempt)) return null;
  return { taskId, title, spec: (spec as Record<string, unknown> | null | undefined) ?? {}, requires: (requires as string[] | null | undefined) ?? [], attempt };
}

/** Read the attempt of a `task.claim`: a positive integer, or null when absent (Python accepts both). */
export function claimAttempt(event: ConversationEvent): number | null | undefined {
  const attempt = event.payload.attempt;
  if (attempt === undefined || attempt === null) return null;
  return isAttempt(attempt) ? attempt : undefined;
}

/** Read a `task.grant`; null when malformed. */
export function readGrant(event: ConversationEvent): { taskId: string; workerId: string; workerName: string } | null {
  const taskId = taskIdOf(event);
  const { worker_id: workerId, worker_name: workerName } = event.payload;
  if (taskId === null || typeof workerId !== "string") return null;
  return { taskId, workerId, workerName: typeof workerName === "string" ? workerName : "" };
}

/** The report of a non-heartbeat `task.progress`. */
export function readProgress(event: ConversationEvent): TaskProgress {
  const { task_id: _id, message, ...data } = event.payload;
  return { message: typeof message === "string" ? message : message == null ? "" : failureText(message), data, peer: event.peer, at: event.created_at };
}

/** The error text of a `task.failed` (any value is shown as text). */
export function failureText(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === undefined || value === null) return "task failed";
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

function isAttempt(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 1;
}
