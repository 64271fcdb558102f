/**
 * Asking the swarm: broadcast `synapse.ask(task, context=...)` (what the Python `sn ask` sends) and
 * hand back the ACKs, replies and errors as they come, as an async iterator.
 *
 * When it ends: a receiver sends its `ack` event (and the origin has stored it) before it answers
 * the broadcast call, so once the broadcast has been answered by every peer the ACKs are known;
 * the iterator then ends as soon as every peer that ACKed has replied or reported an error, or
 * when `timeout` seconds have passed, or when the caller stops iterating. At the timeout it reads
 * the sockets once more before it ends (`afterReads`): answers that arrived while the event loop
 * was blocked (by the caller's own loop body, say) came in time, and Bun runs an overdue timer
 * before it reads them.
 *
 * @module
 */
import type { Broadcast, BroadcastReply, ConversationEvent, Peer } from "../types.ts";
import type { Kwargs } from "../wire/messages.ts";
import { ConfigError } from "../errors.ts";
import { isMap } from "../util/guards.ts";
import { MAX_TIMER_DELAY_MS, isDuration, monotonicMs, secondsToMs } from "../util/time.ts";
import { afterReads } from "../util/turn.ts";
import { EventKind } from "./events.ts";

/** One thing the swarm said about an ask. */
export type SwarmAnswer =
  /** A peer took the task on (its `ack` event). */
  | { kind: "ack"; nonce: string; peer: Peer; event: ConversationEvent }
  /** A peer's result (`_synapse.broadcast.reply`). */
  | { kind: "reply"; nonce: string; peer: Peer; result: unknown }
  /** A peer's handler failed (its `error` event `{task, error}`). */
  | { kind: "error"; nonce: string; peer: Peer; error: string };

/** Options of `node.askSwarm(task, options)`. */
export interface AskSwarmOptions {
  /** The `context` map handed to every ask handler (default `{}`). */
  context?: Record<string, unknown>;
  /** Seconds to wait for replies at most (default 30, as `sn ask`); 0 or Infinity: no limit. */
  timeout?: number;
  /** Also yield the ACKs (default true). */
  acks?: boolean;
  /** Called with the broadcast once it is sent (its nonce is the conversation id). */
  onBroadcast?: (broadcast: Broadcast) => void;
}

/** What {@link askSwarm} needs from its node. */
export interface AskSwarmPort {
  broadcast(endpoint: string, args: unknown[], kwargs: Kwargs): Promise<Broadcast>;
  onReply(listener: (reply: BroadcastReply) => void): () => void;
  onEvent(kind: string, listener: (event: ConversationEvent) => void): () => void;
}

/** The endpoint an ask is broadcast to (PROTOCOL.md: what `sn ask` calls). */
export const ASK_ENDPOINT = "synapse.ask";

/**
 * Broadcast an ask and yield the swarm's answers as they come (see the module notes for when it
 * ends). Each peer's ACK and its reply or error come once.
 *
 * @throws {ConfigError} (from the first `next()`) for a task that is not a string, a context that is
 * not a map, a bad timeout, or a node that is not running.
 */
export async function* askSwarm(port: AskSwarmPort, task: string, options: AskSwarmOptions = {}): AsyncGenerator<SwarmAnswer, void, undefined> {
  if (typeof task !== "string") throw new ConfigError("askSwarm: the task must be a string");
  const context = options.context ?? {};
  if (!isMap(context)) throw new ConfigError("askSwarm: context must be a plain object");
  const timeout = options.timeout ?? 30;
  if (!isDuration(timeout)) throw new ConfigError(`askSwarm: timeout must be a number of seconds >= 0, got ${String(timeout)}`);

  let nonce: string | null = null;
  const early: SwarmAnswer[] = [];
  const queue: SwarmAnswer[] = [];
  const acked = new Set<string>();
  const answered = new Set<string>();
  let wake: (() => void) | null = null;

  const accept = (answer: SwarmAnswer) => {
    const seen = answer.kind === "ack" ? acked : answered;
    if (seen.has(answer.peer.id)) return;
    seen.add(answer.peer.id);
    if (answer.kind !== "ack" || options.acks !== false) queue.push(answer);
    wake?.();
  };
  // Answers can come while the broadcast is still being sent: hold them until its nonce is known.
  const offer = (answer: SwarmAnswer) => {
    if (nonce === null) early.push(answer);
    else if (answer.nonce === nonce) accept(answer);
  };
  const offs = [
    port.onEvent(EventKind.Ack, (e) => offer({ kind: "ack", nonce: e.parent_id ?? e.conversation_id, peer: e.peer, event: e })),
    port.onEvent(EventKind.Error, (e) => offer({ kind: "error", nonce: e.conversation_id, peer: e.peer, error: String(e.payload.error ?? "") })),
    port.onReply((r) => offer({ kind: "reply", nonce: r.nonce, peer: r.peer, result: r.result })),
  ];
  try {
    const broadcast = await port.broadcast(ASK_ENDPOINT, [task], { context });
    nonce = broadcast.nonce;
    options.onBroadcast?.(broadcast);
    for (const answer of early.splice(0)) if (answer.nonce === nonce) accept(answer);
    const ms = secondsToMs(timeout);
    const deadline = timeout === 0 || ms > MAX_TIMER_DELAY_MS ? Number.POSITIVE_INFINITY : monotonicMs() + ms;
    let lastLook = false;
    for (;;) {
      while (queue.length > 0) yield queue.shift()!;
      if ([...acked].every((id) => answered.has(id))) return;
      const left = deadline - monotonicMs();
      if (left <= 0) {
        if (lastLook) return;
        // Past the deadline: read what arrived by then before ending (see the module notes).
        lastLook = true;
        await new Promise<void>((resolve) => afterReads(resolve));
        continue;
      }
      await new Promise<void>((resolve) => {
        const timer = left === Number.POSITIVE_INFINITY ? undefined : setTimeout(resolve, left);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = null;
    }
  } finally {
    for (const off of offs) off();
  }
}
