/**
 * A binary value given as parts: written as ONE MessagePack `bin` holding the parts' bytes back to
 * back, without joining them into an array of their own first. A batch's items as bytes are such a
 * value (each item's kept bytes, sent as they came): the hot-path encoder copies each part straight
 * into the frame, where a joined array would be a fresh allocation of tens of kilobytes per call and
 * per answer, written once and then dropped. The general codec (and anything that wants one array)
 * joins them ({@link BinParts.bytes}). The receiving end reads an ordinary `bin`.
 *
 * @module
 */
import { concatBytes } from "../util/bytes.ts";

export class BinParts {
  /** The parts' lengths summed: the bin's length. */
  readonly length: number;

  /** The parts are held, not copied: they must not change before the value is written. */
  constructor(readonly parts: readonly Uint8Array[]) {
    let n = 0;
    for (const part of parts) n += part.length;
    this.length = n;
  }

  /** The parts joined in one new array. */
  bytes(): Uint8Array {
    return concatBytes(this.parts, this.length);
  }
}

/** `value`'s bytes when it is binary: a Uint8Array itself, {@link BinParts} joined; null for anything else. */
export function binaryOf(value: unknown): Uint8Array | null {
  return value instanceof Uint8Array ? value : value instanceof BinParts ? value.bytes() : null;
}
