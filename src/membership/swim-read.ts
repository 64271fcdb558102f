/**
 * Reading SWIM input from the network: the limits on what a message may carry, and the reader that
 * turns a decoded value into a member update (or null: the core never throws on input from the
 * network). Messages are read, in both wire forms, by `swim-wire.ts`; the vocabulary is
 * `swim-types.ts`.
 *
 * @module
 */
import { isMap, isPort } from "../util/guards.ts";
import { SWIM_STATES, type MemberUpdate, type SwimState } from "./swim-types.ts";

/** Longest id accepted from the network. */
const MAX_ID = 128;
/** Longest address accepted from the network. */
export const MAX_ADDRESS = 255;
/** Largest signature accepted from the network. */
const MAX_SIG = 512;
/** Most updates in one message or push-pull accepted from the network. */
export const MAX_UPDATES = 20_000;

/** True for a member id as the network may carry it: a non-empty string of at most 128 characters. */
export function isId(value: unknown): value is string {
  return typeof value === "string" && value.length > 0 && value.length <= MAX_ID;
}

/** Largest `page` a push-pull request may ask for (larger ones are read as this). */
export const MAX_PAGE = 1024;

/** True for a list version (`since`, `version`): a non-negative safe integer. */
export function isVersion(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/** A member update from a decoded network value, or null when malformed. */
export function readUpdate(raw: unknown, readMeta?: (meta: unknown) => unknown): MemberUpdate | null {
  if (!isMap(raw)) return null;
  const { id, incarnation, state, address, port, meta, sig, from } = raw;
  if (!isId(id)) return null;
  if (typeof incarnation !== "number" || !Number.isSafeInteger(incarnation) || incarnation < 0) return null;
  // The state as the constant (a decoded string is a copy of its own, kept as long as the member).
  const known = SWIM_STATES.find((s) => s === state);
  if (known === undefined) return null;
  return readUpdateRest(id, incarnation, known, address, port, meta, sig, from, readMeta);
}

/**
 * The rest of {@link readUpdate}, for an update whose id, incarnation and state are read and valid
 * (by it, or peeked from a packed update's leading keys: `PackedUpdate.read`).
 */
export function readUpdateRest(id: string, incarnation: number, state: SwimState, address: unknown, port: unknown, meta: unknown, sig: unknown, from: unknown, readMeta?: (meta: unknown) => unknown): MemberUpdate | null {
  if (typeof address !== "string" || address.length === 0 || address.length > MAX_ADDRESS) return null;
  if (!isPort(port)) return null;
  const update: MemberUpdate = { id, incarnation, state, address, port };
  if (meta !== undefined && meta !== null) {
    const read = readMeta ? readMeta(meta) : meta;
    if (read === undefined) return null;
    update.meta = read;
  }
  if (sig !== undefined && sig !== null) {
    if (!(sig instanceof Uint8Array) || sig.length > MAX_SIG) return null;
    update.sig = sig;
  }
  if (from !== undefined && from !== null) {
    if (!isId(from)) return null;
    update.from = from;
  }
  return update;
}

/**
 * {@link estimateBytes} of a lean death, `[id, incarnation]`, without the array: each death a node
 * queues is measured so, and the array cost an allocation per death (and brought arrays, in a
 * kill, to a walk that had met only maps).
 */
export function leanDeathBytes(id: string): number {
  return 3 + (id.length + 3) + 9;
}

/** A rough size of a decoded value in MessagePack bytes (bounded walk), for the default `measure`. */
export function estimateBytes(value: unknown, depth = 0): number {
  if (value === null || value === undefined || typeof value === "boolean") return 1;
  if (typeof value === "number") return 9;
  if (typeof value === "string") return value.length + 3;
  if (value instanceof Uint8Array) return value.length + 3;
  if (depth > 4) return 16;
  // Loops that allocate nothing (no entry arrays, no closure): every update a node queues is
  // measured, and in a mass join `Object.entries` here was 30% of merging a whole state.
  if (Array.isArray(value)) {
    let sum = 3;
    for (let i = 0; i < value.length; i++) if (i in value) sum += estimateBytes(value[i], depth + 1);
    return sum;
  }
  if (typeof value === "object") {
    let sum = 3;
    const map = value as Record<string, unknown>;
    for (const k in map) if (Object.hasOwn(map, k)) sum += k.length + 1 + estimateBytes(map[k], depth + 1);
    return sum;
  }
  return 8;
}
