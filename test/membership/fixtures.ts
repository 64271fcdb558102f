/**
 * Shared pieces of the membership tests: loopback nodes that are always stopped, polling with a
 * deadline, and capturing the package's log lines.
 */
import { Node, type NodeOptions } from "../../src/node.ts";
import { disableLogging, enableLogging, type LogLevel } from "../../src/log.ts";

const running = new Set<Node>();

/** Start a node on 127.0.0.1 (ephemeral port) with quick liveness settings; {@link stopAll} stops it. */
export async function startNode(options: NodeOptions = {}): Promise<Node> {
  const node = new Node({ bind: "127.0.0.1", heartbeatInterval: 0.2, peerTimeout: 1.5, ...options });
  running.add(node);
  await node.start();
  return node;
}

/** Stop every node started through {@link startNode}. */
export async function stopAll(): Promise<void> {
  const nodes = [...running];
  running.clear();
  await Promise.all(nodes.map((n) => n.stop()));
}

/** Poll `predicate` every 20 ms until it holds; throws after `timeoutMs` with `what`. */
export async function until(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(20);
  }
}

/** Names of a node's known peers, sorted. */
export function peerNames(node: Node): string[] {
  return [...node.peers.values()].map((p) => p.name).sort();
}

/** Capture log lines of `level` and above while `fn` runs. */
export async function captureLogs<T>(level: LogLevel, fn: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
  const lines: string[] = [];
  enableLogging(level, (lvl, scope, message) => lines.push(`${lvl} ${scope} ${message}`));
  try {
    return { result: await fn(), lines };
  } finally {
    disableLogging();
  }
}

/** Record the payloads of one event of a node. */
export function record<T>(subscribe: (fn: (payload: T) => void) => unknown): T[] {
  const seen: T[] = [];
  subscribe((payload) => seen.push(payload));
  return seen;
}
