/**
 * Output of the `sn` command line: one {@link Printer} per command, human-friendly text by default
 * (short peer names, 8-character id prefixes, aligned columns), JSON with `--json` (one object per
 * line for the streaming commands).
 *
 * @module
 */
import type { Peer } from "../index.ts";

/** Width of the peer-name column of streaming lines; longer names are shortened. */
export const NAME_WIDTH = 18;
/** Width of the event column of streaming lines (longer event names are kept whole). */
export const EVENT_WIDTH = 18;

/** Where a command writes: stdout for data, stderr for diagnostics. */
export class Printer {
  /** True with `--json`. */
  readonly json: boolean;

  constructor(
    json: boolean | undefined,
    private readonly stdout: (text: string) => void = (text) => void process.stdout.write(text),
    private readonly stderr: (text: string) => void = (text) => void process.stderr.write(text),
  ) {
    this.json = json === true;
  }

  /** One line of text on stdout. */
  line(text = ""): void {
    this.stdout(`${text}\n`);
  }

  /** One value as compact JSON on one line of stdout. */
  record(value: unknown): void {
    this.stdout(`${JSON.stringify(toJson(value))}\n`);
  }

  /** A value as JSON: pretty in human mode, one compact line with `--json`. */
  value(value: unknown): void {
    this.stdout(`${JSON.stringify(toJson(value), null, this.json ? undefined : 2)}\n`);
  }

  /** One line on stderr (warnings and errors, in both modes). */
  warn(text: string): void {
    this.stderr(`${text}\n`);
  }
}

/**
 * A value JSON can print: bytes become `{"$base64": "..."}`, bigints numbers (strings beyond 2^53),
 * `undefined` null, Maps objects, Sets arrays; everything else as `JSON.stringify` would.
 */
export function toJson(value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (typeof value === "bigint") return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (typeof value !== "object") return typeof value === "function" || typeof value === "symbol" ? null : value;
  if (value instanceof Uint8Array) return { $base64: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64") };
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(toJson);
  if (value instanceof Set) return [...value].map(toJson);
  const entries = value instanceof Map ? [...value.entries()] : Object.entries(value);
  const out: Record<string, unknown> = {};
  for (const [key, item] of entries) out[String(key)] = toJson(item);
  return out;
}

/** Compact JSON of a value, shortened to `max` characters with an ellipsis. */
export function brief(value: unknown, max = Number.POSITIVE_INFINITY): string {
  const text = JSON.stringify(toJson(value)) ?? "null";
  return text.length > max ? `${text.slice(0, Math.max(1, max - 1))}…` : text;
}

/** A reply's result for people: a string as it is, anything else as compact JSON. */
export function resultText(value: unknown): string {
  return typeof value === "string" ? value : brief(value);
}

/** The first 8 characters of a node id. */
export function shortId(id: string): string {
  return id.slice(0, 8);
}

/** A peer as the Python `sn` prints it: its name, else the first 8 characters of its id. */
export function who(peer: Pick<Peer, "name" | "id">): string {
  return peer.name || shortId(peer.id);
}

/** Pad (or shorten with an ellipsis) to exactly `width` characters. */
export function fit(text: string, width: number): string {
  if (text.length > width) return `${text.slice(0, width - 1)}…`;
  return text.padEnd(width);
}

/** `name     1a2b3c4d`: a peer's name in a fixed-width column, then its id prefix. */
export function peerLabel(peer: Pick<Peer, "name" | "id">): string {
  return `${fit(peer.name || "?", NAME_WIDTH)} ${shortId(peer.id)}`;
}

/** `endpoint(1, "x", key=2)`: a call as people read it. */
export function callText(endpoint: string, args: readonly unknown[], kwargs: Record<string, unknown>, max = 300): string {
  const parts = [...args.map((a) => brief(a)), ...Object.entries(kwargs).map(([k, v]) => `${k}=${brief(v)}`)];
  const text = `${endpoint}(${parts.join(", ")})`;
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** The last 8 characters of a conversation id (UUIDv7 nonces share their leading, time-based ones). */
export function conversationTag(id: string): string {
  return id.length > 8 ? `…${id.slice(-8)}` : id;
}

/** Local wall-clock time `HH:MM:SS.mmm`. */
export function clock(date = new Date()): string {
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}.${String(date.getMilliseconds()).padStart(3, "0")}`;
}

/** Rows of cells as aligned columns (two spaces apart, trailing spaces trimmed). */
export function table(rows: readonly string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd());
}
