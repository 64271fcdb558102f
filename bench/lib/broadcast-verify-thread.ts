/**
 * The thread of `broadcast-verify-offload.ts`: checks batches of Ed25519 signatures posted to it
 * (`{ id, jobs: [publicKey (32 bytes), message, signature][] }`) and posts back one byte per job
 * (1: valid).
 *
 * @module
 */
import { createPublicKey, verify, type KeyObject } from "node:crypto";

declare const self: Worker;

const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
const keys = new Map<string, KeyObject>();

self.onmessage = (e: MessageEvent<{ id: number; jobs: Array<[Uint8Array, Uint8Array, Uint8Array]> }>) => {
  const out = new Uint8Array(e.data.jobs.length);
  e.data.jobs.forEach(([raw, message, sig], i) => {
    const hex = Buffer.from(raw).toString("hex");
    let key = keys.get(hex);
    if (!key) {
      key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: "der", type: "spki" });
      keys.set(hex, key);
    }
    out[i] = verify(null, message, key, sig) ? 1 : 0;
  });
  self.postMessage({ id: e.data.id, out });
};
