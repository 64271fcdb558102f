/**
 * The task layer: a {@link Team} offers tasks, {@link Worker}s claim them, exactly one worker at a
 * time is granted each, under a lease. Wire-compatible with the Python package's
 * `synapse_p2p.teams`; see docs/teams.md.
 *
 * @module
 */
export { Team, type TeamOptions, type OfferOptions, type TeamWaitOptions } from "./team.ts";
export { Worker, type WorkerOptions, type Assignment, type TaskHandler } from "./worker.ts";
export {
  TaskKind,
  type TeamTask,
  type TeamTaskStatus,
  type TaskProgress,
  type TaskAssignee,
  type TeamTaskEvent,
  type WorkerTaskEvent,
  type TeamEvents,
  type TeamHost,
} from "./task.ts";
