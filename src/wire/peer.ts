/**
 * Reading the Peer and NodeInfo records that arrive off the wire (PROTOCOL.md "Peer").
 *
 * One reader, two modes, because two kinds of callers need different things:
 *
 * | | `"strict"` (membership endpoints, join answers, peer exchange) | `"lenient"` (conversation records: broadcast origin, reply peer, event author) |
 * |---|---|---|
 * | unknown keys | refused (Python's `Peer(**record)` would fail on them) | dropped |
 * | `id` | non-empty string | non-empty string of at most {@link MAX_ID_LENGTH} characters |
 * | `port` | 1..65535 | 0..65535 |
 * | a mistyped optional field | refused | replaced by its fallback |
 * | missing `team` | `"default"` (Python's default) | `null` |
 * | error text | `invalid peer record: <detail>` | `invalid <what>: <detail>` |
 *
 * Both return a fresh record with every key, in wire order; both refuse a non-map, a missing or
 * mistyped `id`, `address` or `port`, and a field over {@link PEER_FIELD_LIMITS}, with `bad_request`. The error texts are kept exactly as
 * they were, because peers and tests read them.
 *
 * The module sits in `wire/` because the Peer record is part of the wire contract that both
 * `membership/` and `conversation/` (siblings, neither may import the other) read.
 *
 * @module
 */
import { EndpointError, ErrorCode } from "../errors.ts";
import type { NodeInfo, NodeKind, Peer } from "../types.ts";
import { isMap, isPort, typeName } from "../util/guards.ts";
import { nowSeconds } from "../util/time.ts";

/** The keys of a Peer record, in the order Python writes them. */
export const PEER_KEYS = ["id", "address", "port", "swarm", "team", "name", "kind", "capabilities", "last_seen"] as const;

/** Longest accepted id or kind, in characters (ids are UUIDs or 64-char hex in practice). */
export const MAX_ID_LENGTH = 256;

/**
 * Size limits of a Peer record's fields, in both modes: a peer's record is kept in the peer table,
 * copied into every join answer and peer list, and stored with every event it authors, so a few
 * records with megabyte names must not cost a node gigabytes. Real records are far below these.
 */
export const PEER_FIELD_LIMITS = {
  /** Characters of `address`, `swarm`, `team` and `name`. */
  text: 256,
  /** Entries of `capabilities`. */
  capabilities: 256,
  /** Characters of one capability name. */
  capability: 256,
} as const;

const KNOWN = new Set<string>(PEER_KEYS);

/**
 * Lists of names frozen by {@link frozenNames}: known to never change, so read as they are. Asked
 * of a WeakSet rather than with `Object.isFrozen`, which costs about 80 ns in Bun 1.4.5 (a WeakSet
 * lookup 2 ns): a gossip member learnt asked it of its capabilities three times.
 */
const FROZEN_NAMES = new WeakSet<readonly string[]>();

/** Freeze `list` (a list of names: capabilities, extensions) and know it for frozen from now on ({@link isFrozenNames}). */
export function frozenNames(list: string[]): string[] {
  Object.freeze(list);
  FROZEN_NAMES.add(list);
  return list;
}

/** True for a list {@link frozenNames} froze. */
export function isFrozenNames(list: unknown): boolean {
  // A WeakSet answers false for a value that is not an object.
  return FROZEN_NAMES.has(list as readonly string[]);
}

/** How {@link readPeer} treats what is not a well-formed record; see the module's table. */
export type PeerReadMode = "strict" | "lenient";

/** Options of {@link readPeer}. */
export interface ReadPeerOptions {
  /** `"strict"` refuses anything a Python node would refuse; `"lenient"` keeps what it can. */
  mode: PeerReadMode;
  /** Unix seconds used when `last_seen` is missing (lenient: or mistyped). Default: now. */
  now?: number;
  /** Lenient mode only: what the record is, for the error text (`invalid <what>: ...`; default `"peer"`). */
  what?: string;
}

/** True for a list of at most the record's number of strings, each within a capability's limit. */
function isNameList(list: readonly unknown[]): boolean {
  if (list.length > PEER_FIELD_LIMITS.capabilities) return false;
  for (let i = 0; i < list.length; i++) {
    const c = list[i];
    if (typeof c !== "string" || c.length > PEER_FIELD_LIMITS.capability) return false;
  }
  return true;
}

/**
 * Read a Peer record received from the network and return a clean copy with every key, in wire
 * order (its `capabilities` a fresh list, or the given one when {@link frozenNames} froze it and it
 * is valid as it is). Missing optional keys take their defaults: `swarm` nil, `team` "default"
 * (strict) or nil (lenient), `name` "", `kind` "node", `capabilities` [], `last_seen` `options.now`.
 *
 * @example readPeer(args[0], { mode: "strict" }) // a `_synapse.join` argument
 * @example readPeer(broadcast.origin, { mode: "lenient", what: "broadcast origin" })
 * @throws {EndpointError} `bad_request`: strict "invalid peer record: ..." for a non-map, an
 * unknown key, a missing `id`/`address`/`port` or any wrongly typed value; lenient
 * "invalid <what>: ..." for a non-map or a bad `id`, `address` or `port`.
 */
export function readPeer(value: unknown, options: ReadPeerOptions): Peer {
  // No closures: every member a node learns by gossip is read here (a 1,000-node join is a million
  // reads), and a function that closes over the call's variables costs a scope object per call.
  const strict = options.mode === "strict";
  const what = options.what ?? "peer";
  if (!isMap(value)) throw peerError(strict, what, `expected a map, got ${typeName(value)}`, "not a map");
  if (strict) {
    const extra = Object.keys(value).filter((k) => !KNOWN.has(k));
    if (extra.length > 0) throw peerError(strict, what, `unexpected key${extra.length > 1 ? "s" : ""} ${extra.map((k) => `'${k}'`).join(", ")}`);
    for (const key of ["id", "address", "port"] as const) {
      if (value[key] === null || value[key] === undefined) throw peerError(strict, what, `missing '${key}'`);
    }
  }
  const { id, address, port } = value;
  if (typeof id !== "string" || id.length === 0 || (!strict && id.length > MAX_ID_LENGTH)) {
    throw peerError(strict, what, `'id' must be a non-empty string, got ${typeName(id)}`, "id must be a non-empty string");
  }
  if (typeof address !== "string") throw peerError(strict, what, `'address' must be a string, got ${typeName(address)}`, "address must be a string");
  if (strict && id.length > MAX_ID_LENGTH) throw peerError(strict, what, `'id' is longer than ${MAX_ID_LENGTH} characters`);
  checkLength(strict, what, "address", address, PEER_FIELD_LIMITS.text);
  checkLength(strict, what, "swarm", value.swarm, PEER_FIELD_LIMITS.text);
  checkLength(strict, what, "team", value.team, PEER_FIELD_LIMITS.text);
  checkLength(strict, what, "name", value.name, PEER_FIELD_LIMITS.text);
  if (!isPort(port, !strict)) {
    throw peerError(strict, what, `'port' must be an integer from 1 to 65535, got ${typeof port === "number" ? port : typeName(port)}`, "port must be an integer");
  }
  const swarm = textField(strict, what, value, "swarm", null);
  const team = textField(strict, what, value, "team", strict ? "default" : null);
  const name = textField(strict, what, value, "name", "") ?? "";

  const kind = value.kind ?? "node";
  if (strict && kind !== "node" && kind !== "bootstrap") {
    throw peerError(strict, what, `'kind' must be "node" or "bootstrap", got ${typeof kind === "string" ? JSON.stringify(kind) : typeName(kind)}`);
  }
  const caps = value.capabilities ?? [];
  // A fresh list of the strings (a mistyped entry left out, or refused when strict), in one pass;
  // or a list {@link frozenNames} froze, of strings within the limits, as it is (nobody can change
  // it: a gossip member's, which the peer table shares, read for every member learnt).
  let capabilities: string[] = [];
  if (isFrozenNames(caps) && isNameList(caps as readonly unknown[])) capabilities = caps as string[];
  else if (Array.isArray(caps)) {
    if (caps.length > PEER_FIELD_LIMITS.capabilities) {
      throw peerError(strict, what, `'capabilities' has more than ${PEER_FIELD_LIMITS.capabilities} entries`, `capabilities has more than ${PEER_FIELD_LIMITS.capabilities} entries`);
    }
    for (let i = 0; i < caps.length; i++) {
      const c: unknown = caps[i];
      checkLength(strict, what, "capability", c, PEER_FIELD_LIMITS.capability);
      if (typeof c === "string") capabilities.push(c);
    }
  }
  if (strict && (!Array.isArray(caps) || capabilities.length !== caps.length)) throw peerError(strict, what, `'capabilities' must be an array of strings`);
  const seen = value.last_seen;
  const seenOk = typeof seen === "number" && Number.isFinite(seen);
  if (strict && seen !== undefined && seen !== null && !seenOk) throw peerError(strict, what, `'last_seen' must be a number, got ${typeName(seen)}`);

  return {
    id,
    address,
    port,
    swarm,
    team,
    name,
    kind: (kind === "bootstrap" ? "bootstrap" : "node") satisfies NodeKind,
    capabilities,
    // The clock is read only when the record has no usable time of its own.
    last_seen: seenOk ? seen : (options.now ?? nowSeconds()),
  };
}

/** A refused record's error, in the mode's wording (the strict one says what it got). */
function peerError(strict: boolean, what: string, strictDetail: string, lenientDetail = strictDetail): EndpointError {
  return new EndpointError(ErrorCode.BadRequest, strict ? `invalid peer record: ${strictDetail}` : `invalid ${what}: ${lenientDetail}`);
}

/** Refuse a string field `key` longer than `limit` characters (a value of another type passes here). */
function checkLength(strict: boolean, what: string, key: string, v: unknown, limit: number): void {
  if (typeof v === "string" && v.length > limit) throw peerError(strict, what, `'${key}' is longer than ${limit} characters`, `${key} is longer than ${limit} characters`);
}

/** A text field (`swarm`, `team`, `name`): the string, else its fallback (lenient), else null, `absent` or a refusal (strict). */
function textField(strict: boolean, what: string, value: Record<string, unknown>, key: "swarm" | "team" | "name", absent: string | null): string | null {
  const v = value[key];
  if (typeof v === "string") return v;
  if (!strict) return key === "name" ? absent : null;
  if (!(key in value)) return absent;
  if (v === null || v === undefined) return null;
  throw peerError(strict, what, `'${key}' must be a string or nil, got ${typeName(v)}`);
}

/**
 * Read a NodeInfo map (the `self` of a heartbeat answer, or a `_synapse.info` answer) leniently:
 * only the fields that are present and well typed, to refresh a known peer's record. Never throws.
 */
export function readNodeInfo(value: unknown): Partial<NodeInfo> {
  if (!isMap(value)) return {};
  const out: Partial<NodeInfo> = {};
  // Fields over the size limits are left out, as mistyped ones are.
  const text = (v: unknown, limit = PEER_FIELD_LIMITS.text): v is string => typeof v === "string" && v.length <= limit;
  if (text(value.id, MAX_ID_LENGTH)) out.id = value.id;
  if (text(value.name)) out.name = value.name;
  if (value.kind === "node" || value.kind === "bootstrap") out.kind = value.kind;
  if (text(value.address)) out.address = value.address;
  if (isPort(value.port)) out.port = value.port;
  if (value.swarm === null || text(value.swarm)) out.swarm = value.swarm;
  if (value.team === null || text(value.team)) out.team = value.team;
  const caps = value.capabilities;
  if (Array.isArray(caps) && caps.length <= PEER_FIELD_LIMITS.capabilities && caps.every((c) => text(c, PEER_FIELD_LIMITS.capability))) {
    out.capabilities = [...(caps as string[])];
  }
  return out;
}
