/**
 * Binary values decoded as views of the socket read they came in (`SocketHandler.handleData`'s
 * `owned`, `fastDecode`'s views): Bun hands every read over in a buffer of its own, so a value kept
 * past its call (a batch's items in a node's memory) still holds its bytes after any traffic that
 * follows, over plain TCP and over a closed swarm's records, both ways.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { Client, Pool, generateSwarmKey } from "../../src/index.ts";
import { LOOPBACK, startNode, stopAll } from "../helpers/net.ts";

afterEach(stopAll);

/** `size` bytes that tell which value they are (`tag`) at every position. */
function pattern(tag: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (tag * 31 + i * 7) & 0xff;
  return out;
}

function intact(bytes: Uint8Array, tag: number, size: number): boolean {
  if (bytes.length !== size) return false;
  for (let i = 0; i < size; i++) if (bytes[i] !== ((tag * 31 + i * 7) & 0xff)) return false;
  return true;
}

test("Bun hands each socket read over in a buffer of its own, never written again", async () => {
  const kept: Array<{ view: Uint8Array; copy: Uint8Array }> = [];
  const total = 3_000_000;
  let got = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const server = Bun.listen({
    hostname: LOOPBACK,
    port: 0,
    socket: {
      data(_socket, chunk) {
        kept.push({ view: new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength), copy: new Uint8Array(chunk) });
        got += chunk.length;
        if (got >= total) done();
      },
    },
  });
  let sent = 0;
  const pump = (socket: { write(b: Uint8Array): number }) => {
    while (sent < total) {
      const block = pattern(sent, 1000 + (sent % 9000));
      const written = socket.write(block);
      sent += Math.max(written, 0);
      if (written < block.length) return;
    }
  };
  const client = await Bun.connect({ hostname: LOOPBACK, port: server.port, socket: { data() {}, drain: (s) => pump(s) } });
  try {
    pump(client);
    await finished;
    expect(kept.length).toBeGreaterThan(1);
    // Every read's bytes are as they came, after all the reads that followed.
    expect(kept.every((k) => k.view.length === k.copy.length && k.view.every((b, i) => b === k.copy[i]))).toBe(true);
    expect(new Set(kept.map((k) => k.view.buffer)).size).toBe(kept.length);
  } finally {
    client.end();
    server.stop(true);
  }
});

describe("binary values kept past their call", () => {
  for (const closed of [false, true]) {
    test(`stay intact after the traffic that follows (${closed ? "closed swarm" : "plain TCP"}): requests and answers`, async () => {
      const swarmKey = closed ? generateSwarmKey() : undefined;
      const node = await startNode({ swarm: "lab", swarmKey, heartbeatInterval: null });
      const received: Array<{ tag: number; size: number; bytes: Uint8Array }> = [];
      node.endpoint("keep", (tag: number, size: number, bytes: Uint8Array) => {
        received.push({ tag, size, bytes });
        return pattern(tag + 1, size); // an answer of the same size, kept by the caller
      });
      const client = new Client(LOOPBACK, node.port, closed ? { timeout: 10, swarmKey, swarm: "lab" } : { timeout: 10, pool: new Pool() });
      const answers: Array<{ tag: number; size: number; bytes: Uint8Array }> = [];
      try {
        const sizes = [600, 3000, 12_000, 40_000];
        let tag = 0;
        // One call at a time (a frame alone in its read: viewed), then many at once (reads of several frames).
        for (let i = 0; i < 40; i++) {
          const size = sizes[i % sizes.length]!;
          const t = tag++;
          answers.push({ tag: t + 1, size, bytes: await client.call<Uint8Array>("keep", t, size, pattern(t, size)) });
        }
        const burst = Array.from({ length: 120 }, (_, i) => {
          const size = sizes[i % sizes.length]!;
          const t = tag++;
          return client.call<Uint8Array>("keep", t, size, pattern(t, size)).then((bytes) => answers.push({ tag: t + 1, size, bytes }));
        });
        await Promise.all(burst);
        expect(received.length).toBe(160);
        expect(answers.length).toBe(160);
        expect(received.filter((r) => !intact(r.bytes, r.tag, r.size)).length).toBe(0);
        expect(answers.filter((a) => !intact(a.bytes, a.tag, a.size)).length).toBe(0);
        // The views were made (not only copies): a value that is part of a larger read.
        expect(received.some((r) => r.bytes.byteLength < r.bytes.buffer.byteLength)).toBe(true);
        // Each view holds at most twice its own size of memory (a decipher's output has a byte more).
        expect(received.every((r) => r.bytes.buffer.byteLength <= 2 * r.bytes.byteLength + 1)).toBe(true);
        expect(answers.every((a) => a.bytes.buffer.byteLength <= 2 * a.bytes.byteLength + 1)).toBe(true);
      } finally {
        client.close();
      }
    });
  }
});
