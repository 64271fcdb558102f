/**
 * A stricter fake Python node for the interop audit, on top of {@link PythonLikeServer} (one
 * request per connection, then close): its built-ins bind arguments the way a Python function
 * does (an unexpected keyword, a missing or doubled argument is a TypeError, answered
 * internal_error), and rebuild every Peer strictly (an unknown key is
 * "Peer.__init__() got an unexpected keyword argument ..."; a missing id/address/port fails too),
 * as PROTOCOL.md says a Python node does. Everything it is sent is in `server.log`, raw bytes
 * included.
 *
 * @module
 */
import { createHash, randomBytes } from "node:crypto";
import { connect } from "node:net";
import { PythonBadRequest, PythonLikeServer, type PythonHandler } from "../helpers/python-like-server.ts";
import { LOOPBACK, track } from "../helpers/net.ts";
import { encode } from "../../src/wire/codec.ts";
import type { ConversationEvent, Peer } from "../../src/types.ts";
import { readStrict, type StrictRead } from "./python-strict.ts";

/** One parameter of a Python function: a name, and a default when it is optional. */
export interface PyParam {
  name: string;
  default?: unknown;
}

/** A Python TypeError (answered by the fake node as internal_error with this text). */
export class PyTypeError extends Error {}

/**
 * Bind `args` and `kwargs` to `params` exactly as a Python call `fn(*args, **kwargs)` binds them
 * (no `*args`/`**kwargs` catch-alls). Returns the values by parameter name.
 *
 * @throws {PyTypeError} with Python's wording.
 */
export function bindPython(fn: string, params: PyParam[], args: unknown[], kwargs: Record<string, unknown>): Record<string, unknown> {
  if (args.length > params.length) {
    throw new PyTypeError(`${fn}() takes ${params.length} positional argument${params.length === 1 ? "" : "s"} but ${args.length} were given`);
  }
  const out: Record<string, unknown> = {};
  params.forEach((p, i) => {
    if (i < args.length) out[p.name] = args[i];
  });
  for (const [key, value] of Object.entries(kwargs)) {
    const at = params.findIndex((p) => p.name === key);
    if (at < 0) throw new PyTypeError(`${fn}() got an unexpected keyword argument '${key}'`);
    if (key in out) throw new PyTypeError(`${fn}() got multiple values for argument '${key}'`);
    out[key] = value;
  }
  const missing = params.filter((p) => !(p.name in out) && !("default" in p)).map((p) => `'${p.name}'`);
  if (missing.length > 0) {
    throw new PyTypeError(`${fn}() missing ${missing.length} required positional argument${missing.length === 1 ? "" : "s"}: ${missing.join(" and ")}`);
  }
  for (const p of params) if (!(p.name in out)) out[p.name] = p.default;
  return out;
}

const PEER_FIELDS: PyParam[] = [
  { name: "id" },
  { name: "address" },
  { name: "port" },
  { name: "swarm", default: null },
  { name: "team", default: "default" },
  { name: "name", default: "" },
  { name: "kind", default: "node" },
  { name: "capabilities", default: [] },
  { name: "last_seen", default: 0 },
];

/** `Peer(**record)`: a strict rebuild, as the Python side does it. */
export function pyPeer(record: unknown): Peer {
  if (typeof record !== "object" || record === null || Array.isArray(record)) {
    throw new PyTypeError(`argument after ** must be a mapping, not ${Array.isArray(record) ? "list" : typeof record}`);
  }
  return bindPython("Peer.__init__", PEER_FIELDS, [], record as Record<string, unknown>) as unknown as Peer;
}

/** `ConversationEvent.from_dict(record)`: extra top-level keys ignored, the Peer rebuilt strictly. */
export function pyEvent(record: unknown): ConversationEvent {
  if (typeof record !== "object" || record === null || Array.isArray(record)) throw new PyTypeError("event must be a dict");
  const r = record as Record<string, unknown>;
  for (const key of ["conversation_id", "event_id", "kind", "peer", "created_at"]) {
    if (!(key in r)) throw new PyTypeError(`KeyError: '${key}'`);
  }
  return {
    conversation_id: r.conversation_id as string,
    event_id: r.event_id as string,
    kind: r.kind as string,
    peer: pyPeer(r.peer),
    payload: (r.payload ?? {}) as Record<string, unknown>,
    parent_id: (r.parent_id ?? null) as string | null,
    created_at: r.created_at as number,
    metadata: (r.metadata ?? {}) as Record<string, unknown>,
  };
}

/** Options of a {@link PythonNode}. */
export interface PythonNodeOptions {
  name?: string;
  swarm?: string | null;
  team?: string | null;
  capabilities?: string[];
}

/** A Python-style node: strict built-ins over a one-request-per-connection server. */
export class PythonNode {
  readonly server = new PythonLikeServer();
  readonly id = randomBytes(32).toString("hex");
  readonly name: string;
  readonly swarm: string | null;
  readonly team: string | null;
  readonly capabilities: string[];
  /** Known peers by id, as this node rebuilt them. */
  readonly peers = new Map<string, Peer>();
  /** Events stored, by event id. */
  readonly events = new Map<string, ConversationEvent>();
  /** Replies received: `${nonce} ${peer id}` -> result. */
  readonly replies = new Map<string, unknown>();

  constructor(options: PythonNodeOptions = {}) {
    this.name = options.name ?? "python";
    this.swarm = options.swarm === undefined ? null : options.swarm;
    this.team = options.team === undefined ? "default" : options.team;
    this.capabilities = options.capabilities ?? ["python"];
  }

  get port(): number {
    return this.server.port;
  }

  /** This node as a Peer record (keys in wire order). */
  self(): Peer {
    return {
      id: this.id,
      address: LOOPBACK,
      port: this.port,
      swarm: this.swarm,
      team: this.team,
      name: this.name,
      kind: "node",
      capabilities: [...this.capabilities],
      last_seen: Date.now() / 1000,
    };
  }

  /** `_synapse.info`. */
  info(): Record<string, unknown> {
    return { id: this.id, name: this.name, kind: "node", address: LOOPBACK, port: this.port, swarm: this.swarm, team: this.team, role: null, description: null, capabilities: [...this.capabilities] };
  }

  /** Add a Python-style endpoint whose parameters bind like a Python function's. */
  endpoint(name: string, params: PyParam[], fn: (bound: Record<string, unknown>) => unknown): this {
    const handler: PythonHandler = (args, kwargs) => fn(bindPython(name, params, args, kwargs));
    this.server.endpoint(name, handler);
    return this;
  }

  private admit(peer: Peer): void {
    if (this.swarm !== null && peer.swarm !== this.swarm) throw new PythonBadRequest("peer requested a different swarm");
    if (this.team !== null && peer.team !== this.team) throw new PythonBadRequest("peer requested a different team");
    if (peer.id !== this.id) this.peers.set(peer.id, { ...peer, last_seen: Date.now() / 1000 });
  }

  /** Listen on 127.0.0.1 with the built-ins. */
  start(): this {
    this.endpoint("_synapse.ping", [], () => "pong");
    this.endpoint("_synapse.info", [], () => this.info());
    this.endpoint("_synapse.peers", [], () => [...this.peers.values()]);
    this.endpoint("_synapse.join", [{ name: "peer" }], ({ peer }) => {
      this.admit(pyPeer(peer));
      // As the Python vector shows, the answer lists every known peer, the joiner included.
      return { accepted: true, self: this.self(), peers: [...this.peers.values()] };
    });
    this.endpoint("_synapse.heartbeat", [{ name: "peer" }], ({ peer }) => {
      this.admit(pyPeer(peer));
      return { ok: true, self: this.info() };
    });
    this.endpoint("_synapse.broadcast.reply", [{ name: "nonce" }, { name: "peer" }, { name: "result", default: null }], ({ nonce, peer, result }) => {
      const p = pyPeer(peer);
      this.replies.set(`${String(nonce)} ${p.id}`, result);
      return { ok: true };
    });
    this.endpoint("_synapse.conversation.event", [{ name: "event" }], ({ event }) => {
      const e = pyEvent(event);
      const stored = !this.events.has(e.event_id);
      this.events.set(e.event_id, e);
      return { ok: true, stored };
    });
    this.endpoint("_synapse.conversation.list", [], () => [...new Set([...this.events.values()].map((e) => e.conversation_id))]);
    this.endpoint("_synapse.conversation.sync", [{ name: "conversation_id" }, { name: "since", default: 0 }], ({ conversation_id, since }) => ({
      events: [...this.events.values()].filter((e) => e.conversation_id === conversation_id && e.created_at > (since as number)),
    }));
    this.server.start();
    return track(this);
  }

  stop(): void {
    this.server.stop();
  }
}

/** A 64-char lowercase hex request id, as a Python client makes it. */
export function pythonRequestId(): string {
  return createHash("sha256").update(randomBytes(16)).digest("hex");
}

/** What one Python-style call got back. */
export interface PyCallResult {
  /** The response payload read strictly. */
  response: StrictRead;
  /** The request id sent. */
  id: string;
  /** Frames the server wrote after the first (a Python client never reads them). */
  extraBytes: number;
}

/**
 * Call `endpoint` on `127.0.0.1:port` exactly as a Python client does: a fresh connection, one
 * request with the five keys in Python's order and a 64-hex id, read one response, close. The
 * response comes back as raw bytes read by {@link readStrict}.
 */
export function pyCall(port: number, endpoint: string, args: unknown[] = [], kwargs: Record<string, unknown> = {}, ms = 5000): Promise<PyCallResult> {
  const id = pythonRequestId();
  const payload = encode({ endpoint, id, args, kwargs, type: "request" });
  return pyCallRaw(port, payload, ms).then(({ response, extraBytes }) => ({ response, id, extraBytes }));
}

/** Send one framed payload on a fresh connection and read one response frame, strictly. */
export function pyCallRaw(port: number, payload: Uint8Array, ms = 5000): Promise<{ response: StrictRead; extraBytes: number }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: LOOPBACK, port });
    let buffer = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no response to a Python-style call within ${ms} ms`));
    }, ms);
    socket.on("connect", () => {
      const header = Buffer.alloc(4);
      header.writeUInt32BE(payload.length);
      socket.write(Buffer.concat([header, payload]));
    });
    socket.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (buffer.length < 4) return;
      const size = buffer.readUInt32BE(0);
      if (buffer.length < 4 + size) return;
      clearTimeout(timer);
      socket.destroy(); // a Python client closes at once
      resolve({ response: readStrict(buffer.subarray(4, 4 + size)), extraBytes: buffer.length - 4 - size });
    });
    socket.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on("close", () => {
      clearTimeout(timer);
      reject(new Error("closed before a whole response"));
    });
  });
}
