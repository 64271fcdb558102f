/**
 * Helpers of the signed-records tests: three meshed nodes (open or closed swarm) on an in-memory
 * network and an attacker's client, bounded waiting, and a Python-like peer record.
 *
 * @module
 */
import { expect } from "bun:test";
import { RemoteError } from "../../src/errors.ts";
import type { Client } from "../../src/rpc/client.ts";
import { secureTransport } from "../../src/security/secure-transport.ts";
import type { Node } from "../../src/node.ts";
import type { Peer } from "../../src/types.ts";
import { eventually, sleep } from "../helpers/net.ts";
import { clientOn, key, MemoryNetwork, nodeAt } from "./helpers.ts";

export const SWARM = "lab";

export interface Setup {
  /** The victim, the receiver, and a third node that would get anything the receiver relays. */
  a: Node;
  b: Node;
  d: Node;
  /** A caller of b that is none of them. */
  attacker: Client;
  closed: boolean;
  net: MemoryNetwork;
  /** The node options of the swarm (for more nodes of it). */
  options: { swarm: string; swarmKey?: Uint8Array };
}

/** Nodes a (10.0.0.1), b and d meshed through a, in an open or closed swarm; the attacker calls b from 10.0.0.9. */
export async function setup(closed: boolean): Promise<Setup> {
  const net = new MemoryNetwork();
  const options = closed ? { swarm: SWARM, swarmKey: key(1) } : { swarm: SWARM };
  const a = await nodeAt(net, "10.0.0.1", options);
  const b = await nodeAt(net, "10.0.0.2", options);
  const d = await nodeAt(net, "10.0.0.3", options);
  for (const n of [b, d, b, d]) await n.join({ seeds: ["10.0.0.1:9999"], wait: 0 });
  // And a calls them (as its heartbeats would): each node has had every other's signed claim.
  // (Twice: in an open swarm a first contact goes unsigned, before the peer's hello is known.)
  for (let i = 0; i < 2; i++) await a.join({ seeds: ["10.0.0.2:9999", "10.0.0.3:9999"], wait: 0 });
  await eventually(() => [a, b, d].every((n) => n.peers.size === 2), 5000, "full mesh");
  const transport = closed ? secureTransport(net.transport("10.0.0.9"), { keys: key(1), swarm: SWARM }) : net.transport("10.0.0.9");
  return { a, b, d, attacker: clientOn(transport, "10.0.0.2"), closed, net, options };
}

/** Everything node `n` stores, as "kind:event-id" strings. */
export async function stored(n: Node): Promise<string[]> {
  const out: string[] = [];
  for (const id of await n.conversations()) for (const e of await n.conversation(id)) out.push(`${e.kind}:${e.event_id}`);
  return out.sort();
}

/** Wait (bounded) until the async `check` holds. */
export async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await check()) return;
    await sleep(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The message `call` is refused with (it must be a `bad_request`). */
export async function refusal(call: Promise<unknown>): Promise<string> {
  const error = await call.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RemoteError);
  expect((error as RemoteError).code).toBe("bad_request");
  return (error as RemoteError).message;
}

/** A Python-like peer: of the swarm, never seen signing. */
export function pythonPeer(): Peer {
  return { id: "ab".repeat(32), address: "10.0.0.7", port: 9999, swarm: SWARM, team: "default", name: "py", kind: "node", capabilities: [], last_seen: 0 };
}
