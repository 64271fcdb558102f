/**
 * Where a signature check on the thread (src/security/verifier.ts) pays, measured with the
 * service itself: (1) a lone check on an idle event loop, inline against a round trip to the
 * thread (latency, µs, median of `--lone` checks one after the other); (2) the 2,550 checks of a
 * 50-peer broadcast with replies in one process, asked `--batch` at a time, each followed by
 * `--work` µs of other work on the event loop (as bench/lib/broadcast-verify-offload.ts), inline
 * against on the thread (wall time of the whole).
 *
 * Run: `bun bench/lib/verify-service.ts [--lone 2000] [--batch 50] [--work 50]`
 *
 * @module
 */
import { generateKeyPairSync, sign } from "node:crypto";
import { VerifyService } from "../../src/security/verifier.ts";
import { verifySignature } from "../../src/security/records.ts";

const arg = (name: string, fallback: number) => (process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : fallback);
const LONE = arg("--lone", 2000);
const BATCH = arg("--batch", 50);
const WORK_US = arg("--work", 50);
const CHECKS = 2550;

const { publicKey, privateKey } = generateKeyPairSync("ed25519");
const id = Buffer.from(publicKey.export({ format: "der", type: "spki" }).subarray(12)).toString("hex");
const message = new Uint8Array(150).fill(7);
const sig = new Uint8Array(sign(null, message, privateKey));
const inlineCheck = (i: string, b: Uint8Array, s: Uint8Array) => verifySignature(i, b, s);

function work(us: number): void {
  const until = performance.now() + us / 1000;
  while (performance.now() < until);
}

const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function lone(service: VerifyService): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < LONE; i++) {
    const t = performance.now();
    if (!(await service.check(id, message, sig))) throw new Error("a valid signature did not verify");
    times.push((performance.now() - t) * 1000);
  }
  return median(times);
}

async function round(service: VerifyService): Promise<number> {
  const t = performance.now();
  const answers: Array<Promise<boolean>> = [];
  for (let i = 0; i < CHECKS; i += BATCH) {
    for (let j = 0; j < Math.min(BATCH, CHECKS - i); j++) answers.push(service.check(id, message, sig));
    await new Promise<void>((resolve) => setImmediate(resolve)); // the batch goes, as a turn of the event loop ends
    for (let j = 0; j < Math.min(BATCH, CHECKS - i); j++) work(WORK_US);
  }
  if (!(await Promise.all(answers)).every(Boolean)) throw new Error("a valid signature did not verify");
  return performance.now() - t;
}

const inline = new VerifyService(inlineCheck, undefined, Infinity);
const threaded = new VerifyService(inlineCheck, undefined, 0);
threaded.acquire();
await threaded.check(id, message, sig); // the thread is up
for (let rep = 0; rep < 3; rep++) {
  const [li, lt] = [await lone(inline), await lone(threaded)];
  const [ri, rt] = [await round(inline), await round(threaded)];
  console.log(`lone check: inline ${li.toFixed(0)} µs, thread ${lt.toFixed(0)} µs; ${CHECKS} checks in batches of ${BATCH} with ${WORK_US} µs of work each: inline ${ri.toFixed(0)} ms, thread ${rt.toFixed(0)} ms`);
}
threaded.release();
