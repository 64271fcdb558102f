/**
 * Rebuilding a team's table from its node's conversation log, as the Python team's `restore()`
 * does: every conversation whose first `task.offer` this node authored (by id, or by name, since a
 * restarted node may have a new id) is one of its tasks; attempts = the number of offers; a grant
 * after the last offer means claimed, a `task.done` / `task.failed` means finished (the first one
 * wins).
 *
 * @module
 */
import type { ConversationEvent } from "../types.ts";
import { TaskKind, failureText, readGrant, readOffer, readProgress, taskIdOf, type TeamHost, type TeamTask } from "./task.ts";

/** A task record the team updates in place (the public {@link TeamTask} is its read-only view). */
export type MutableTask = { -readonly [K in keyof TeamTask]: TeamTask[K] } & {
  requires: string[];
  progress: Array<TeamTask["progress"][number]>;
};

/**
 * Read every conversation of `host`'s log and rebuild the tasks its team offered, skipping those
 * `skip` names (already in the table).
 */
export async function restoreTasks(host: TeamHost, skip: (id: string) => boolean): Promise<MutableTask[]> {
  const out: MutableTask[] = [];
  for (const id of await host.conversations()) {
    if (skip(id)) continue;
    const task = rebuild(host, await host.conversation(id));
    if (task) out.push(task);
  }
  return out;
}

/** One task from its conversation's events (oldest first), or null when it is not this team's. */
export function rebuild(host: Pick<TeamHost, "id" | "name">, events: ConversationEvent[]): MutableTask | null {
  const offers = events.filter((e) => e.kind === TaskKind.Offer);
  const first = offers[0];
  if (!first || (first.peer.id !== host.id && first.peer.name !== host.name)) return null;
  const offer = readOffer(first);
  if (!offer) return null;
  const task: MutableTask = {
    id: offer.taskId,
    title: offer.title,
    spec: offer.spec,
    requires: offer.requires,
    status: "offered",
    attempt: offers.length,
    assignee: null,
    result: undefined,
    error: null,
    progress: [],
    createdAt: first.created_at,
    updatedAt: first.created_at,
    finishedAt: null,
  };
  for (const event of events) {
    if (taskIdOf(event) !== task.id) continue;
    const finished = task.status === "done" || task.status === "failed";
    if (!finished && event.created_at > task.updatedAt) task.updatedAt = event.created_at;
    if (finished) continue;
    switch (event.kind) {
      case TaskKind.Offer:
        task.status = "offered";
        task.assignee = null;
        break;
      case TaskKind.Grant: {
        const grant = readGrant(event);
        if (grant) {
          task.status = "claimed";
          task.assignee = { id: grant.workerId, name: grant.workerName };
        }
        break;
      }
      case TaskKind.Progress:
        if (event.payload.heartbeat !== true) {
          task.progress.push(readProgress(event));
        }
        break;
      case TaskKind.Done:
        task.status = "done";
        task.result = event.payload.result ?? null;
        task.finishedAt = event.created_at;
        break;
      case TaskKind.Failed:
        task.status = "failed";
        task.error = failureText(event.payload.error);
        task.finishedAt = event.created_at;
        break;
    }
  }
  return task;
}
