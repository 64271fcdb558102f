/**
 * Seeds: the first contacts a node joins through. A seed is written `"host:port"`, `"host"`
 * (port {@link DEFAULT_SEED_PORT}), `"[::1]:9999"` for IPv6, or `["host", port]`.
 *
 * @module
 */
import { ConfigError } from "../errors.ts";
import { isPort } from "../util/guards.ts";

/** The port of a seed given without one. */
export const DEFAULT_SEED_PORT = 9999;

/** A seed as the options accept it. */
export type SeedLike = string | readonly [string, number];

/** A parsed seed. */
export interface Seed {
  host: string;
  port: number;
}

function checkPort(port: number, text: string): number {
  if (!isPort(port)) throw new ConfigError(`invalid seed ${text}: bad port`);
  return port;
}

/**
 * Parse one seed.
 *
 * @example parseSeed("10.0.0.5") // { host: "10.0.0.5", port: 9999 }
 * @example parseSeed(["seed.local", 7000]) // { host: "seed.local", port: 7000 }
 * @throws {ConfigError} for an empty host or a port that is not 1..65535.
 */
export function parseSeed(seed: SeedLike): Seed {
  if (Array.isArray(seed)) {
    const [host, port] = seed as readonly [unknown, unknown];
    const text = JSON.stringify(seed);
    if (typeof host !== "string" || host.trim() === "") throw new ConfigError(`invalid seed ${text}: empty host`);
    if (typeof port !== "number") throw new ConfigError(`invalid seed ${text}: bad port`);
    return { host: host.trim(), port: checkPort(port, text) };
  }
  if (typeof seed !== "string") throw new ConfigError(`invalid seed ${String(seed)}: expected "host:port" or [host, port]`);
  const text = seed.trim();
  if (text === "") throw new ConfigError("invalid seed: empty string");
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed) {
    return { host: bracketed[1]!, port: bracketed[2] ? checkPort(Number(bracketed[2]), text) : DEFAULT_SEED_PORT };
  }
  const colons = text.split(":").length - 1;
  if (colons === 0) return { host: text, port: DEFAULT_SEED_PORT };
  if (colons > 1) return { host: text, port: DEFAULT_SEED_PORT }; // a bare IPv6 address
  const at = text.lastIndexOf(":");
  const host = text.slice(0, at);
  const portText = text.slice(at + 1);
  if (host === "") throw new ConfigError(`invalid seed ${text}: empty host`);
  if (!/^\d+$/.test(portText)) throw new ConfigError(`invalid seed ${text}: bad port`);
  return { host, port: checkPort(Number(portText), text) };
}

/** Parse a list of seeds, dropping duplicates (same host and port). */
export function parseSeeds(seeds: readonly SeedLike[] | undefined): Seed[] {
  const out: Seed[] = [];
  const seen = new Set<string>();
  for (const s of seeds ?? []) {
    const seed = parseSeed(s);
    const key = `${seed.host}:${seed.port}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(seed);
  }
  return out;
}
