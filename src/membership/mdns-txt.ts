/**
 * The mDNS advertisement's pure parts, shared with the Python implementation (PROTOCOL.md): the
 * instance name, the TXT strings a node writes, and reading them back into a {@link Peer}.
 *
 * Every TXT string stays within 255 bytes (a longer one makes the service silently
 * undiscoverable): long values are shortened and a long capability list is split over
 * `capabilities`, `capabilities.1`, ... (Python reads the first).
 *
 * @module
 */
import { hostname } from "node:os";
import { isLoopback } from "../util/guards.ts";
import { createLogger } from "../log.ts";
import type { NodeKind, Peer } from "../types.ts";
import { isPort } from "../util/guards.ts";

const log = createLogger("mdns");

/**
 * Extensions this implementation advertises in the `ext` TXT key: `mux` (multiplexed connections)
 * and `leave` (it answers `_synapse.leave`, so a stopping Bun peer may tell it so).
 */
export const MDNS_EXTENSIONS = ["mux", "leave"] as const;
/**
 * The `ext` flag of a closed swarm's node: it speaks only the closed-swarm handshake, so a peer
 * without the swarm key need not dial it (docs/security.md).
 */
export const CLOSED_EXTENSION = "closed";

/** The longest TXT string (one length byte). */
const TXT_MAX = 255;
/** At most this many extra `capabilities.N` strings (keeps the packet near one Ethernet frame). */
const MAX_CAPABILITY_CHUNKS = 6;

/** A `key=value` TXT map. `null` for a key written without `=` (how Python writes None). */
export type TxtProperties = Record<string, string | null>;

/**
 * The name a node gets when none is given: `<hostname>-<first 6 chars of id>`. A Python node's
 * default name is `""`; {@link instanceName} treats this one as "unnamed" the way Python treats `""`.
 */
export function defaultNodeName(id: string): string {
  return `${hostname()}-${id.slice(0, 6)}`;
}

/**
 * The instance name, as the Python package's `_service_label` builds it: the node name (or, for an
 * unnamed node, the first 8 characters of the id) with every character that is not a letter or a
 * digit (Unicode ones included, as Python's `str.isalnum`) or `-` replaced by `-`, leading and
 * trailing `-` stripped (the id's 8 characters when nothing is left), then `-` and the first 8
 * characters of the id. Shortened to fit one DNS label (63 bytes).
 */
export function instanceName(name: string, id: string, closed = false): string {
  const id8 = id.slice(0, 8);
  if (closed) return `synapse-${id8}`; // a closed swarm's node does not tell its name
  const unnamed = !name || name === defaultNodeName(id);
  // Per character (code point, as Python iterates a str): an emoji is one "-", not two.
  const safe = (unnamed ? id8 : name).replace(/[^\p{L}\p{N}-]/gu, "-").replace(/^-+|-+$/g, "");
  return `${fitBytes(safe || id8, 63 - 9)}-${id8}`;
}

/** Cut `text` to at most `bytes` UTF-8 bytes, never inside a character. */
function fitBytes(text: string, bytes: number): string {
  if (Buffer.byteLength(text) <= bytes) return text;
  let out = "";
  let used = 0;
  for (const ch of text) {
    const size = Buffer.byteLength(ch);
    if (used + size > bytes) break;
    out += ch;
    used += size;
  }
  return out;
}

/** What the TXT record says about a node. */
export interface TxtFields {
  id: string;
  name: string;
  kind: NodeKind;
  swarm: string | null;
  team: string | null;
  host: string;
  capabilities: string[];
  extensions?: readonly string[];
  /**
   * A closed swarm's node: only what discovery needs is written (`id`, `kind`, `swarm`, `team`,
   * `host`, and `closed` in `ext`); no name, no capabilities. Members learn those over the
   * encrypted connection.
   */
  closed?: boolean;
}

/**
 * The TXT strings of a node: `id`, `name`, `kind`, `swarm`, `team`, `host`, `capabilities`
 * (comma-joined, split over `capabilities.1`, ... when longer than one string), and `ext`. A nil
 * swarm or team is written as a bare key. Every string is at most 255 bytes.
 */
export function buildTxt(fields: TxtFields): string[] {
  const entry = (key: string, value: string | null) => (value === null ? key : `${key}=${fitBytes(value, TXT_MAX - key.length - 1)}`);
  if (fields.closed) {
    const ext = [...(fields.extensions ?? []), CLOSED_EXTENSION].join(",");
    return [entry("id", fields.id), entry("kind", fields.kind), entry("swarm", fields.swarm), entry("team", fields.team), entry("host", fields.host), `ext=${ext}`];
  }
  const out = [
    entry("id", fields.id),
    entry("name", fields.name),
    entry("kind", fields.kind),
    entry("swarm", fields.swarm),
    entry("team", fields.team),
    entry("host", fields.host),
  ];
  const chunks: string[] = [];
  let current = "";
  let dropped = 0;
  for (const cap of fields.capabilities) {
    const key = chunks.length === 0 ? "capabilities" : `capabilities.${chunks.length}`;
    const room = TXT_MAX - key.length - 1;
    if (cap.includes(",") || Buffer.byteLength(cap) > TXT_MAX - "capabilities.N=".length) {
      dropped++;
      continue;
    }
    const next = current === "" ? cap : `${current},${cap}`;
    if (Buffer.byteLength(next) <= room) {
      current = next;
      continue;
    }
    if (chunks.length >= MAX_CAPABILITY_CHUNKS) {
      dropped++;
      continue;
    }
    chunks.push(current);
    current = cap;
  }
  chunks.push(current);
  chunks.forEach((chunk, i) => out.push(`${i === 0 ? "capabilities" : `capabilities.${i}`}=${chunk}`));
  if (dropped > 0) log.debug(`${dropped} capability name(s) left out of the mDNS TXT record (too long or too many)`);
  if (fields.extensions && fields.extensions.length > 0) out.push(`ext=${fields.extensions.join(",")}`);
  return out;
}

/** Read TXT strings (Buffers or strings) into a map; keys are lower-cased. */
export function parseTxt(data: unknown): TxtProperties {
  const out: TxtProperties = {};
  const items = Array.isArray(data) ? data : [data];
  for (const item of items) {
    const text = typeof item === "string" ? item : item instanceof Uint8Array ? Buffer.from(item).toString("utf8") : null;
    if (!text) continue;
    const at = text.indexOf("=");
    const key = (at < 0 ? text : text.slice(0, at)).toLowerCase();
    if (!key || key in out) continue;
    out[key] = at < 0 ? null : text.slice(at + 1);
  }
  return out;
}

/** The capability names of a TXT map (`capabilities` plus any `capabilities.N`). */
export function txtCapabilities(txt: TxtProperties): string[] {
  const parts = [txt.capabilities ?? ""];
  for (let i = 1; `capabilities.${i}` in txt; i++) parts.push(txt[`capabilities.${i}`] ?? "");
  return parts
    .join(",")
    .split(",")
    .map((c) => c.trim())
    .filter((c) => c !== "");
}

/** Where and how an advertised instance was seen, besides its TXT. */
export interface TxtOrigin {
  /** The instance name (`<label>-<id8>._synapse._tcp.local`). */
  instance: string;
  /** The SRV record's port. */
  port: number;
  /** The A record of the SRV target, when one arrived. */
  address: string | undefined;
  /** The source address of the packet that mentioned the instance. */
  source: string;
  /** This machine's host name (a TXT `host` equal to it means: the peer runs here). */
  localHost: string;
  /** Unix seconds, the peer's `last_seen`. */
  now: number;
}

/** A peer read from an mDNS advertisement. */
export interface TxtPeer {
  peer: Peer;
  /** The peer runs on this host (dial it on loopback). */
  sameHost: boolean;
  /** Its `ext` TXT key, split. */
  extensions: string[];
}

/**
 * The peer an advertisement describes, or null without an `id` or a valid port. A missing `team`
 * key means `"default"`; an empty `swarm` or `team` means nil. A loopback A record from another
 * host is useless: the packet's source address is used instead.
 */
export function txtPeer(txt: TxtProperties, origin: TxtOrigin): TxtPeer | null {
  const id = txt.id;
  if (!id || !isPort(origin.port)) return null;
  const sameHost = txt.host !== undefined && txt.host !== null && txt.host === origin.localHost;
  let address = origin.address ?? origin.source;
  if (isLoopback(address) && !sameHost && !isLoopback(origin.source)) address = origin.source;
  const peer: Peer = {
    id,
    address,
    port: origin.port,
    swarm: txt.swarm || null,
    team: "team" in txt ? txt.team || null : "default",
    name: txt.name ?? origin.instance.split(".")[0]!,
    kind: txt.kind === "bootstrap" ? "bootstrap" : "node",
    capabilities: txtCapabilities(txt),
    last_seen: origin.now,
  };
  const extensions = (txt.ext ?? "").split(",").filter((x) => x !== "");
  return { peer, sameHost, extensions };
}
