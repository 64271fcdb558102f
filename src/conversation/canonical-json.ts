/**
 * Canonical JSON, byte for byte what Python writes with
 * `json.dumps(value, sort_keys=True, separators=(",", ":"))`: keys sorted by code point, no spaces,
 * every character outside printable ASCII escaped as `\uXXXX` (lowercase hex, a surrogate pair above
 * U+FFFF), Python's float spelling (`1e-05`, `1e+16`). Artifact sizes and digests are computed over it.
 *
 * One case cannot match: JavaScript has no separate float type, so a whole-valued Python float
 * (`1.0`) is written as the integer `1`. Whole numbers of 1e16 and above are written the way
 * Python writes floats (`1e+16`), since an integer that large cannot be exact in JavaScript anyway.
 *
 * @module
 */
import { ConfigError } from "../errors.ts";

const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
const SHORT: Record<number, string> = { 0x22: '\\"', 0x5c: "\\\\", 0x0a: "\\n", 0x0d: "\\r", 0x09: "\\t", 0x08: "\\b", 0x0c: "\\f" };

/** A JSON string literal with Python's `ensure_ascii` escaping. */
export function pythonJsonString(text: string): string {
  if (PLAIN.test(text)) return `"${text}"`;
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i); // UTF-16 code units: astral characters come out as surrogate pairs
    if (code >= 0x20 && code <= 0x7e && code !== 0x22 && code !== 0x5c) out += text[i];
    else out += SHORT[code] ?? `\\u${code.toString(16).padStart(4, "0")}`;
  }
  return `${out}"`;
}

/** A number spelled as Python's `json.dumps` spells it (see the module notes for whole numbers). */
export function pythonJsonNumber(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "Infinity";
  if (value === Number.NEGATIVE_INFINITY) return "-Infinity";
  if (Number.isInteger(value) && Math.abs(value) < 1e16) return Object.is(value, -0) ? "0" : String(value);
  // Both languages print the shortest digits that read back to the same double; they differ only in
  // when they switch to exponent notation (Python: exponent < -4 or >= 16) and how they spell it.
  const [mantissa, exp] = value.toExponential().split("e") as [string, string];
  const exponent = Number(exp);
  if (exponent >= -4 && exponent < 16) return String(value);
  const sign = exponent < 0 ? "-" : "+";
  return `${mantissa}e${sign}${String(Math.abs(exponent)).padStart(2, "0")}`;
}

/** Compare strings by Unicode code point, as Python sorts `str`. */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // A surrogate (astral character) sorts after every BMP character at or above U+E000.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? (y >= 0xe000 ? 1 : x - y) : x >= 0xe000 ? -1 : x - y;
    return x - y;
  }
  return a.length - b.length;
}

/** How {@link write} spells a document: canonical (artifacts) or `json.dumps` defaults (logs). */
interface JsonStyle {
  /** Sort keys by code point (`sort_keys=True`). */
  sort: boolean;
  /** Between items: `","` (canonical) or `", "` (Python's default). */
  item: string;
  /** Between a key and its value: `":"` or `": "`. */
  key: string;
  /** What bytes become; absent: bytes are refused. */
  bytes?: (bytes: Uint8Array) => unknown;
}

const CANONICAL: JsonStyle = { sort: true, item: ",", key: ":" };

function write(value: unknown, path: string, seen: Set<object>, style: JsonStyle): string {
  if (value === null || value === undefined) return "null";
  switch (typeof value) {
    case "string":
      return pythonJsonString(value);
    case "boolean":
      return value ? "true" : "false";
    case "number":
      return pythonJsonNumber(value);
    case "bigint":
      return value.toString();
    case "object":
      break;
    default:
      throw new ConfigError(`cannot write ${typeof value} as JSON at ${path}`);
  }
  const obj = value as object;
  if (obj instanceof Uint8Array || obj instanceof ArrayBuffer) {
    if (!style.bytes) throw new ConfigError(`cannot write bytes as JSON at ${path}`);
    return write(style.bytes(obj instanceof Uint8Array ? obj : new Uint8Array(obj)), path, seen, { ...style, bytes: undefined });
  }
  if (seen.has(obj)) throw new ConfigError(`circular structure at ${path}`);
  seen.add(obj);
  let out: string;
  if (Array.isArray(obj)) {
    out = `[${obj.map((item, i) => write(item, `${path}[${i}]`, seen, style)).join(style.item)}]`;
  } else if (obj instanceof Date) {
    out = pythonJsonNumber(obj.getTime() / 1000); // as the wire carries dates: unix seconds
  } else {
    const entries: Array<[string, unknown]> = obj instanceof Map ? [...obj].map(([k, v]) => [String(k), v]) : Object.entries(obj);
    if (style.sort) entries.sort((a, b) => compareCodePoints(a[0], b[0]));
    out = `{${entries.map(([k, v]) => `${pythonJsonString(k)}${style.key}${write(v, `${path}.${k}`, seen, style)}`).join(style.item)}}`;
  }
  seen.delete(obj);
  return out;
}

/**
 * JSON text as Python's `json.dumps(value)` writes it with its defaults: keys in insertion order,
 * `", "` and `": "` separators, `ensure_ascii` escaping, `NaN`/`Infinity` spelled as Python spells
 * them. Bytes go through `bytes` (Python would need `default=`); without it they are refused.
 *
 * @throws {ConfigError} for functions, symbols, circular structures, and bytes without `bytes`.
 * @example pythonJsonDumps({ b: 1, a: "é" }) // '{"b": 1, "a": "\u00e9"}'
 */
export function pythonJsonDumps(value: unknown, bytes?: (bytes: Uint8Array) => unknown): string {
  return write(value, "$", new Set(), { sort: false, item: ", ", key: ": ", bytes });
}

/**
 * Canonical JSON text of `value` (Python's `json.dumps(value, sort_keys=True, separators=(",", ":"))`).
 * `undefined` is written as `null`, as MessagePack carries it.
 *
 * @throws {ConfigError} for functions, symbols, bytes and circular structures.
 * @example canonicalJson({ b: [1, 2], a: "é" }) // '{"a":"\\u00e9","b":[1,2]}'
 */
export function canonicalJson(value: unknown): string {
  return write(value, "$", new Set(), CANONICAL);
}

/** {@link canonicalJson} as UTF-8 bytes (all ASCII, so one byte per character). */
export function canonicalJsonBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(canonicalJson(value));
}
