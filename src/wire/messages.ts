/**
 * Request and response messages exactly as the Python implementation writes and reads them.
 *
 * @module
 */
import { ErrorCode, ProtocolError, type WireErrorCode } from "../errors.ts";
import { isMap } from "../util/guards.ts";

/** A keyword-argument map (Python's `**kwargs`). */
export type Kwargs = Record<string, unknown>;

/** A request as it travels: `{endpoint, id, args, kwargs, type: "request"}`. */
export interface RequestMessage {
  endpoint: string;
  id: string;
  args: unknown[];
  kwargs: Kwargs;
  type: "request";
}

/** The error part of a failed response. */
export interface WireError {
  /** One of {@link ErrorCode}, or any code a peer or an endpoint handler chose. */
  code: WireErrorCode;
  message: string;
}

/** A response as it travels: `{id, ok, result, error, type: "response"}`. */
export interface ResponseMessage {
  id: string;
  ok: boolean;
  result: unknown;
  error: WireError | null;
  type: "response";
}


/** Build a request with keys in the order Python writes them. */
export function request(endpoint: string, id: string, args: unknown[], kwargs: Kwargs): RequestMessage {
  return { endpoint, id, args, kwargs, type: "request" };
}

/** Build a successful response. */
export function okResponse(id: string, result: unknown): ResponseMessage {
  return { id, ok: true, result: result === undefined ? null : result, error: null, type: "response" };
}

/** Build a failed response. */
export function errorResponse(id: string, code: WireErrorCode, message: string): ResponseMessage {
  return { id, ok: false, result: null, error: { code, message }, type: "response" };
}

/** Python's repr of a list of strings, for error texts that match the original's. */
function pyList(items: string[]): string {
  return `[${items.map((s) => `'${s}'`).join(", ")}]`;
}

function normaliseId(id: unknown): string {
  if (id === undefined || id === null) return "";
  if (typeof id === "string") return id;
  if (typeof id === "number" && Number.isInteger(id)) return String(id);
  throw new ProtocolError("invalid request: id must be a string");
}

/** A decoded incoming message: either kind, already validated. */
export type IncomingMessage = RequestMessage | ResponseMessage;

/**
 * Validate a decoded payload as a request (or, when `type` says so, a response).
 *
 * @throws {ProtocolError} for a non-map payload, unknown keys or wrongly typed fields (answered,
 * as by Python nodes, with id "").
 */
export function parseMessage(payload: unknown): IncomingMessage {
  if (!isMap(payload)) throw new ProtocolError("invalid request: payload is not a map");
  const type = payload.type ?? "request";
  if (type === "response") return parseResponse(payload);
  if (type !== "request") throw new ProtocolError(`invalid request: unknown message type ${JSON.stringify(type)}`);
  let extra: string[] | null = null;
  for (const key in payload) {
    switch (key) {
      case "endpoint":
      case "id":
      case "args":
      case "kwargs":
      case "type":
        break;
      default:
        (extra ??= []).push(key);
    }
  }
  if (extra) throw new ProtocolError(`unknown request fields: ${pyList(extra.sort())}`);
  const endpoint = payload.endpoint;
  if (typeof endpoint !== "string") throw new ProtocolError("invalid request: endpoint must be a string");
  const args = payload.args ?? [];
  if (!Array.isArray(args)) throw new ProtocolError("invalid request: args must be an array");
  const kwargs = payload.kwargs ?? {};
  if (!isMap(kwargs)) throw new ProtocolError("invalid request: kwargs must be a map");
  return { endpoint, id: normaliseId(payload.id), args, kwargs, type: "request" };
}

function parseResponse(payload: Record<string, unknown>): ResponseMessage {
  for (const key in payload) {
    switch (key) {
      case "id":
      case "ok":
      case "result":
      case "error":
      case "type":
        break;
      default:
        throw new ProtocolError(`unknown response fields: ${pyList([key])}`);
    }
  }
  const ok = payload.ok === true;
  let error: WireError | null = null;
  if (!ok) {
    const e = payload.error;
    error = isMap(e)
      ? { code: String(e.code ?? ErrorCode.InternalError), message: String(e.message ?? "") }
      : { code: ErrorCode.InternalError, message: e == null ? "request failed" : String(e) };
  }
  return { id: normaliseId(payload.id), ok, result: payload.result ?? null, error, type: "response" };
}
