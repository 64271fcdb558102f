/**
 * Test helpers for conversation tests: a fully meshed swarm of loopback nodes (heartbeats off, so
 * nothing runs in the background but what the test does), and small waiting helpers.
 *
 * @module
 */
import type { Node, NodeOptions } from "../../src/node.ts";
import type { CallContext } from "../../src/rpc/endpoints.ts";
import { eventually, rejection, startNode } from "../helpers/net.ts";
import { RemoteError } from "../../src/errors.ts";

export { eventually, sleep, stopAll, startNode, LOOPBACK } from "../helpers/net.ts";

/** Start `n` nodes named n0..n(n-1) in swarm "conv" and connect every one to every other. */
export async function swarm(n: number, options: NodeOptions = {}): Promise<Node[]> {
  const nodes: Node[] = [];
  for (let i = 0; i < n; i++) nodes.push(await startNode({ name: `n${i}`, swarm: "conv", heartbeatInterval: null, ...options }));
  await mesh(nodes);
  return nodes;
}

/** Connect nodes into a full mesh through `_synapse.join` on the first one. */
export async function mesh(nodes: Node[]): Promise<void> {
  const seed = `127.0.0.1:${nodes[0]!.port}`;
  for (const node of nodes.slice(1)) await node.join({ seeds: [seed] });
  for (const node of nodes.slice(1)) await node.join({ seeds: [seed] }); // learn the later joiners too
  await eventually(() => nodes.every((node) => node.peers.size === nodes.length - 1), 5000, "full mesh");
}

/** Wrap a node's endpoint handler to count its calls. */
export function countCalls(node: Node, endpoint: string): { count: number } {
  const counter = { count: 0 };
  const existing = node.endpoints.get(endpoint);
  if (!existing) throw new Error(`no endpoint ${endpoint}`);
  const original = existing.handler;
  existing.handler = (...args: unknown[]) => {
    counter.count++;
    return original(...args);
  };
  return counter;
}

/** Wait until every node's background conversation work is done. */
export async function settle(nodes: Node[]): Promise<void> {
  for (let round = 0; round < 3; round++) await Promise.all(nodes.map((n) => n.conversationLayer.flush()));
}

/** The RemoteError `call` rejects with (fails the test when it resolves or fails otherwise). */
export function remoteError(call: Promise<unknown>): Promise<RemoteError> {
  return rejection(call, RemoteError);
}

/** Wait until `check` resolves true (polling every 10 ms), or fail after `ms`. */
export async function until(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met after ${ms} ms: ${what}`);
    await Bun.sleep(10);
  }
}

/** Make a node answer its hello without the feature `key` (`reply_ref`, `item_bytes`...), as a Bun node before it. */
export function withoutHelloFeature(node: Node, key: string): void {
  const hello = node.endpoints.get("_synapse.hello")!;
  const answer = hello.handler;
  hello.handler = async (...args: unknown[]) => {
    const { [key]: _dropped, ...rest } = (await answer(...args)) as Record<string, unknown>;
    return rest;
  };
}

/** Every node but the first replies to `q`; the first broadcasts it; resolves with its nonce once every node has every reply and settled. */
export async function broadcastWithReplies(nodes: Node[]): Promise<string> {
  for (const node of nodes.slice(1)) node.endpoint("q", (ctx: CallContext) => void node.reply(ctx.broadcast!, { from: node.name }));
  const b = await nodes[0]!.broadcast("q");
  await until(async () => (await Promise.all(nodes.map(async (n) => (await n.replies(b)).length))).every((c) => c === nodes.length - 1), 10_000, "every reply everywhere");
  await settle(nodes);
  return b.nonce;
}
