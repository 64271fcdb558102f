/**
 * What a member's 64-byte signature costs in the heap, by how it is kept (issue #12's item (d)):
 * the layout SWIM's member records use (a `Uint8Array` of its own, as the decoder copies it), a
 * `Buffer` copy, a 64-byte view into a shared slab (one `ArrayBuffer` of 64 KB or 4 KB for many
 * signatures), a latin1 string, and a 64-byte slot of a shared slab named by a number (no object
 * per signature). Each layout keeps 20,000 signatures in an array; the figure is
 * `process.memoryUsage().heapUsed` after a full GC over the heap before, per signature, less the
 * array's own 8 bytes a slot (its `array only` row).
 *
 * Run: `bun bench/lib/membership-heap-sig.ts`
 *
 * @module
 */

const N = 20_000;
const SIG = 64;

function heap(): number {
  Bun.gc(true);
  Bun.gc(true);
  return process.memoryUsage().heapUsed;
}

/** Bytes per signature that `make` keeps (the array that holds them included). */
function perItem(make: () => unknown): number {
  const before = heap();
  const kept = make();
  const after = heap();
  if (kept === null) throw new Error("unreachable: keeps the value alive until measured");
  return (after - before) / N;
}

const sources = Array.from({ length: N }, (_, i) => new Uint8Array(SIG).fill(i & 255));

/** Views of `slabBytes` slabs, one per signature. */
function views(slabBytes: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let slab = new Uint8Array(0);
  let at = 0;
  for (const s of sources) {
    if (at + SIG > slab.length) [slab, at] = [new Uint8Array(slabBytes), 0];
    const view = slab.subarray(at, at + SIG);
    view.set(s);
    at += SIG;
    out.push(view);
  }
  return out;
}

/** Slots of one growing slab, each named by its index (a number where a record would keep it). */
function slots(): { slabs: Uint8Array[]; index: number[] } {
  const perSlab = 1024;
  const slabs: Uint8Array[] = [];
  const index: number[] = [];
  sources.forEach((s, i) => {
    if (i % perSlab === 0) slabs.push(new Uint8Array(perSlab * SIG));
    slabs.at(-1)!.set(s, (i % perSlab) * SIG);
    index.push(i);
  });
  return { slabs, index };
}

const base = perItem(() => sources.map((s) => s));
const rows: Array<[string, number]> = [
  ["array only (a slot per signature)", base],
  ["own Uint8Array (slice)", perItem(() => sources.map((s) => s.slice()))],
  ["Buffer.from copy", perItem(() => sources.map((s) => Buffer.from(s)))],
  ["view into 64 KB slabs", perItem(() => views(65_536))],
  ["view into 4 KB slabs", perItem(() => views(4_096))],
  ["latin1 string", perItem(() => sources.map((s) => Buffer.from(s).toString("latin1")))],
  ["slot of a shared slab (an index)", perItem(slots)],
];
console.log(`bytes per 64-byte signature (${N.toLocaleString("en-US")} kept; the array's slot taken off)`);
for (const [name, bytes] of rows) console.log(`${name.padEnd(36)} ${(name.startsWith("array only") ? bytes : bytes - base).toFixed(0).padStart(5)}`);
