/**
 * What the broadcast benches (one process and many) share: the options of their nodes, and the
 * counting of reply-carrying calls: every
 * `_synapse.broadcast.reply` call, and every `_synapse.conversation.batch` call whose request or
 * answer carried a reply, each counted for its caller (the reply call's replier, the batch's
 * `from`).
 *
 * @module
 */
import type { Node, NodeOptions } from "../../src/index.ts";
import { hasReplyItem } from "../../src/conversation/item-bytes.ts";

/**
 * The options of node `i` of a broadcast bench's swarm (node 0 is the origin): loopback, no
 * heartbeats, and so no peer timeout. Without heartbeats nothing refreshes a peer's `last_seen`:
 * with a peer timeout every node would drop its peers 20 s after the joins, in the middle of the
 * rounds (the cause of the incomplete rounds once measured at 200 peers, where meshing alone takes
 * longer than that).
 */
export function benchNodeOptions(i: number): NodeOptions {
  return { name: i === 0 ? "origin" : `peer${i}`, bind: "127.0.0.1", advertise: "127.0.0.1", swarm: "bench", heartbeatInterval: null, peerTimeout: null };
}

/** Wrap the nodes' reply and batch handlers to count reply-carrying calls into `state` and, per caller, `byCaller`. */
export function countReplyCalls(nodes: Node[], state: { replyCalls: number }, byCaller: Map<string, number>): void {
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
      // A list, or items as bytes (hello feature `item_bytes`): looked at without decoding them.
      if (hasReplyItem(args[0]) || hasReplyItem(answer.items)) add(args[1]);
      return answer;
    };
  }
}
