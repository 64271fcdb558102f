/**
 * Counting reply-carrying calls in the broadcast benches (one process and many): every
 * `_synapse.broadcast.reply` call, and every `_synapse.conversation.batch` call whose request or
 * answer carried a reply, each counted for its caller (the reply call's replier, the batch's
 * `from`).
 *
 * @module
 */
import type { Node } from "../../src/index.ts";

/** Wrap the nodes' reply and batch handlers to count reply-carrying calls into `state` and, per caller, `byCaller`. */
export function countReplyCalls(nodes: Node[], state: { replyCalls: number }, byCaller: Map<string, number>): void {
  const hasReply = (items: unknown) => Array.isArray(items) && items.some((i) => typeof i === "object" && i !== null && "reply" in i);
  const add = (caller: unknown) => {
    state.replyCalls++;
    if (typeof caller === "string") byCaller.set(caller, (byCaller.get(caller) ?? 0) + 1);
  };
  for (const node of nodes) {
    const reply = node.endpoints.get("_synapse.broadcast.reply")!;
    const replyHandler = reply.handler;
    reply.handler = (...args: unknown[]) => {
      add((args[1] as { id?: unknown } | undefined)?.id);
      return replyHandler(...args);
    };
    const batch = node.endpoints.get("_synapse.conversation.batch")!;
    const batchHandler = batch.handler;
    batch.handler = async (...args: unknown[]) => {
      const answer = (await batchHandler(...args)) as { items?: unknown };
      if (hasReply(args[0]) || hasReply(answer.items)) add(args[1]);
      return answer;
    };
  }
}
