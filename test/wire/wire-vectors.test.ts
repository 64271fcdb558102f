import { describe, expect, test } from "bun:test";
import { decode, encode } from "../../src/wire/codec.ts";
import { FrameDecoder, HEADER_SIZE } from "../../src/wire/frame.ts";
import { frameBytes } from "../helpers/net.ts";
import { SHARED_VECTORS_URL, VECTORS_URL, loadVectors } from "../helpers/vectors.ts";

const vectors = await loadVectors();
const sharedVectors = Bun.file(SHARED_VECTORS_URL);
const haveShared = await sharedVectors.exists();
if (!haveShared) console.warn(`SKIP wire vectors copy check: ${SHARED_VECTORS_URL.pathname} is absent (it is beside the checkout in development and CI)`);

test("wire vectors - the copy in test/fixtures is identical to the contract's ../shared/wire-vectors.json", async () => {
  if (!haveShared) return; // reported above; CI always has shared/
  expect(await Bun.file(VECTORS_URL).text()).toBe(await sharedVectors.text());
});

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
const unhex = (text: string) => new Uint8Array(Buffer.from(text, "hex"));

/** Decode every frame of `chunks` through a FrameDecoder. */
function decodeFrames(chunks: Uint8Array[], limit = 1 << 20): unknown[] {
  const out: unknown[] = [];
  const decoder = new FrameDecoder(limit, {
    onFrame: (bytes, start, end) => out.push(decode(bytes, start, end)),
    onOversize: (size) => {
      throw new Error(`unexpected oversize ${size}`);
    },
  });
  for (const chunk of chunks) decoder.push(chunk);
  return out;
}

/**
 * Rewrite a MessagePack payload the way a JavaScript encoder must write it: every float64 whose
 * value is whole becomes the smallest integer format (JavaScript cannot tell 1.0 from 1); every
 * other byte is kept. Returns the rewritten bytes and how many floats were rewritten.
 */
function wholeFloatsAsInts(bytes: Uint8Array): { bytes: Uint8Array; rewritten: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  let at = 0;
  let rewritten = 0;
  const copy = (n: number) => {
    for (let i = 0; i < n; i++) out.push(bytes[at++]!);
  };
  const value = (): void => {
    const b = bytes[at]!;
    if (b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) return copy(1);
    if ((b & 0xe0) === 0xa0) return copy(1 + (b & 0x1f));
    if ((b & 0xf0) === 0x90 || (b & 0xf0) === 0x80) {
      const n = (b & 0x0f) * ((b & 0xf0) === 0x80 ? 2 : 1);
      copy(1);
      for (let i = 0; i < n; i++) value();
      return;
    }
    switch (b) {
      case 0xcb: {
        const f = view.getFloat64(at + 1);
        if (Number.isInteger(f) && Math.abs(f) < 2 ** 31) {
          at += 9;
          rewritten++;
          for (const x of encode(f)) out.push(x);
          return;
        }
        return copy(9);
      }
      case 0xca:
        return copy(5);
      case 0xcc: case 0xd0: return copy(2);
      case 0xcd: case 0xd1: return copy(3);
      case 0xce: case 0xd2: return copy(5);
      case 0xcf: case 0xd3: return copy(9);
      case 0xd9: case 0xc4: return copy(2 + bytes[at + 1]!);
      case 0xda: case 0xc5: return copy(3 + view.getUint16(at + 1));
      case 0xdb: case 0xc6: return copy(5 + view.getUint32(at + 1));
      case 0xdc: case 0xdd: case 0xde: case 0xdf: {
        const wide = b === 0xdd || b === 0xdf;
        const count = (wide ? view.getUint32(at + 1) : view.getUint16(at + 1)) * (b >= 0xde ? 2 : 1);
        copy(wide ? 5 : 3);
        for (let i = 0; i < count; i++) value();
        return;
      }
      default:
        throw new Error(`vector uses MessagePack byte 0x${b.toString(16)}, which the wire contract excludes`);
    }
  };
  value();
  if (at !== bytes.length) throw new Error("trailing bytes in vector");
  return { bytes: new Uint8Array(out), rewritten };
}

describe("wire vectors", () => {
  test("the shared file holds the frames this suite expects", () => {
    expect(vectors.length).toBeGreaterThanOrEqual(12);
    expect(vectors.some((v) => v.name.startsWith("request echo(1.0)"))).toBe(true);
  });

  for (const vector of vectors) {
    describe(vector.name.split(";")[0]!, () => {
      const bytes = unhex(vector.hex);

      test("the header announces the payload length", () => {
        expect(new DataView(bytes.buffer).getUint32(0)).toBe(bytes.length - HEADER_SIZE);
      });

      test("decodes through FrameDecoder to the documented value", () => {
        expect(decodeFrames([bytes])).toEqual([vector.decoded]);
      });

      test("re-encodes to the same bytes (whole float64 values as the smallest int)", () => {
        const canonical = wholeFloatsAsInts(bytes.subarray(HEADER_SIZE));
        const ours = frameBytes(encode(vector.decoded));
        if (canonical.rewritten === 0) {
          // Byte for byte, exactly as Python wrote it.
          expect(hex(ours)).toBe(vector.hex);
        } else {
          // The file's float64 exception: equal decoded values, and equal bytes once the whole
          // floats Python wrote are written as JavaScript must write them.
          expect(decode(ours, HEADER_SIZE)).toEqual(decode(bytes, HEADER_SIZE));
          expect(hex(ours.subarray(HEADER_SIZE))).toBe(hex(canonical.bytes));
        }
      });
    });
  }

  test("only the frames carrying a whole float64 need the exception", () => {
    const excepted = vectors.filter((v) => wholeFloatsAsInts(unhex(v.hex).subarray(HEADER_SIZE)).rewritten > 0).map((v) => v.name);
    expect(excepted.some((n) => n.startsWith("request echo(1.0)"))).toBe(true);
    expect(excepted.length).toBeLessThan(vectors.length / 2);
  });
});

describe("FrameDecoder", () => {
  const all = vectors.map((v) => unhex(v.hex));
  const stream = new Uint8Array(Buffer.concat(all));
  const expected = vectors.map((v) => v.decoded);

  test("many frames in one chunk", () => {
    expect(decodeFrames([stream])).toEqual(expected);
  });

  test("a frame split at every byte boundary", () => {
    for (const bytes of all) {
      for (let cut = 1; cut < bytes.length; cut++) {
        const got = decodeFrames([bytes.subarray(0, cut), bytes.subarray(cut)]);
        expect(got.length).toBe(1);
        expect(got[0]).toEqual(decode(bytes, HEADER_SIZE));
      }
    }
  });

  test("the whole stream split at every byte boundary, inside and between frames", () => {
    for (let cut = 1; cut < stream.length; cut++) {
      expect(decodeFrames([stream.subarray(0, cut), stream.subarray(cut)])).toEqual(expected);
    }
  });

  test("frames spanning many chunks (1, 2, 3, 7 and 64 bytes at a time)", () => {
    for (const size of [1, 2, 3, 7, 64]) {
      const chunks: Uint8Array[] = [];
      for (let at = 0; at < stream.length; at += size) chunks.push(stream.slice(at, at + size));
      expect(decodeFrames(chunks)).toEqual(expected);
    }
  });

  test("a large frame gathered from many chunks", () => {
    const blob = new Uint8Array(300_000).map((_, i) => (i * 7) & 0xff);
    const bytes = frameBytes(encode({ blob }));
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < bytes.length; at += 4093) chunks.push(bytes.slice(at, at + 4093));
    const [got] = decodeFrames(chunks) as Array<{ blob: Uint8Array }>;
    expect(Buffer.from(got!.blob).equals(Buffer.from(blob))).toBe(true);
  });

  test("zero-copy: a frame wholly inside one chunk is a view of that chunk", () => {
    const chunk = new Uint8Array(Buffer.concat([all[0]!, all[1]!, all[2]!.subarray(0, 10)]));
    const seen: Array<{ bytes: Uint8Array; start: number; end: number }> = [];
    const decoder = new FrameDecoder(1 << 20, {
      onFrame: (bytes, start, end) => seen.push({ bytes, start, end }),
      onOversize: () => {},
    });
    decoder.push(chunk);
    expect(seen.length).toBe(2);
    expect(seen[0]!.bytes === chunk).toBe(true);
    expect(seen[1]!.bytes === chunk).toBe(true);
    expect([seen[0]!.start, seen[0]!.end]).toEqual([HEADER_SIZE, all[0]!.length]);
    expect([seen[1]!.start, seen[1]!.end]).toEqual([all[0]!.length + HEADER_SIZE, all[0]!.length + all[1]!.length]);
    expect(decoder.partial).toBe(true);
    // The rest of the split frame arrives; that one is gathered, so it is not the new chunk.
    const rest = all[2]!.slice(10);
    decoder.push(rest);
    expect(seen.length).toBe(3);
    expect(seen[2]!.bytes === rest).toBe(false);
    expect(decode(seen[2]!.bytes, seen[2]!.start, seen[2]!.end)).toEqual(vectors[2]!.decoded);
    expect(decoder.partial).toBe(false);
  });

  test("an empty payload is a frame of its own", () => {
    const sizes: number[] = [];
    const decoder = new FrameDecoder(16, { onFrame: (_b, s, e) => sizes.push(e - s), onOversize: () => {} });
    decoder.push(new Uint8Array([0, 0, 0, 0, 0, 0, 0, 1, 0x2a]));
    expect(sizes).toEqual([0, 1]);
  });

  test("a header over the limit stops the decoder before any payload is buffered", () => {
    const frames: number[] = [];
    const oversize: number[] = [];
    const decoder = new FrameDecoder(100, {
      onFrame: (_b, s, e) => frames.push(e - s),
      onOversize: (size) => {
        oversize.push(size);
      },
    });
    decoder.push(frameBytes(new Uint8Array(100))); // exactly the limit is fine
    decoder.push(new Uint8Array([0, 0, 0])); // header split across reads
    decoder.push(new Uint8Array([101, 1, 2, 3]));
    decoder.push(frameBytes(new Uint8Array(5))); // ignored: the decoder stopped
    expect(frames).toEqual([100]);
    expect(oversize).toEqual([101]);
    expect(decoder.stopped).toBe(true);
    expect(decoder.partial).toBe(false);
  });
});
