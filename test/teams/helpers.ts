/**
 * Helpers for the task-layer suites: a meshed swarm of loopback nodes, and reading a task's
 * conversation back.
 *
 * @module
 */
import type { Node, NodeOptions } from "../../src/node.ts";
import type { ConversationEvent } from "../../src/types.ts";
import { eventually, startNode } from "../helpers/net.ts";

export { eventually, sleep, stopAll, startNode } from "../helpers/net.ts";

/** Start nodes with these names in swarm "teams" (heartbeats off) and mesh them. */
export async function crew(names: string[], options: NodeOptions = {}): Promise<Node[]> {
  const nodes: Node[] = [];
  for (const name of names) nodes.push(await startNode({ name, swarm: "teams", heartbeatInterval: null, ...options }));
  await meshAll(nodes);
  return nodes;
}

/** Connect nodes into a full mesh through the first one. */
export async function meshAll(nodes: Node[]): Promise<void> {
  const seed = `127.0.0.1:${nodes[0]!.port}`;
  for (const node of nodes.slice(1)) await node.join({ seeds: [seed] });
  for (const node of nodes.slice(1)) await node.join({ seeds: [seed] });
  await eventually(() => nodes.every((node) => node.peers.size >= nodes.length - 1), 5000, "full mesh");
}

/** The events of one kind in a task's conversation, as `node` holds them. */
export async function eventsOf(node: Node, taskId: string, kind?: string): Promise<ConversationEvent[]> {
  const events = await node.conversation(taskId);
  return kind ? events.filter((e) => e.kind === kind) : events;
}

/** Poll (bounded) until `node` holds at least `count` events of `kind` in the task's conversation. */
export async function untilEvents(node: Node, taskId: string, kind: string, count: number, what: string): Promise<ConversationEvent[]> {
  let found: ConversationEvent[] = [];
  const deadline = Date.now() + 10_000;
  while ((found = await eventsOf(node, taskId, kind)).length < count) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${count} ${kind} (${what}); have ${found.length}`);
    await Bun.sleep(10);
  }
  return found;
}
