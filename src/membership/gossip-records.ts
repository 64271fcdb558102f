/**
 * What gossip membership (`gossip.ts`) reads off members and errors: a member's Peer record and
 * meta, this node's meta as SWIM carries it, and whether a failed send was a refused connect (a
 * connect this process could not make is the transport's `outOfDescriptors`).
 *
 * @module
 */
import type { Peer } from "../types.ts";
import { isMap, systemCode } from "../util/guards.ts";
import { nowSeconds } from "../util/time.ts";
import { readPeer } from "../wire/peer.ts";
import { sharedList } from "./peer-table.ts";
import { membershipRefusal, type MembershipScope } from "./scope.ts";
import type { MemberUpdate } from "./swim-types.ts";

/** The compact record a member's alive update carries as `meta`. */
export type Meta = Pick<Peer, "swarm" | "team" | "name" | "kind" | "capabilities">;

/**
 * True when `error` (or one it was caused by, a few levels deep) is a refused connect: nothing
 * listens at the member's address, which SWIM takes as evidence (see `SwimPorts.isRefused`).
 */
export function refusedConnect(error: unknown): boolean {
  return systemCode(error) === "ECONNREFUSED";
}

/** This node's meta, as SWIM carries it. */
export const metaOf = (peer: Peer): Meta => ({ swarm: peer.swarm, team: peer.team, name: peer.name, kind: peer.kind, capabilities: peer.capabilities });

/** True when two metas say the same: each field, and the capabilities item by item. */
export function sameMeta(a: Meta, b: Meta): boolean {
  if (a.swarm !== b.swarm || a.team !== b.team || a.name !== b.name || a.kind !== b.kind) return false;
  const x = a.capabilities;
  const y = b.capabilities;
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** The meta fields of a member, type-checked (a malformed one is left out). */
export function pickMeta(meta: Record<string, unknown>): Partial<Meta> {
  const out: Partial<Meta> = {};
  if (typeof meta.name === "string") out.name = meta.name;
  if (Array.isArray(meta.capabilities) && meta.capabilities.every((c) => typeof c === "string")) out.capabilities = sharedList(meta.capabilities);
  return out;
}

const PEER_OF_MEMBER = { mode: "lenient", what: "member" } as const;

/** The Peer record of a member from its update (null when its meta does not make a valid one). */
export function peerOf(member: Readonly<MemberUpdate>): Peer | null {
  const meta = member.meta;
  if (!isMap(meta)) return null;
  try {
    // The fields the lenient read looks at, not a spread of the meta (an object copied per member learnt).
    return readPeer({ id: member.id, address: member.address, port: member.port, swarm: meta.swarm, team: meta.team, name: meta.name, kind: meta.kind, capabilities: meta.capabilities, last_seen: nowSeconds() }, PEER_OF_MEMBER);
  } catch {
    return null;
  }
}

/**
 * {@link peerOf} for a member of `scope`'s swarm and team only (null for another, as membership
 * refuses it): a first-hand claim from elsewhere must not enter SWIM's list, which would gossip
 * and probe it though the table never holds it.
 */
export function scopedPeerOf(member: Readonly<MemberUpdate>, scope: MembershipScope): Peer | null {
  const peer = peerOf(member);
  return peer && membershipRefusal(scope, peer) === null ? peer : null;
}
