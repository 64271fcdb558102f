/**
 * Argument helpers of the `sn` commands: addresses, JSON-or-text values, `key=value` pairs,
 * numbers of seconds and ports. Loaded with a command's code (it uses the library's errors).
 *
 * @module
 */
import { ConfigError, parseSeed, type Kwargs } from "../index.ts";
import { errorMessage } from "../util/guards.ts";

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
  if (text === undefined || text.trim() === "") throw new ConfigError("an address is required (HOST:PORT, port 9999 when omitted)");
  return parseSeed(text);
}

/** `host:port` as text. */
export function formatAddress(address: Address): string {
  return address.host.includes(":") ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/**
 * A command-line value: JSON when it parses as JSON (`1`, `-2.5`, `true`, `"x"`, `{"a":1}`,
 * `[1,2]`, `null`), the text itself otherwise (`ada`, `hello world`). A word that starts like a
 * JSON object, array or string (`{`, `[`, `"`) but does not parse is refused rather than silently
 * sent as text: it is almost always a typo or a quoting accident of the shell.
 *
 * @param what - how the value is named in the error (`argument 2`, `--kw formal`).
 * @throws {ConfigError} for broken JSON.
 */
export function parseValue(text: string, what = "value"): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    if (/^\s*[[{"]/.test(text)) {
      const why = errorMessage(error);
      throw new ConfigError(`${what} looks like JSON but does not parse (${why}): ${text}; fix it, or pass text as a JSON string ('"..."')`);
    }
    return text;
  }
}

/**
 * Keyword arguments from `key=value` strings; each value goes through {@link parseValue}.
 *
 * @param flag - the flag they came from, for the error (`--kw`, `--context`).
 * @throws {ConfigError} for an entry without `=`, with an empty key, or with broken JSON.
 */
export function parseKeywords(entries: readonly string[], flag = "--kw"): Kwargs {
  const kwargs: Kwargs = {};
  for (const entry of entries) {
    const at = entry.indexOf("=");
    if (at <= 0) throw new ConfigError(`${flag} expects key=value, got ${JSON.stringify(entry)}`);
    const key = entry.slice(0, at);
    kwargs[key] = parseValue(entry.slice(at + 1), `${flag} ${key}`);
  }
  return kwargs;
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

/** `--duration`/`--timeout` in seconds; `null` when not given. */
export function optionalSeconds(text: string | undefined, flag: string): number | null {
  if (text === undefined || text === "") return null;
  return seconds(text, flag, 0);
}

/**
 * A port from a flag (`--port 0` picks a free one).
 *
 * @throws {ConfigError} outside 0..65535.
 */
export function portNumber(text: string | undefined, fallback: number): number {
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > 65535) throw new ConfigError(`--port expects 0..65535, got ${JSON.stringify(text)}`);
  return value;
}
