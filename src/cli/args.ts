/**
 * Argument helpers of the `sn` command line: addresses, JSON-or-string values, `key=value`
 * keyword arguments, repeated flags (citty keeps only the last value of a flag) and numbers.
 *
 * @module
 */
import { ConfigError, parseSeed, type Kwargs } from "../index.ts";
import { isPort } from "../util/guards.ts";

/** A `host:port` to dial. */
export interface Address {
  host: string;
  port: number;
}

/**
 * Parse `host:port`, `host` (port 9999), `[v6]:port` as seeds are parsed.
 *
 * @throws {ConfigError} for an empty host or a bad port.
 */
export function parseAddress(text: string | undefined): Address {
  if (text === undefined || text.trim() === "") throw new ConfigError("an address is required (host:port, port 9999 when omitted)");
  return parseSeed(text);
}

/** `host:port` as text. */
export function formatAddress(address: Address): string {
  return address.host.includes(":") ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/**
 * A command-line value: JSON when it parses as JSON (`1`, `true`, `"x"`, `{"a":1}`, `[1,2]`,
 * `null`), the text itself otherwise (`ada`, `hello world`).
 */
export function parseValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * Keyword arguments from `key=value` strings; each value goes through {@link parseValue}.
 *
 * @throws {ConfigError} for an entry without `=` or with an empty key.
 */
export function parseKeywords(entries: readonly string[]): Kwargs {
  const kwargs: Kwargs = {};
  for (const entry of entries) {
    const at = entry.indexOf("=");
    if (at <= 0) throw new ConfigError(`--kw expects key=value, got ${JSON.stringify(entry)}`);
    kwargs[entry.slice(0, at)] = parseValue(entry.slice(at + 1));
  }
  return kwargs;
}

/**
 * Every value of a flag that may be repeated (`--kw a=1 --kw b=2`, `--seed x --seed=y`), read from
 * the raw arguments; citty itself keeps only the last one. Reading stops at `--`.
 */
export function repeated(rawArgs: readonly string[], name: string): string[] {
  const values: string[] = [];
  const flag = `--${name}`;
  for (let i = 0; i < rawArgs.length; i++) {
    const arg = rawArgs[i]!;
    if (arg === "--") break;
    if (arg === flag) {
      const next = rawArgs[i + 1];
      if (next !== undefined) values.push(next);
      i++;
    } else if (arg.startsWith(`${flag}=`)) {
      values.push(arg.slice(flag.length + 1));
    }
  }
  return values;
}

/** Seeds from repeated `--seed` flags; each may also hold a comma-separated list. */
export function seedList(rawArgs: readonly string[]): string[] {
  return repeated(rawArgs, "seed")
    .flatMap((s) => s.split(","))
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/**
 * A number of seconds from a flag (`--timeout 2.5`).
 *
 * @throws {ConfigError} when it is not a finite number of at least `min`.
 */
export function seconds(text: string | undefined, flag: string, fallback: number, min = 0): number {
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < min) throw new ConfigError(`--${flag} expects a number of seconds >= ${min}, got ${JSON.stringify(text)}`);
  return value;
}

/**
 * A port from a flag (`--port 0` picks a free one).
 *
 * @throws {ConfigError} outside 0..65535.
 */
export function portNumber(text: string | undefined, fallback: number): number {
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!isPort(value, true)) throw new ConfigError(`--port expects 0..65535, got ${JSON.stringify(text)}`);
  return value;
}

/**
 * A JSON object from a flag (`--context '{"k":1}'`).
 *
 * @throws {ConfigError} when the text is not a JSON object.
 */
export function jsonObject(text: string | undefined, flag: string): Record<string, unknown> {
  if (text === undefined || text === "") return {};
  const value = parseValue(text);
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new ConfigError(`--${flag} expects a JSON object, got ${JSON.stringify(text)}`);
  return value as Record<string, unknown>;
}
