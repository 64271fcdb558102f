/**
 * An independent, strict reader of MessagePack payloads for the interop audit: it reads the bytes
 * themselves (not through the package's codec, which is what is being audited) and reports every
 * way they differ from what a Python node writes and accepts (PROTOCOL.md): extension types, the
 * never-used byte 0xc1, float32, integers in a larger or signed format than needed, str/bin/array/
 * map headers larger than needed, invalid UTF-8, map keys that are not strings (Python's msgpack
 * refuses them by default), duplicate keys, truncation and trailing bytes.
 *
 * Maps are returned as `Map`s, so the key ORDER on the wire is kept exactly (a plain object would
 * move integer-like keys first).
 *
 * @module
 */

/** A value read by {@link readStrict}: maps are `Map`s in wire order; `float` marks float64 values. */
export type PyValue = null | boolean | number | string | Uint8Array | PyFloat | PyValue[] | Map<PyValue, PyValue>;

/** A float64 on the wire (kept apart from integers so tests can tell `1.0` from `1`). */
export class PyFloat {
  constructor(readonly value: number) {}
}

/** What {@link readStrict} found. */
export interface StrictRead {
  value: PyValue;
  /** Every deviation from Python's format, with its byte offset; empty when Python would write the same. */
  violations: string[];
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

class Truncated extends Error {}

/** Read one MessagePack value from `bytes` the way a strict Python peer would. */
export function readStrict(bytes: Uint8Array, maxDepth = 512): StrictRead {
  const violations: string[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  const need = (n: number) => {
    if (at + n > bytes.length) throw new Truncated(`truncated at ${at}: need ${n} more bytes`);
  };
  const u8 = () => (need(1), bytes[at++]!);
  const u16 = () => (need(2), (at += 2), view.getUint16(at - 2));
  const u32 = () => (need(4), (at += 4), view.getUint32(at - 4));
  const minimal = (what: string, length: number, limit: number, start: number) => {
    if (length < limit) violations.push(`${what} of length ${length} in a larger header than needed at ${start}`);
  };
  const str = (n: number, start: number): string => {
    need(n);
    const slice = bytes.subarray(at, at + n);
    at += n;
    try {
      return utf8.decode(slice);
    } catch {
      violations.push(`invalid UTF-8 in str at ${start}`);
      return Buffer.from(slice).toString("latin1");
    }
  };
  const bin = (n: number): Uint8Array => {
    need(n);
    at += n;
    return bytes.slice(at - n, at);
  };
  const array = (n: number, depth: number): PyValue[] => {
    const out: PyValue[] = [];
    for (let i = 0; i < n; i++) out.push(read(depth + 1));
    return out;
  };
  const map = (n: number, depth: number): Map<PyValue, PyValue> => {
    const out = new Map<PyValue, PyValue>();
    for (let i = 0; i < n; i++) {
      const keyAt = at;
      const key = read(depth + 1);
      if (typeof key !== "string" && !(key instanceof Uint8Array)) violations.push(`map key that is not a str at ${keyAt}: ${String(key)}`);
      if (out.has(key)) violations.push(`duplicate map key ${String(key)} at ${keyAt}`);
      out.set(key, read(depth + 1));
    }
    return out;
  };
  const int = (value: number, format: string, start: number, signed: boolean): number => {
    if (signed && value >= 0) violations.push(`non-negative integer ${value} in signed ${format} at ${start}`);
    const smallest =
      value >= 0
        ? value < 0x80
          ? "fixint"
          : value < 0x100
            ? "uint8"
            : value < 0x10000
              ? "uint16"
              : value <= 0xffffffff
                ? "uint32"
                : "uint64"
        : value >= -32
          ? "fixint"
          : value >= -0x80
            ? "int8"
            : value >= -0x8000
              ? "int16"
              : value >= -0x80000000
                ? "int32"
                : "int64";
    if (smallest !== format && !(signed && value >= 0)) violations.push(`integer ${value} in ${format}, smallest is ${smallest}, at ${start}`);
    return value;
  };
  const read = (depth: number): PyValue => {
    if (depth > maxDepth) throw new Truncated(`nesting deeper than ${maxDepth}`);
    const start = at;
    const t = u8();
    if (t < 0x80) return t;
    if (t < 0x90) return map(t & 0x0f, depth);
    if (t < 0xa0) return array(t & 0x0f, depth);
    if (t < 0xc0) return str(t & 0x1f, start);
    if (t >= 0xe0) return t - 0x100;
    switch (t) {
      case 0xc0:
        return null;
      case 0xc1:
        violations.push(`never-used byte 0xc1 at ${start}`);
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc4: {
        const n = u8();
        return bin(n);
      }
      case 0xc5: {
        const n = u16();
        minimal("bin", n, 0x100, start);
        return bin(n);
      }
      case 0xc6: {
        const n = u32();
        minimal("bin", n, 0x10000, start);
        return bin(n);
      }
      case 0xc7:
      case 0xc8:
      case 0xc9: {
        const n = t === 0xc7 ? u8() : t === 0xc8 ? u16() : u32();
        need(1);
        const type = (bytes[at++]! << 24) >> 24;
        violations.push(`extension type ${type} at ${start}`);
        bin(n);
        return null;
      }
      case 0xca: {
        need(4);
        violations.push(`float32 at ${start} (Python writes float64)`);
        at += 4;
        return new PyFloat(view.getFloat32(at - 4));
      }
      case 0xcb:
        need(8);
        at += 8;
        return new PyFloat(view.getFloat64(at - 8));
      case 0xcc:
        return int(u8(), "uint8", start, false);
      case 0xcd:
        return int(u16(), "uint16", start, false);
      case 0xce:
        return int(u32(), "uint32", start, false);
      case 0xcf: {
        need(8);
        at += 8;
        return int(Number(view.getBigUint64(at - 8)), "uint64", start, false);
      }
      case 0xd0:
        need(1);
        at += 1;
        return int(view.getInt8(at - 1), "int8", start, true);
      case 0xd1:
        need(2);
        at += 2;
        return int(view.getInt16(at - 2), "int16", start, true);
      case 0xd2:
        need(4);
        at += 4;
        return int(view.getInt32(at - 4), "int32", start, true);
      case 0xd3:
        need(8);
        at += 8;
        return int(Number(view.getBigInt64(at - 8)), "int64", start, true);
      case 0xd4:
      case 0xd5:
      case 0xd6:
      case 0xd7:
      case 0xd8: {
        const n = [1, 2, 4, 8, 16][t - 0xd4]!;
        need(1 + n);
        violations.push(`extension type ${(bytes[at]! << 24) >> 24} at ${start}`);
        at += 1 + n;
        return null;
      }
      case 0xd9: {
        const n = u8();
        minimal("str", n, 32, start);
        return str(n, start);
      }
      case 0xda: {
        const n = u16();
        minimal("str", n, 0x100, start);
        return str(n, start);
      }
      case 0xdb: {
        const n = u32();
        minimal("str", n, 0x10000, start);
        return str(n, start);
      }
      case 0xdc: {
        const n = u16();
        minimal("array", n, 16, start);
        return array(n, depth);
      }
      case 0xdd: {
        const n = u32();
        minimal("array", n, 0x10000, start);
        return array(n, depth);
      }
      case 0xde: {
        const n = u16();
        minimal("map", n, 16, start);
        return map(n, depth);
      }
      default: {
        const n = u32();
        minimal("map", n, 0x10000, start);
        return map(n, depth);
      }
    }
  };
  let value: PyValue = null;
  try {
    value = read(0);
    if (at !== bytes.length) violations.push(`${bytes.length - at} trailing byte(s) after the value`);
  } catch (error) {
    violations.push((error as Error).message);
  }
  return { value, violations };
}

/** The keys of a wire map, in wire order (throws when `value` is not a map). */
export function keysOf(value: PyValue | undefined): PyValue[] {
  if (!(value instanceof Map)) throw new Error(`expected a map, got ${describe(value)}`);
  return [...value.keys()];
}

/** `map[key]` of a wire map. */
export function field(value: PyValue | undefined, key: string): PyValue | undefined {
  if (!(value instanceof Map)) throw new Error(`expected a map with '${key}', got ${describe(value)}`);
  return value.get(key);
}

/** A short type name as Python would say it. */
export function describe(value: PyValue | undefined): string {
  if (value === undefined) return "missing";
  if (value === null) return "None";
  if (value instanceof PyFloat) return "float";
  if (value instanceof Map) return "dict";
  if (value instanceof Uint8Array) return "bytes";
  if (Array.isArray(value)) return "list";
  if (typeof value === "number") return "int";
  if (typeof value === "boolean") return "bool";
  return "str";
}

/** Convert to plain JSON-like values (maps to objects, floats to numbers) for `toEqual`. */
export function plain(value: PyValue | undefined): unknown {
  if (value instanceof PyFloat) return value.value;
  if (value instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of value) out[String(k)] = plain(v);
    return out;
  }
  if (Array.isArray(value)) return value.map(plain);
  return value;
}

/** The keys of a Peer record, in the order Python writes them (PROTOCOL.md). */
export const PEER_ORDER = ["id", "address", "port", "swarm", "team", "name", "kind", "capabilities", "last_seen"];
/** The keys of `_synapse.info` (and of the `self` of a heartbeat answer). */
export const INFO_ORDER = ["id", "name", "kind", "address", "port", "swarm", "team", "role", "description", "capabilities"];
/** The keys of a conversation event. */
export const EVENT_ORDER = ["conversation_id", "event_id", "kind", "peer", "payload", "parent_id", "created_at", "metadata"];
/** The keys of a request. */
export const REQUEST_ORDER = ["endpoint", "id", "args", "kwargs", "type"];
/** The keys of a response. */
export const RESPONSE_ORDER = ["id", "ok", "result", "error", "type"];

/**
 * Problems a strict Python reader has with a Peer record as sent: keys (exact set and order), and
 * types (port an int, last_seen a float or a whole int, capabilities a list of str, swarm/team str
 * or None, kind "node"/"bootstrap"). Empty when it is fine.
 */
export function peerProblems(value: PyValue | undefined, where = "peer"): string[] {
  if (!(value instanceof Map)) return [`${where}: not a dict but ${describe(value)}`];
  const problems: string[] = [];
  const keys = keysOf(value).map(String);
  if (keys.join(",") !== PEER_ORDER.join(",")) problems.push(`${where}: keys ${JSON.stringify(keys)}, expected ${JSON.stringify(PEER_ORDER)}`);
  const t = (key: string) => describe(value.get(key));
  if (t("id") !== "str") problems.push(`${where}.id is ${t("id")}`);
  if (t("address") !== "str") problems.push(`${where}.address is ${t("address")}`);
  if (t("port") !== "int") problems.push(`${where}.port is ${t("port")}`);
  for (const key of ["swarm", "team"]) if (!["str", "None"].includes(t(key))) problems.push(`${where}.${key} is ${t(key)}`);
  if (t("name") !== "str") problems.push(`${where}.name is ${t("name")}`);
  if (value.get("kind") !== "node" && value.get("kind") !== "bootstrap") problems.push(`${where}.kind is ${String(plain(value.get("kind")))}`);
  const caps = value.get("capabilities");
  if (!Array.isArray(caps) || caps.some((c) => typeof c !== "string")) problems.push(`${where}.capabilities is not a list of str`);
  if (!["float", "int"].includes(t("last_seen"))) problems.push(`${where}.last_seen is ${t("last_seen")}`);
  return problems;
}

/** Problems with a conversation event as sent (keys in order, types, and its Peer). */
export function eventProblems(value: PyValue | undefined, where = "event"): string[] {
  if (!(value instanceof Map)) return [`${where}: not a dict but ${describe(value)}`];
  const problems: string[] = [];
  const keys = keysOf(value).map(String);
  if (keys.join(",") !== EVENT_ORDER.join(",")) problems.push(`${where}: keys ${JSON.stringify(keys)}, expected ${JSON.stringify(EVENT_ORDER)}`);
  for (const key of ["conversation_id", "event_id", "kind"]) if (describe(value.get(key)) !== "str") problems.push(`${where}.${key} is ${describe(value.get(key))}`);
  for (const key of ["payload", "metadata"]) if (describe(value.get(key)) !== "dict") problems.push(`${where}.${key} is ${describe(value.get(key))}`);
  if (!["str", "None"].includes(describe(value.get("parent_id")))) problems.push(`${where}.parent_id is ${describe(value.get("parent_id"))}`);
  if (!["float", "int"].includes(describe(value.get("created_at")))) problems.push(`${where}.created_at is ${describe(value.get("created_at"))}`);
  return [...problems, ...peerProblems(value.get("peer"), `${where}.peer`)];
}
