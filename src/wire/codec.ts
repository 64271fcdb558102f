/**
 * The MessagePack codec. Standard MessagePack only, as the Python side writes and accepts it:
 * maps as maps (no record extension), minimal headers, `undefined` as nil, no Date/Map/Set
 * extensions (a Date goes out as float unix seconds, a Map as a map, a Set as an array).
 *
 * @module
 */
import { Packr, Unpackr, addExtension } from "msgpackr";
import { EncodeError, ProtocolError } from "../errors.ts";

// Dates travel as float unix seconds, the way Python peers send timestamps (`last_seen`,
// `created_at`). Without this msgpackr writes its timestamp extension, which Python refuses.
// No `type` means the written value is packed as plain MessagePack.
addExtension({ Class: Date, write: (date: Date) => date.getTime() / 1000 });

/** Options shared by every plain-map packer in the package. */
const PACK_OPTIONS = {
  useRecords: false,
  variableMapSize: true,
  encodeUndefinedAsNil: true,
  moreTypes: false,
  structuredClone: false,
  bundleStrings: false,
  useFloat32: 0,
} as const;

const UNPACK_OPTIONS = {
  useRecords: false,
  mapsAsObjects: true,
  // Python writes big unsigned ints as uint64; read them as numbers (exact below 2^53).
  int64AsType: "number",
  // Binary payloads must not alias the receive buffer, which is reused for later reads.
  copyBuffers: true,
} as const;

const packr = new Packr(PACK_OPTIONS);
const unpackr = new Unpackr(UNPACK_OPTIONS as ConstructorParameters<typeof Unpackr>[0]);

/**
 * Encode one value to MessagePack. The returned bytes are a view into msgpackr's slab: copy them
 * (or write them) before the next large allocation matters; they are never overwritten.
 *
 * @throws {EncodeError} when the value cannot be carried (functions, symbols, cycles).
 */
export function encode(value: unknown): Uint8Array {
  try {
    return packr.pack(value);
  } catch (error) {
    throw new EncodeError(`cannot encode value as MessagePack: ${(error as Error).message ?? error}`, { cause: error });
  }
}

/**
 * Decode exactly one MessagePack value from `bytes[start, end)`, without copying the input.
 *
 * @throws {ProtocolError} on undecodable data, unknown extensions or trailing bytes.
 */
export function decode(bytes: Uint8Array, start = 0, end = bytes.length): unknown {
  try {
    // Decode from a view of exactly the payload: msgpackr judges "small input" by the absolute end
    // offset, so a frame deep inside a large socket read would skip its key cache and call the
    // native string extractor for every string (about 1.5x slower for an RPC message).
    return unpackr.unpack(start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end));
  } catch (error) {
    const message = (error as Error).message ?? String(error);
    throw new ProtocolError(
      message.startsWith("Data read, but end of buffer not reached")
        ? "unpack(b) received extra data."
        : `undecodable MessagePack: ${message}`,
      { cause: error },
    );
  }
}
