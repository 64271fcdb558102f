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
