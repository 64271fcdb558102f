/**
 * Endpoint registry and dispatch: turns a validated request into a response, binding positional
 * and keyword arguments the way a Python endpoint binds them.
 *
 * @module
 */
import { ConfigError, EndpointError, ErrorCode } from "../errors.ts";
import { errorResponse, okResponse, type Kwargs, type RequestMessage, type ResponseMessage } from "../wire/messages.ts";
import type { Broadcast } from "../types.ts";
import { parameterNames } from "./params.ts";
import { createLogger } from "../log.ts";
import { errorMessage, isMap } from "../util/guards.ts";
import type { RemoteAddress } from "../wire/protocol.ts";
import { MAX_ID_LENGTH } from "../wire/peer.ts";

const log = createLogger("endpoints");

/**
 * What a handler learns about the call besides its arguments. A handler gets it only when it asks
 * for it: with `{ context: true }`, or by naming its last parameter `ctx` (see
 * {@link EndpointOptions.context}). It then arrives in that last parameter, never in one meant for
 * an argument.
 */
export interface CallContext {
  /** The endpoint name that was called. */
  endpoint: string;
  /** The request id. */
  id: string;
  /** Every keyword argument of the call except `broadcast` (also those bound to parameters). */
  kwargs: Kwargs;
  /** The broadcast this call is part of, or `null` for a direct call. */
  broadcast: Broadcast | null;
  /** The caller's address as seen on the socket. */
  remote: RemoteAddress;
  /**
   * Who the caller is, verified: on a closed swarm's connection, the node identity the other end
   * proved in the handshake (the hex of its Ed25519 public key, 64 characters: its node id, unless
   * that node set a fixed `id`); `null` on a plaintext connection (an open swarm, a Python peer),
   * where nothing is proven. Unlike the ids inside arguments (`broadcast.origin`, a heartbeat's
   * record), which are what the caller says, this one the caller cannot choose. It names the
   * connection's other end: a call forwarded by a member arrives with that member's identity.
   */
  remoteIdentity: string | null;
}

/**
 * An endpoint handler: the call's arguments bound to its parameters as Python binds them, and (when
 * it asks for it) the {@link CallContext} in its last parameter. Sync or async. Arguments come off
 * the network, so their types are whatever the caller sent: check them.
 */
// biome-ignore lint: handlers take arbitrary wire values; `any` lets users annotate parameters freely.
export type Handler = (...args: any[]) => unknown;

/** Options of `node.endpoint(name, options, handler)`. */
export interface EndpointOptions {
  /** Shown by `_synapse.methods` and the CLI. */
  description?: string;
  /** Listed by `_synapse.methods` (default true for user endpoints; built-ins are unpublished). */
  publish?: boolean;
  /**
   * Names of the parameters that take arguments, in order, for binding keyword arguments (the
   * context parameter not included). By default they are read from the handler's source (plain
   * names only; give them for bound, minified or destructuring handlers). A keyword argument whose
   * name is not among them is refused: `bad_request` "NAME() got an unexpected keyword argument
   * 'KEY'", as Python raises.
   */
  params?: string[];
  /**
   * Pass the {@link CallContext} as the handler's last parameter, after the `params` (which then
   * do not include it). Default: true when the handler's last parameter is named `ctx`, else false.
   * The context always lands in that one parameter: a missing argument leaves its parameter
   * `undefined` (its default applies), and more positional arguments than `params` are refused.
   */
  context?: boolean;
  /**
   * Accept keyword arguments that name no parameter, as Python's `**kwargs` does: they are left in
   * the context's `kwargs` (default false: such a call is refused).
   */
  extraKwargs?: boolean;
}

/** The handler of a built-in endpoint: the positional values as sent, then the call's context. */
export type BuiltinHandler = (args: unknown[], ctx: CallContext) => unknown;

/** One registered endpoint. */
export interface Endpoint {
  name: string;
  description: string;
  publish: boolean;
  /** Parameters that take arguments (the context parameter not included). */
  params: string[];
  /** True when the handler takes the {@link CallContext} after its `params`. */
  context: boolean;
  /** True when keyword arguments that name no parameter are accepted (left in `ctx.kwargs`). */
  extraKwargs?: boolean;
  handler: Handler;
}

/** The name that asks for the context when it is a handler's last parameter. */
const CONTEXT_NAME = "ctx";

/** Observes broadcast calls before their handler runs (the conversation layer records them). */
export type BroadcastObserver = (broadcast: Broadcast, request: RequestMessage, kwargs: Kwargs) => void;

/** Decode the `broadcast` kwarg into a {@link Broadcast}, or null when it is not one. */
export function readBroadcast(value: unknown): Broadcast | null {
  if (!isMap(value) || typeof value.nonce !== "string" || !isMap(value.origin)) return null;
  // A nonce is a conversation id: never empty, never over the id limit.
  if (value.nonce.length === 0 || value.nonce.length > MAX_ID_LENGTH) return null;
  return { nonce: value.nonce, origin: value.origin as unknown as Broadcast["origin"], endpoint: String(value.endpoint ?? "") };
}

/** The endpoints of one node, and the dispatch of requests to them. */
export class EndpointRegistry {
  private readonly endpoints = new Map<string, Endpoint>();
  /** @internal Set by the conversation layer. */
  onBroadcast: BroadcastObserver | null = null;

  /** Register (or replace) an endpoint. */
  register(name: string, options: EndpointOptions, handler: Handler): Endpoint {
    if (typeof name !== "string" || name.length === 0) throw new ConfigError("endpoint name must be a non-empty string");
    if (typeof handler !== "function") throw new ConfigError(`handler of endpoint ${name} is not a function`);
    const read = parameterNames(handler);
    const context = options.context ?? read.at(-1) === CONTEXT_NAME;
    // Read from source, the last name of a handler that takes the context is the context's own;
    // given, `params` name the arguments only (a trailing "ctx" is dropped all the same).
    let params = options.params ?? (context ? read.slice(0, -1) : read);
    if (context && options.params !== undefined && params.at(-1) === CONTEXT_NAME) params = params.slice(0, -1);
    const endpoint: Endpoint = {
      name,
      description: options.description ?? "",
      publish: options.publish ?? true,
      params: [...params],
      context,
      extraKwargs: options.extraKwargs ?? false,
      handler,
    };
    this.endpoints.set(name, endpoint);
    return endpoint;
  }

  /**
   * Register a built-in endpoint of the protocol: unpublished (not listed by `_synapse.methods`),
   * with its parameter names given (they bind keyword arguments), and a handler that receives the
   * positional values and the {@link CallContext} apart. Every group of built-ins (core,
   * membership, conversations) registers this way.
   *
   * @internal
   */
  builtin(name: string, description: string, params: readonly string[], handler: BuiltinHandler): Endpoint {
    const n = params.length;
    return this.register(name, { publish: false, description, params: [...params], context: true }, (...args: unknown[]) => {
      // The values as supplied: parameters no argument reached are left out at the end (a nil
      // argument arrives as null, so only missing ones are undefined).
      let end = n;
      while (end > 0 && args[end - 1] === undefined) end--;
      return handler(args.slice(0, end), args[n] as CallContext);
    });
  }

  /** Remove an endpoint; true when it existed. */
  unregister(name: string): boolean {
    return this.endpoints.delete(name);
  }

  get(name: string): Endpoint | undefined {
    return this.endpoints.get(name);
  }

  /** Every endpoint, in registration order. */
  list(): Endpoint[] {
    return [...this.endpoints.values()];
  }

  /** Tell the broadcast observer (a failing observer never fails the call). */
  private observe(broadcast: Broadcast, req: RequestMessage, kwargs: Kwargs): void {
    try {
      this.onBroadcast?.(broadcast, req, kwargs);
    } catch (error) {
      log.warn(`recording broadcast ${broadcast.nonce} failed`, error);
    }
  }

  /**
   * Run the request's endpoint. Returns the response synchronously when the handler is
   * synchronous, a promise otherwise. Never throws or rejects: every failure becomes an error
   * response.
   *
   * @param remoteIdentity - the connection's verified node identity (a closed swarm's), else null.
   * @internal The node's listener calls it.
   */
  dispatch(req: RequestMessage, remote: RemoteAddress, remoteIdentity: string | null = null): ResponseMessage | Promise<ResponseMessage> {
    const endpoint = this.endpoints.get(req.endpoint);
    let broadcast: Broadcast | null = null;
    let kwargs = req.kwargs;
    let observed = kwargs;
    if ("broadcast" in kwargs) {
      broadcast = readBroadcast(kwargs.broadcast);
      if (broadcast) {
        const { broadcast: _omit, ...rest } = kwargs;
        observed = rest;
        if (!endpoint?.params.includes("broadcast")) kwargs = rest;
      } else if (endpoint && !endpoint.params.includes("broadcast")) {
        // A `broadcast` that is not one (an empty nonce, no origin): say so, rather than "unexpected keyword".
        return errorResponse(req.id, ErrorCode.BadRequest, "invalid broadcast: a nonce of 1 to 256 characters and an origin map are required");
      }
    }
    if (!endpoint) {
      // Python records a broadcast's message before it looks the endpoint up: a node that cannot
      // answer still takes part in the conversation (and fires broadcast.received).
      if (broadcast) this.observe(broadcast, req, observed);
      return errorResponse(req.id, ErrorCode.BadRequest, `Unregistered endpoint called: ${req.endpoint}`);
    }
    let result: unknown;
    try {
      if (broadcast) this.observe(broadcast, req, observed);
      const ctx: CallContext = { endpoint: req.endpoint, id: req.id, kwargs, broadcast, remote, remoteIdentity };
      const args = bindArguments(endpoint, req.args, kwargs, ctx);
      result = endpoint.handler(...args);
    } catch (error) {
      return failure(req, error);
    }
    if (result !== null && typeof result === "object" && typeof (result as PromiseLike<unknown>).then === "function") {
      return Promise.resolve(result).then(
        (value) => okResponse(req.id, value),
        (error) => failure(req, error),
      );
    }
    return okResponse(req.id, result);
  }
}

function failure(req: RequestMessage, error: unknown): ResponseMessage {
  if (error instanceof EndpointError) return errorResponse(req.id, error.code, error.message);
  log.debug(`endpoint ${req.endpoint} raised`, error);
  return errorResponse(req.id, ErrorCode.InternalError, errorMessage(error));
}

/**
 * Lay out a handler's arguments as Python binds a call: positional arguments as sent, keyword
 * arguments at their parameter's position, and, for a handler that asks for it, the context in the
 * parameter after the last of `params` (never in one meant for an argument).
 *
 * @throws {EndpointError} `bad_request` with Python's `TypeError` text for a keyword argument that
 * names no parameter, a keyword for a position already filled, or (for a handler with a context)
 * more positional arguments than parameters.
 */
export function bindArguments(endpoint: Endpoint, args: unknown[], kwargs: Kwargs, ctx: CallContext): unknown[] {
  const { params, name } = endpoint;
  if (endpoint.context && args.length > params.length) {
    const takes = `${params.length} positional argument${params.length === 1 ? "" : "s"}`;
    throw new EndpointError(ErrorCode.BadRequest, `${name}() takes ${takes} but ${args.length} ${args.length === 1 ? "was" : "were"} given`);
  }
  const out = args.slice();
  for (const key in kwargs) {
    const at = params.indexOf(key);
    if (at < 0) {
      if (endpoint.extraKwargs) continue;
      throw new EndpointError(ErrorCode.BadRequest, `${name}() got an unexpected keyword argument '${key}'`);
    }
    if (at < args.length) throw new EndpointError(ErrorCode.BadRequest, `${name}() got multiple values for argument '${key}'`);
    out[at] = kwargs[key];
  }
  if (endpoint.context) {
    out.length = params.length;
    out.push(ctx);
  }
  return out;
}
