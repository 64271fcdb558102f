/**
 * Artifacts: named documents a node publishes to the swarm (agent cards, schemas, reports), served
 * by `_synapse.artifacts` and `_synapse.artifact.get`. `size` and `sha256` are computed over the
 * canonical bytes exactly as a Python node computes them, so the same content gives the same digest
 * on either side.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { ConfigError, EndpointError, ErrorCode } from "../errors.ts";
import { canonicalJsonBytes } from "./canonical-json.ts";
import type { Capability, NodeInfo } from "../types.ts";
import { isMap } from "../util/guards.ts";
import { SIG_KEY, SIGNER_KEY, artifactBytes, verifySignature, type SignedRecords } from "../security/records.ts";

/** How an artifact's content travels: a structure, a string, or base64 of raw bytes. */
export type ArtifactEncoding = "json" | "text" | "base64";

/** Options of `node.artifact(name, content, options)`. */
export interface ArtifactOptions {
  /** MIME type (default by encoding: `application/json`, `text/plain`, `application/octet-stream`). */
  mimeType?: string;
  /** Free-form kind (default `"metadata"`, also what agent cards use). */
  kind?: string;
  description?: string;
  /** Default: `base64` for bytes, `text` for a string, `json` for anything else. */
  encoding?: ArtifactEncoding;
  metadata?: Record<string, unknown>;
}

/** What `_synapse.artifacts` lists (keys in the wire's order). */
export interface ArtifactDescriptor {
  name: string;
  mime_type: string;
  kind: string;
  description: string;
  encoding: ArtifactEncoding;
  /** Byte length of the canonical bytes. */
  size: number;
  /** Hex SHA-256 of the canonical bytes. */
  sha256: string;
  metadata: Record<string, unknown>;
}

/**
 * What `_synapse.artifact.get` returns: the descriptor plus `content` (on the wire right after
 * `mime_type`: the object is built in that order).
 */
export type ArtifactDocument = ArtifactDescriptor & { content: unknown };

const DEFAULT_MIME: Record<ArtifactEncoding, string> = {
  json: "application/json",
  text: "text/plain",
  base64: "application/octet-stream",
};

function asBytes(content: unknown): Uint8Array | null {
  if (content instanceof Uint8Array) return content;
  if (content instanceof ArrayBuffer) return new Uint8Array(content);
  return null;
}

/**
 * The canonical bytes of `content` under `encoding`: raw bytes, UTF-8 text, or canonical JSON.
 *
 * @throws {ConfigError} when the content does not fit the encoding.
 */
export function canonicalBytes(content: unknown, encoding: ArtifactEncoding): Uint8Array {
  if (encoding === "base64") {
    const bytes = asBytes(content);
    if (!bytes) throw new ConfigError("an artifact with encoding base64 needs bytes (Uint8Array) as content");
    return bytes;
  }
  if (encoding === "text") {
    if (typeof content !== "string") throw new ConfigError("an artifact with encoding text needs a string as content");
    return new TextEncoder().encode(content);
  }
  return canonicalJsonBytes(content);
}

/** The encoding chosen for `content` when none is given. */
export function defaultEncoding(content: unknown): ArtifactEncoding {
  if (asBytes(content)) return "base64";
  if (typeof content === "string") return "text";
  return "json";
}

interface Stored {
  descriptor: ArtifactDescriptor;
  content: unknown;
}

/** The artifacts of one node. */
export class ArtifactStore {
  private readonly items = new Map<string, Stored>();

  /**
   * @param records signs every artifact published here (`metadata._sig` and `_signer`, see
   * {@link checkArtifact}); without it (or when it does not sign) artifacts go out unsigned.
   */
  constructor(private readonly records: SignedRecords | null = null) {}

  /**
   * Publish (or replace) an artifact. Content is copied for JSON (later changes to the object do
   * not change the artifact) and bytes.
   *
   * @throws {ConfigError} for an empty name or content that does not fit the encoding.
   */
  set(name: string, content: unknown, options: ArtifactOptions = {}): ArtifactDescriptor {
    if (typeof name !== "string" || name.length === 0) throw new ConfigError("an artifact needs a non-empty name");
    const encoding = options.encoding ?? defaultEncoding(content);
    if (encoding !== "json" && encoding !== "text" && encoding !== "base64") throw new ConfigError(`unknown artifact encoding: ${String(encoding)}`);
    const bytes = canonicalBytes(content, encoding);
    const descriptor: ArtifactDescriptor = {
      name,
      mime_type: options.mimeType ?? DEFAULT_MIME[encoding],
      kind: options.kind ?? "metadata",
      description: options.description ?? "",
      encoding,
      size: bytes.byteLength,
      sha256: createHash("sha256").update(bytes).digest("hex"),
      metadata: { ...(options.metadata ?? {}) },
    };
    if (this.records) descriptor.metadata = this.records.signArtifact(descriptor);
    let served: unknown;
    if (encoding === "base64") served = Buffer.from(bytes).toString("base64");
    else if (encoding === "text") served = content;
    else served = structuredClone(content); // detached: later changes to the caller's object do not leak in
    this.items.set(name, { descriptor, content: served });
    return { ...descriptor };
  }

  /** Remove an artifact; true when it existed. */
  delete(name: string): boolean {
    return this.items.delete(name);
  }

  /** Every descriptor, in publication order. */
  list(): ArtifactDescriptor[] {
    return [...this.items.values()].map((s) => ({ ...s.descriptor }));
  }

  /**
   * One artifact with its content (base64 text for bytes).
   *
   * @throws {EndpointError} `bad_request` "unknown artifact: NAME".
   */
  get(name: string): ArtifactDocument {
    const stored = this.items.get(name);
    if (!stored) throw new EndpointError(ErrorCode.BadRequest, `unknown artifact: ${name}`);
    const d = stored.descriptor;
    return {
      name: d.name,
      mime_type: d.mime_type,
      content: stored.content,
      kind: d.kind,
      description: d.description,
      encoding: d.encoding,
      size: d.size,
      sha256: d.sha256,
      metadata: { ...d.metadata },
    };
  }
}

/** What {@link agentCard} reads from a node. */
export interface AgentCardSource {
  info(): NodeInfo;
  capabilityList(): Capability[];
  endpoints: { list(): Array<{ name: string; description: string; publish: boolean }> };
}

/** The MIME type of an agent card artifact, the one a Python planner looks for. */
export const AGENT_CARD_MIME_TYPE = "application/vnd.synapse.agent-card+json";

/**
 * An agent card as the Python package's examples publish it (`name`, `role`, `capabilities` as a
 * list of names, `description`: a Python planner tests `"python" in card["capabilities"]`), then
 * the detail only this package adds, under keys of their own.
 */
export interface AgentCard extends Record<string, unknown> {
  name: string;
  role: string;
  /** Capability names. */
  capabilities: string[];
  description: string;
  id: string;
  swarm: string | null;
  team: string | null;
  /** Each capability with its description and schemas (`{}` when unset, as `_node.capabilities`). */
  capability_details: Array<{ name: string; description: string; input_schema: unknown; output_schema: unknown }>;
  /** The published endpoints. */
  endpoints: Array<{ name: string; description: string }>;
}

/**
 * The agent card of a node, in the Python examples' shape (see {@link AgentCard}); `extra` keys are
 * added after the node's own. Publish it with `node.publishAgentCard()` (MIME type
 * {@link AGENT_CARD_MIME_TYPE}, kind `metadata`), which is where a Python planner looks.
 */
export function agentCard(node: AgentCardSource, extra: Record<string, unknown> = {}): AgentCard {
  const info = node.info();
  const capabilities = node.capabilityList();
  return {
    name: info.name,
    role: info.role ?? "",
    capabilities: capabilities.map((c) => c.name),
    description: info.description ?? "",
    id: info.id,
    swarm: info.swarm,
    team: info.team,
    capability_details: capabilities.map((c) => ({
      name: c.name,
      description: c.description ?? "",
      input_schema: c.inputSchema ?? {},
      output_schema: c.outputSchema ?? {},
    })),
    endpoints: node.endpoints
      .list()
      .filter((e) => e.publish)
      .map((e) => ({ name: e.name, description: e.description })),
    ...extra,
  };
}

/** What a reader learns of a fetched artifact's signature ({@link checkArtifact}). */
export type ArtifactSignature =
  | { status: "signed"; signer: string }
  | { status: "unsigned"; signer: null }
  | { status: "tampered"; signer: string | null; reason: string };

function contentBytes(doc: Record<string, unknown>): Uint8Array | null {
  try {
    if (doc.encoding === "base64") return typeof doc.content === "string" ? new Uint8Array(Buffer.from(doc.content, "base64")) : null;
    return canonicalBytes(doc.content, doc.encoding === "text" ? "text" : "json");
  } catch {
    return null;
  }
}

/**
 * Check an artifact as `_synapse.artifact.get` returned it (descriptor and content). A signed one
 * (`metadata._sig`, `metadata._signer`: a Bun node's) must have content matching its `size` and
 * `sha256`, a signature of its signer over the descriptor, that signer be `expectedSigner` when
 * given (the node it was fetched from), and, for an agent card, the card's `id` be the signer's.
 * An unsigned one (a Python node's) is reported as such: its digest is not checked, since a whole
 * Python float is written `1.0` in its JSON and cannot be rebuilt here.
 */
export function checkArtifact(doc: unknown, expectedSigner?: string): ArtifactSignature {
  if (!isMap(doc) || !isMap(doc.metadata)) return { status: "tampered", signer: null, reason: "not an artifact document" };
  const sig = doc.metadata[SIG_KEY];
  const signer = doc.metadata[SIGNER_KEY];
  if (sig === undefined && signer === undefined) return { status: "unsigned", signer: null };
  const tampered = (reason: string): ArtifactSignature => ({ status: "tampered", signer: typeof signer === "string" ? signer : null, reason });
  if (typeof signer !== "string") return tampered("a signature without a signer");
  if (expectedSigner !== undefined && signer !== expectedSigner) return tampered(`signed by ${signer.slice(0, 8)}, not by ${expectedSigner.slice(0, 8)}`);
  const bytes = contentBytes(doc);
  if (!bytes || bytes.byteLength !== doc.size || createHash("sha256").update(bytes).digest("hex") !== doc.sha256) return tampered("the content does not match its sha256");
  if (doc.mime_type === AGENT_CARD_MIME_TYPE && isMap(doc.content) && doc.content.id !== signer) return tampered("the card names another node than its signer");
  const fields = { name: String(doc.name), mime_type: String(doc.mime_type), kind: String(doc.kind), description: String(doc.description), encoding: String(doc.encoding), size: doc.size as number, sha256: String(doc.sha256), metadata: doc.metadata };
  if (!verifySignature(signer, artifactBytes(signer, fields), sig)) return tampered("the signature does not verify");
  return { status: "signed", signer };
}
