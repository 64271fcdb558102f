/**
 * The worker thread of {@link VerifyService} (`verifier.ts`): checks the batches of Ed25519
 * signatures posted to it and posts back one byte per check (1: valid), in the batch's order, with
 * the CPU time (`process.threadCpuUsage`) and wall time it spent on the batch, in microseconds: the
 * service leaves a thread that gets little CPU while it checks (no core of its own).
 *
 * A batch is one transferred buffer (see `packBatch` in verifier.ts): a count, then per check the
 * signer's 32-byte public key, the 64-byte signature, the length of the signed bytes (uint32,
 * big-endian) and the bytes. Keys are kept ready by their bytes (least recently used forgotten
 * past a bound), as the event loop's `publicKeyOf` keeps them.
 *
 * The thread runs the source of {@link signatureThread} from a `blob:` URL ({@link threadScript}),
 * not this file: a compiled binary (`bun build --compile`, the `sn` binary or an application that
 * bundles this package) holds no file to start a worker from unless it was named as an extra entry
 * point. So the function is self-contained: everything it uses is global or taken inside it
 * (`process.getBuiltinModule`, which no bundler rewrites), never a binding of this module.
 *
 * @module
 */

/** The thread's whole program; runs only inside the worker (see the module header). */
export function signatureThread(): void {
  const { createPublicKey, verify } = process.getBuiltinModule("node:crypto") as typeof import("node:crypto");
  type Key = import("node:crypto").KeyObject;
  const thread = globalThis as unknown as Worker;
  const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
  // Keys kept ready (as `MAX_CACHED_KEYS` in records.ts).
  const MAX_KEYS = 2_048;
  const keys = new Map<string, Key | null>();

  const keyOf = (raw: Buffer): Key | null => {
    const hex = raw.toString("latin1");
    let key = keys.get(hex);
    if (key !== undefined) return key;
    try {
      key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: "der", type: "spki" });
    } catch {
      key = null; // not a point on the curve
    }
    keys.set(hex, key);
    if (keys.size > MAX_KEYS) keys.delete(keys.keys().next().value as string);
    return key;
  };

  thread.onmessage = (e: MessageEvent<{ id: number; batch: ArrayBuffer }>) => {
    const wall0 = performance.now();
    // A runtime without it reports no CPU time (NaN), and the thread is never judged starved.
    const cpu0 = typeof process.threadCpuUsage === "function" ? process.threadCpuUsage() : null;
    const buf = Buffer.from(e.data.batch);
    const count = buf.readUInt32BE(0);
    const out = new Uint8Array(count);
    let at = 4;
    for (let i = 0; i < count; i++) {
      const key = keyOf(buf.subarray(at, at + 32));
      const sig = buf.subarray(at + 32, at + 96);
      const length = buf.readUInt32BE(at + 96);
      const bytes = buf.subarray(at + 100, at + 100 + length);
      at += 100 + length;
      try {
        out[i] = key && verify(null, bytes, key, sig) ? 1 : 0;
      } catch {
        out[i] = 0;
      }
    }
    const cpu = cpu0 ? process.threadCpuUsage(cpu0) : null;
    thread.postMessage({ id: e.data.id, out, cpu: cpu ? cpu.user + cpu.system : Number.NaN, wall: (performance.now() - wall0) * 1000 }, [out.buffer]);
  };
}

let scriptUrl: string | null = null;

/** A `blob:` URL of {@link signatureThread}'s program, made once per process. */
export function threadScript(): string {
  scriptUrl ??= URL.createObjectURL(new Blob([`(${signatureThread.toString()})();\n`], { type: "text/javascript" }));
  return scriptUrl;
}
