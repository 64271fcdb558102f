/**
 * What checking signatures on a thread of its own would save a busy event loop (issue #13's
 * "verify batches on a worker thread", as Lodestar does for BLS), measured before adopting it: the
 * 2,550 Ed25519 checks of a 50-peer broadcast with replies in one process (51 nodes x 50 replies),
 * each followed by `--work` µs (default 50) of other work on the event loop, done inline, then with
 * the checks posted to one worker thread in batches of `--batch` (default 50) while the event loop
 * does the other work. Prints both wall times.
 *
 * Run: `bun bench/lib/broadcast-verify-offload.ts [--batch 50] [--work 50]`
 *
 * @module
 */
import { generateKeyPairSync, sign, verify } from "node:crypto";

const arg = (name: string, fallback: number) => (process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : fallback);
const CHECKS = 2550;
const BATCH = arg("--batch", 50);
const WORK_US = arg("--work", 50);

const { publicKey, privateKey } = generateKeyPairSync("ed25519");
const raw = new Uint8Array(publicKey.export({ format: "der", type: "spki" }).subarray(12));
const message = new Uint8Array(150).fill(7);
const sig = new Uint8Array(sign(null, message, privateKey));

/** Busy the event loop for `us` microseconds (the rest of an ingest: decoding, filing, sending on). */
function work(us: number): void {
  const until = performance.now() + us / 1000;
  while (performance.now() < until);
}

let t = performance.now();
for (let i = 0; i < CHECKS; i++) {
  if (!verify(null, message, publicKey, sig)) throw new Error("a valid signature did not verify");
  work(WORK_US);
}
const inline = performance.now() - t;

const thread = new Worker(new URL("./broadcast-verify-thread.ts", import.meta.url).href);
const waiting = new Map<number, (out: Uint8Array) => void>();
thread.onmessage = (e: MessageEvent<{ id: number; out: Uint8Array }>) => {
  waiting.get(e.data.id)?.(e.data.out);
  waiting.delete(e.data.id);
};
let next = 0;
const post = (jobs: Array<[Uint8Array, Uint8Array, Uint8Array]>) =>
  new Promise<Uint8Array>((resolve) => {
    const id = next++;
    waiting.set(id, resolve);
    thread.postMessage({ id, jobs });
  });
await post([[raw, message, sig]]); // the thread is up and its key cached
t = performance.now();
const answers: Array<Promise<Uint8Array>> = [];
for (let i = 0; i < CHECKS; i += BATCH) {
  const n = Math.min(BATCH, CHECKS - i);
  answers.push(post(Array.from({ length: n }, (): [Uint8Array, Uint8Array, Uint8Array] => [raw, message, sig])));
  for (let j = 0; j < n; j++) work(WORK_US);
}
const outs = await Promise.all(answers);
const offloaded = performance.now() - t;
thread.terminate();
if (!outs.every((out) => out.every((ok) => ok === 1))) throw new Error("a valid signature did not verify on the thread");
console.log(`${CHECKS} checks, ${WORK_US} µs of other work each: inline ${inline.toFixed(0)} ms, on a thread (batches of ${BATCH}) ${offloaded.toFixed(0)} ms`);
