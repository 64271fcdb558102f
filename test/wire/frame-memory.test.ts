import { expect, test } from "bun:test";
import { FrameDecoder } from "../../src/wire/frame.ts";
import { decode, encode } from "../../src/wire/codec.ts";

test("frame - a header alone does not reserve the size it announces; the buffer grows with the bytes", () => {
  const size = 4 * 1024 * 1024;
  const frames: number[] = [];
  const decoder = new FrameDecoder(size, {
    onFrame: (bytes, start, end) => {
      let sum = 0;
      for (let i = start; i < end; i++) sum += bytes[i]!;
      frames.push(end - start, sum);
    },
    onOversize: () => {
      throw new Error("not oversize");
    },
  });
  const header = Buffer.alloc(4);
  header.writeUInt32BE(size);
  decoder.push(Buffer.concat([header, Buffer.alloc(10, 1)]));
  expect(decoder.partial).toBe(true);
  expect(decoder.reserved).toBeLessThanOrEqual(128 * 1024);
  // Feed the rest in 100 KiB pieces: the buffer never exceeds the frame and the frame is intact.
  let sent = 10;
  while (sent < size) {
    const n = Math.min(100 * 1024, size - sent);
    decoder.push(Buffer.alloc(n, 1));
    sent += n;
    expect(decoder.reserved).toBeLessThanOrEqual(size + 4);
    if (sent < size) expect(decoder.reserved).toBeLessThan(2 * (sent + 4) + 64 * 1024);
  }
  expect(frames).toEqual([size, size]);
  expect(decoder.partial).toBe(false);
});

test("frame - a header split across reads still gathers correctly", () => {
  const got: string[] = [];
  const decoder = new FrameDecoder(1024, {
    onFrame: (bytes, start, end) => got.push(Buffer.from(bytes.subarray(start, end)).toString()),
    onOversize: () => {
      throw new Error("not oversize");
    },
  });
  const frame = Buffer.concat([Buffer.from([0, 0, 0, 5]), Buffer.from("hello")]);
  for (const b of frame) decoder.push(Buffer.from([b]));
  expect(got).toEqual(["hello"]);
  expect(decoder.reserved).toBeGreaterThan(0);
});

test("frame - a frame gathered across reads is handed over as a plain Uint8Array, whose bins decode as plain Uint8Arrays", () => {
  const payloads: unknown[] = [];
  const kinds: Array<Function> = [];
  const decoder = new FrameDecoder(1024 * 1024, {
    onFrame: (bytes, start, end) => {
      kinds.push(bytes.constructor);
      payloads.push(decode(bytes.subarray(start, end)));
    },
    onOversize: () => {
      throw new Error("not oversize");
    },
  });
  // Small and large frames (the gather buffer sized to the frame, and grown past its first size).
  for (const size of [2000, 3000, 200_000]) {
    const bins = [new Uint8Array(size).fill(7), new Uint8Array(20).fill(9)];
    const payload = encode({ bins });
    const frame = Buffer.concat([Buffer.from([(payload.length >>> 24) & 0xff, (payload.length >>> 16) & 0xff, (payload.length >>> 8) & 0xff, payload.length & 0xff]), payload]);
    // In pieces of an odd size (every frame spans several), each a Buffer as a socket's data handler is given.
    for (let at = 0; at < frame.length; at += 997) decoder.push(Buffer.from(frame.subarray(at, at + 997)));
  }
  expect(kinds).toEqual([Uint8Array, Uint8Array, Uint8Array]);
  for (const [i, size] of [2000, 3000, 200_000].entries()) {
    const { bins } = payloads[i] as { bins: Uint8Array[] };
    for (const bin of bins) expect(bin.constructor).toBe(Uint8Array);
    expect(bins[0]!.length).toBe(size);
    expect(bins[0]!.every((b) => b === 7)).toBe(true);
    expect([...bins[1]!]).toEqual(new Array(20).fill(9));
  }
});

test("codec - a large value does not leave msgpackr's slab grown: the next value is written into a fresh, small one", () => {
  const big = encode({ members: Array.from({ length: 5000 }, (_, i) => ({ id: `${i}`.padStart(64, "0"), sig: new Uint8Array(64), port: i })) });
  expect(big.length).toBeGreaterThan(256 * 1024);
  const copy = Uint8Array.from(big);
  const small = encode({ a: 1 });
  expect(small.buffer.byteLength).toBeLessThanOrEqual(64 * 1024);
  expect(small.buffer).not.toBe(big.buffer);
  // The large value's bytes are intact (a fresh slab, never written over) and decode.
  expect(Buffer.from(big).equals(Buffer.from(copy))).toBe(true);
  expect((decode(big) as { members: unknown[] }).members).toHaveLength(5000);
  expect(decode(small)).toEqual({ a: 1 });
});
