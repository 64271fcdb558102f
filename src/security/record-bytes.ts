/**
 * The bytes each kind of signed record covers (docs/security.md#signed-records), and signatures as
 * they travel. A signature covers a domain-separated, deterministic encoding: a MessagePack array
 * whose first element is a label naming the record type and version (`"synapse-p2p event v1"`,
 * ...), then the record's fields in a fixed order, every map with its keys sorted
 * ({@link canonicalRecord}). It encodes the decoded values, not the bytes that travelled, so a
 * Python relay that re-encodes an event (1.0 for 1, another key order) does not break it.
 *
 * @module
 */
import { encodeOwn } from "../wire/codec.ts";
import type { ConversationEvent } from "../types.ts";
import { base64Of } from "../util/bytes.ts";

/** The metadata key of an event's or artifact's signature (base64 of 64 bytes). */
export const SIG_KEY = "_sig";
/** The metadata key naming an artifact's signer (its node id). */
export const SIGNER_KEY = "_signer";

/** Labels that make each signature mean one thing only. */
export const RecordLabel = {
  Event: "synapse-p2p event v1",
  Reply: "synapse-p2p reply v1",
  Claim: "synapse-p2p member claim v1",
  Artifact: "synapse-p2p artifact v1",
  GossipClaim: "synapse-p2p gossip claim v1",
} as const;

/**
 * What a member claims about itself: the membership record a heartbeat or join carries (or a SWIM
 * alive/join update). `incarnation` is the claim's version where the membership has one.
 */
export interface MemberClaim {
  id: string;
  address: string;
  port: number;
  swarm: string | null;
  team: string | null;
  incarnation?: number;
}

/**
 * What a member says about itself in gossip membership (a SWIM `alive` or `left` update): the
 * state is signed too, so that an `alive` signature cannot be replayed as a `left`, and `meta` (the
 * member's own record: name, swarm, team, capabilities) cannot be altered on the way.
 */
export interface GossipClaim {
  id: string;
  incarnation: number;
  state: string;
  address: string;
  port: number;
  meta?: unknown;
}

/**
 * `value` with every map's keys sorted and `undefined` as null (what the wire carries). A part
 * already in that form is kept, not copied: a record's fields usually are (a reply's result is
 * one small map), and copying them was most of the cost of a record's bytes. What it returns
 * encodes to the same bytes as a copy would, so signatures made either way agree.
 */
function sorted(value: unknown): unknown {
  if (value === undefined) return null;
  if (value === null || typeof value !== "object" || ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return value;
  if (Array.isArray(value)) {
    let out: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      const s = sorted(v);
      if (out === null && s !== v) out = value.slice(0, i);
      out?.push(s);
    }
    return out ?? value;
  }
  const map = value as Record<string, unknown>;
  const keys = Object.keys(map);
  const values = keys.map((key) => sorted(map[key])); // each part once (a nested one is walked once)
  const proto: unknown = Object.getPrototypeOf(map);
  // Kept as it is only when a copy would equal it: a plain map whose keys are in order, none of
  // them `__proto__` (which an assignment would not copy), and every value kept as it is.
  let keep = proto === Object.prototype || proto === null;
  for (let i = 0; keep && i < keys.length; i++) {
    const key = keys[i]!;
    keep = key !== "__proto__" && (i === 0 || keys[i - 1]! < key) && values[i] === map[key];
  }
  if (keep) return map;
  // The keys in the order `sort()` gives (by UTF-16 code units; no two are equal).
  const order = keys.map((_, i) => i).sort((a, b) => (keys[a]! < keys[b]! ? -1 : 1));
  const out: Record<string, unknown> = {};
  for (const i of order) out[keys[i]!] = values[i];
  return out;
}

/**
 * The bytes a signature covers: MessagePack of `[label, ...fields]`, maps sorted by key. Encoded by
 * the hot-path encoder into an array of their own (`encodeOwn`: the general codec's bytes exactly,
 * and the general codec for what the fast one declines), not through msgpackr for every record:
 * a node makes these bytes again for every signed reply and event it checks.
 */
export function canonicalRecord(label: string, fields: unknown[]): Uint8Array {
  return encodeOwn(sorted([label, ...fields]));
}

/** `metadata` without the signature keys (what an event's or artifact's signature covers). */
export function unsignedMetadata(metadata: Record<string, unknown>): Record<string, unknown> {
  if (!(SIG_KEY in metadata) && !(SIGNER_KEY in metadata)) return metadata;
  const { [SIG_KEY]: _sig, [SIGNER_KEY]: _signer, ...rest } = metadata;
  return rest;
}

/**
 * The bytes an event's signature covers (a `reply` event's is its reply's: {@link replyBytes}). A
 * broadcast's opening `message` (its id is its conversation's) is dated by each node from its nonce
 * (or now, for a nonce from the future), so its time is left out.
 */
export function eventBytes(event: ConversationEvent): Uint8Array {
  if (event.kind === "reply") return replyBytes(event.parent_id ?? event.conversation_id, event.peer.id, event.payload.result ?? null);
  const opening = event.kind === "message" && event.event_id === event.conversation_id;
  const p = event.peer;
  return canonicalRecord(RecordLabel.Event, [
    event.conversation_id,
    event.event_id,
    event.kind,
    [p.id, p.name, p.swarm, p.team],
    event.payload,
    event.parent_id,
    opening ? null : event.created_at,
    unsignedMetadata(event.metadata),
  ]);
}

/** The bytes a reply's signature covers: the broadcast, the replier, the result. */
export function replyBytes(nonce: string, peerId: string, result: unknown): Uint8Array {
  return encodeOwn(replyRecord(nonce, peerId, result));
}

/** What {@link replyBytes} encodes: `[label, nonce, replier id, result]`, its maps sorted (record-macs.ts digests it without the bytes). */
export function replyRecord(nonce: string, peerId: string, result: unknown): unknown {
  return sorted([RecordLabel.Reply, nonce, peerId, result ?? null]);
}

/** The bytes a membership claim's signature covers. */
export function claimBytes(claim: MemberClaim): Uint8Array {
  return canonicalRecord(RecordLabel.Claim, [claim.id, claim.address, claim.port, claim.swarm, claim.team, claim.incarnation ?? null]);
}

/** The bytes a gossip self-claim's signature covers. */
export function gossipClaimBytes(claim: GossipClaim): Uint8Array {
  return canonicalRecord(RecordLabel.GossipClaim, [claim.id, claim.incarnation, claim.state, claim.address, claim.port, claim.meta ?? null]);
}

/** The artifact descriptor fields a signature covers (content enters through `size` and `sha256`). */
export interface SignedArtifactFields {
  name: string;
  mime_type: string;
  kind: string;
  description: string;
  encoding: string;
  size: number;
  sha256: string;
  metadata: Record<string, unknown>;
}

/** The bytes an artifact's signature covers: its signer and its descriptor. */
export function artifactBytes(signer: string, d: SignedArtifactFields): Uint8Array {
  return canonicalRecord(RecordLabel.Artifact, [signer, d.name, d.mime_type, d.kind, d.description, d.encoding, d.size, d.sha256, unsignedMetadata(d.metadata)]);
}

/** A signature as it travels: bytes (a keyword argument) or base64 (metadata); null when neither. */
export function signatureBytes(sig: unknown): Uint8Array | null {
  if (sig instanceof Uint8Array) return sig.length === 64 ? sig : null;
  if (typeof sig === "string" && sig.length === 0) return null;
  if (typeof sig !== "string" || sig.length !== 88) return null;
  const bytes = Buffer.from(sig, "base64");
  return bytes.length === 64 ? new Uint8Array(bytes) : null;
}

/**
 * A signature as metadata keeps it (base64), from either form; undefined when there is none. A
 * malformed one stays present (as "") so that it fails verification rather than pass as unsigned.
 */
export function signatureText(sig: unknown): string | undefined {
  if (sig === undefined || sig === null) return undefined;
  const bytes = signatureBytes(sig);
  return bytes ? base64Of(bytes) : "";
}
