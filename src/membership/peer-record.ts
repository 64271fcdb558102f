/**
 * Peer records as they arrive off the wire: strict validation (a malformed record is answered with
 * `bad_request`, never a crash) and the swarm/team membership check with the Python wording.
 *
 * @module
 */
import { EndpointError } from "../errors.ts";
import type { NodeInfo, NodeKind, Peer } from "../types.ts";
import { isMap, isPort, typeName } from "../util/guards.ts";
import { nowSeconds } from "../util/time.ts";

/** The keys of a Peer record, in the order Python writes them. */
export const PEER_KEYS = ["id", "address", "port", "swarm", "team", "name", "kind", "capabilities", "last_seen"] as const;

const KNOWN = new Set<string>(PEER_KEYS);

/** Refusal text of a joining peer whose swarm differs (Python's wording). */
export const DIFFERENT_SWARM = "peer requested a different swarm";
/** Refusal text of a joining peer whose team differs (Python's wording). */
export const DIFFERENT_TEAM = "peer requested a different team";

function bad(message: string): EndpointError {
  return new EndpointError("bad_request", `invalid peer record: ${message}`);
}

function optionalString(record: Record<string, unknown>, key: string, fallback: string | null): string | null {
  if (!(key in record)) return fallback;
  const value = record[key];
  if (value === null || value === undefined) return null;
  if (typeof value !== "string") throw bad(`'${key}' must be a string or nil, got ${typeName(value)}`);
  return value;
}

/**
 * Validate a Peer record received from the network and return a clean copy with every key, in
 * wire order. Missing optional keys take Python's defaults (`swarm` nil, `team` "default", `name`
 * "", `kind` "node", `capabilities` [], `last_seen` now).
 *
 * @param now unix seconds used when `last_seen` is missing.
 * @throws {EndpointError} `bad_request` "invalid peer record: ..." for a non-map, an unknown key,
 * a missing `id`/`address`/`port`, or a wrongly typed value.
 */
export function parsePeer(value: unknown, now: number = nowSeconds()): Peer {
  if (!isMap(value)) throw bad(`expected a map, got ${typeName(value)}`);
  const extra = Object.keys(value).filter((k) => !KNOWN.has(k));
  if (extra.length > 0) throw bad(`unexpected key${extra.length > 1 ? "s" : ""} ${extra.map((k) => `'${k}'`).join(", ")}`);
  for (const key of ["id", "address", "port"] as const) {
    if (!(key in value) || value[key] === null || value[key] === undefined) throw bad(`missing '${key}'`);
  }
  const { id, address, port } = value;
  if (typeof id !== "string" || id.length === 0) throw bad(`'id' must be a non-empty string, got ${typeName(id)}`);
  if (typeof address !== "string") throw bad(`'address' must be a string, got ${typeName(address)}`);
  if (!isPort(port)) {
    throw bad(`'port' must be an integer from 1 to 65535, got ${typeof port === "number" ? port : typeName(port)}`);
  }
  const swarm = optionalString(value, "swarm", null);
  const team = optionalString(value, "team", "default");
  const name = optionalString(value, "name", "") ?? "";
  const kind = value.kind ?? "node";
  if (kind !== "node" && kind !== "bootstrap") {
    throw bad(`'kind' must be "node" or "bootstrap", got ${typeof kind === "string" ? JSON.stringify(kind) : typeName(kind)}`);
  }
  const caps = value.capabilities ?? [];
  if (!Array.isArray(caps) || caps.some((c) => typeof c !== "string")) {
    throw bad(`'capabilities' must be an array of strings`);
  }
  const seen = value.last_seen ?? now;
  if (typeof seen !== "number" || !Number.isFinite(seen)) throw bad(`'last_seen' must be a number, got ${typeName(seen)}`);
  return {
    id,
    address,
    port,
    swarm,
    team,
    name,
    kind: kind as NodeKind,
    capabilities: [...(caps as string[])],
    last_seen: seen,
  };
}

/** Which swarm and team a node belongs to; `null` accepts any. */
export interface MembershipScope {
  swarm: string | null;
  team: string | null;
}

/**
 * Why `peer` may not join a node of `scope`, or `null` when it may. A node whose swarm (team) is
 * null accepts any swarm (team); otherwise the peer's must be equal, and nil is refused.
 */
export function membershipRefusal(scope: MembershipScope, peer: Pick<Peer, "swarm" | "team">): string | null {
  if (scope.swarm !== null && peer.swarm !== scope.swarm) return DIFFERENT_SWARM;
  if (scope.team !== null && peer.team !== scope.team) return DIFFERENT_TEAM;
  return null;
}

/**
 * Throw the `bad_request` a Python node answers when `peer` is not of this node's swarm and team.
 *
 * @throws {EndpointError} `bad_request` "peer requested a different swarm" / "... different team".
 */
export function checkMembership(scope: MembershipScope, peer: Pick<Peer, "swarm" | "team">): void {
  const refusal = membershipRefusal(scope, peer);
  if (refusal) throw new EndpointError("bad_request", refusal);
}

/**
 * Read the `self` of a heartbeat answer (a node-info map) leniently: the fields that are present
 * and well typed, to refresh a known peer's record. Never throws.
 */
export function readInfo(value: unknown): Partial<NodeInfo> {
  if (!isMap(value)) return {};
  const out: Partial<NodeInfo> = {};
  if (typeof value.id === "string") out.id = value.id;
  if (typeof value.name === "string") out.name = value.name;
  if (value.kind === "node" || value.kind === "bootstrap") out.kind = value.kind;
  if (typeof value.address === "string") out.address = value.address;
  if (isPort(value.port)) out.port = value.port;
  if (value.swarm === null || typeof value.swarm === "string") out.swarm = value.swarm;
  if (value.team === null || typeof value.team === "string") out.team = value.team;
  if (Array.isArray(value.capabilities) && value.capabilities.every((c) => typeof c === "string")) {
    out.capabilities = [...(value.capabilities as string[])];
  }
  return out;
}
