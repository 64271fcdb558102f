/**
 * Small value checks shared by every layer: what counts as a MessagePack map, how a value's type is
 * named in an error text (Python's names, as the original's messages use them), and what a port is.
 *
 * This module sits below `wire/` and imports nothing of the package, so any layer may use it.
 *
 * @module
 */

/**
 * True for a decoded MessagePack map: a non-null object that is neither an array nor bytes
 * (msgpackr decodes `bin` to a `Uint8Array`, which must not pass for a map).
 */
export function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/** The MessagePack/Python name of a value's type, for error texts ("nil", "int", "map", ...). */
export function typeName(value: unknown): string {
  if (value === null || value === undefined) return "nil";
  if (Array.isArray(value)) return "array";
  if (value instanceof Uint8Array) return "binary";
  if (typeof value === "number") return Number.isInteger(value) ? "int" : "float";
  if (typeof value === "object") return "map";
  return typeof value === "string" ? "str" : typeof value;
}

/**
 * True for a TCP port number: an integer from 1 to 65535, or from 0 with `allowZero` (a port to
 * listen on, where 0 asks the system for a free one). A port to dial is never 0.
 */
export function isPort(value: unknown, allowZero = false): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= (allowZero ? 0 : 1) && value <= 65535;
}

/** The message of a caught value: an Error's message, or the value as text. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The system's code of a failure (`ECONNREFUSED`, `EMFILE`, ...): the first `E...` code along
 * `error` and the errors it was caused by, a few levels deep; undefined when none. The first one
 * counts: an error that explains another one it wraps (the transport's `EMFILE` around Bun's
 * `ECONNREFUSED`, `transport/connect-failure.ts`) comes before it.
 */
export function systemCode(error: unknown): string | undefined {
  return systemError(error)?.code;
}

/** The error along `error`'s causes that carries its {@link systemCode}, with its message. */
export function systemError(error: unknown): { code: string; message: string } | undefined {
  for (let e = error, depth = 0; isMap(e) && depth < 6; e = e.cause, depth++) {
    if (typeof e.code === "string" && /^E[A-Z0-9]+$/.test(e.code)) return { code: e.code, message: typeof e.message === "string" ? e.message : "" };
  }
  return undefined;
}

/** True for a loopback host: 127.0.0.0/8, ::1 or `localhost`. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
