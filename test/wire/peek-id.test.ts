import { describe, expect, test } from "bun:test";
import { peekResponseId } from "../../src/wire/protocol.ts";
import { encode } from "../../src/wire/codec.ts";
import { errorResponse, okResponse } from "../../src/wire/messages.ts";
import { FrameDecoder } from "../../src/wire/frame.ts";

describe("frame - oversize peek", () => {
  test("frame - the id of a response is read from its first bytes", () => {
    const id = "0".repeat(64);
    expect(peekResponseId(encode(okResponse(id, "x".repeat(100))).subarray(0, 128))).toBe(id);
    expect(peekResponseId(encode(okResponse("abc", 1)))).toBe("abc");
    expect(peekResponseId(encode(errorResponse("", "bad_request", "no")))).toBe("");
    // Not a response map with "id" first, or cut short: no id.
    expect(peekResponseId(encode({ ok: true, id: "abc" }))).toBeNull();
    expect(peekResponseId(encode([1, 2]))).toBeNull();
    expect(peekResponseId(encode(okResponse(id, 1)).subarray(0, 20))).toBeNull();
    expect(peekResponseId(new Uint8Array())).toBeNull();
  });

  test("frame - with peek, a skipped oversize frame leaves the frames around it intact, at any split", () => {
    const frameOf = (payload: Uint8Array) => {
      const out = new Uint8Array(4 + payload.length);
      new DataView(out.buffer).setUint32(0, payload.length);
      out.set(payload, 4);
      return out;
    };
    const small = (n: number) => frameOf(new Uint8Array(n).fill(n));
    const stream = Buffer.concat([small(3), frameOf(new Uint8Array(500).fill(9)), small(5), small(7)]);
    for (const step of [1, 2, 3, 7, 64, 200, 1000]) {
      const frames: number[] = [];
      const heads: number[] = [];
      const decoder = new FrameDecoder(100, {
        onFrame: (b, s, e) => frames.push(e - s, b[s] ?? -1),
        onOversize: (size, head) => {
          heads.push(size, head!.length, head![0]!);
          return true;
        },
      }, { peek: 16 });
      for (let i = 0; i < stream.length; i += step) decoder.push(stream.subarray(i, i + step));
      expect(frames).toEqual([3, 3, 5, 5, 7, 7]);
      expect(heads).toEqual([500, 16, 9]);
      expect(decoder.partial).toBe(false);
    }
  });
});
