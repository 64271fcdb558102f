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
import { isMap } from "../util/guards.ts";
import type { RemoteAddress } from "../wire/protocol.ts";

const log = createLogger("endpoints");

/**
 * The last argument every handler receives, after its positional arguments.
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
}

/**
 * An endpoint handler: positional arguments first, then the {@link CallContext}. Sync or async.
 * Arguments come off the network, so their types are whatever the caller sent: check them.
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
   * Parameter names, in order, for binding keyword arguments. By default they are read from the
   * handler's source (plain names only). A keyword argument whose name is not among them is only
   * available in `ctx.kwargs`.
   */
  params?: string[];
}

/** The handler of a built-in endpoint: the positional values as sent, then the call's context. */
export type BuiltinHandler = (args: unknown[], ctx: CallContext) => unknown;

/** One registered endpoint. */
export interface Endpoint {
  name: string;
  description: string;
  publish: boolean;
  params: string[];
  handler: Handler;
}

/** Observes broadcast calls before their handler runs (the conversation layer records them). */
export type BroadcastObserver = (broadcast: Broadcast, request: RequestMessage, kwargs: Kwargs) => void;

/** Decode the `broadcast` kwarg into a {@link Broadcast}, or null when it is not one. */
export function readBroadcast(value: unknown): Broadcast | null {
  if (!isMap(value) || typeof value.nonce !== "string" || !isMap(value.origin)) return null;
  return { nonce: value.nonce, origin: value.origin as unknown as Broadcast["origin"], endpoint: String(value.endpoint ?? "") };
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
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
    const endpoint: Endpoint = {
      name,
      description: options.description ?? "",
      publish: options.publish ?? true,
      params: options.params ?? parameterNames(handler),
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
    return this.register(name, { publish: false, description, params: [...params] }, (...args: unknown[]) =>
      handler(args.slice(0, -1), args[args.length - 1] as CallContext),
    );
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

  /**
   * Run the request's endpoint. Returns the response synchronously when the handler is
   * synchronous, a promise otherwise. Never throws or rejects: every failure becomes an error
   * response.
   *
   * @internal The node's listener calls it.
   */
  dispatch(req: RequestMessage, remote: RemoteAddress): ResponseMessage | Promise<ResponseMessage> {
    const endpoint = this.endpoints.get(req.endpoint);
    if (!endpoint) return errorResponse(req.id, ErrorCode.BadRequest, `Unregistered endpoint called: ${req.endpoint}`);
    let broadcast: Broadcast | null = null;
    let kwargs = req.kwargs;
    if ("broadcast" in kwargs) {
      broadcast = readBroadcast(kwargs.broadcast);
      if (broadcast && !endpoint.params.includes("broadcast")) {
        const { broadcast: _omit, ...rest } = kwargs;
        kwargs = rest;
      }
    }
    let result: unknown;
    try {
      if (broadcast && this.onBroadcast) this.onBroadcast(broadcast, req, kwargs);
      const ctx: CallContext = { endpoint: req.endpoint, id: req.id, kwargs, broadcast, remote };
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
 * Lay out a handler's arguments: positional arguments as sent, keyword arguments placed at their
 * parameter's position, then the context right after the last supplied argument.
 */
export function bindArguments(endpoint: Endpoint, args: unknown[], kwargs: Kwargs, ctx: CallContext): unknown[] {
  const out = args.slice();
  let end = args.length;
  for (const key in kwargs) {
    const at = endpoint.params.indexOf(key);
    if (at < 0) continue;
    if (at < args.length) throw new EndpointError(ErrorCode.InternalError, `${endpoint.name}() got multiple values for argument '${key}'`);
    out[at] = kwargs[key];
    if (at + 1 > end) end = at + 1;
  }
  out.length = end;
  out.push(ctx);
  return out;
}
