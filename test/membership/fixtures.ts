/**
 * Shared pieces of the membership tests: loopback nodes with quick liveness settings (started and
 * stopped by test/helpers/net.ts, polling from there too), and capturing the package's log lines.
 */
import type { Node, NodeOptions } from "../../src/node.ts";
import { disableLogging, enableLogging, type LogLevel } from "../../src/log.ts";
import { startNode as startLoopbackNode } from "../helpers/net.ts";

export { eventually, stopAll } from "../helpers/net.ts";

/** The shared loopback node of test/helpers, with quick liveness settings (beats every 0.2 s, offline after 1.5 s). */
export function startNode(options: NodeOptions = {}): Promise<Node> {
  return startLoopbackNode({ heartbeatInterval: 0.2, peerTimeout: 1.5, ...options });
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
