/**
 * Memory tracing hooks of the membership bench's workers (`membership-worker.ts`), off unless
 * asked for by environment variables (see that file's header): heap snapshots for
 * `membership-heap.ts`, and periodic samples of resident memory and object counts.
 *
 * @module
 */
import { heapStats } from "bun:jsc";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

/** Write a V8-format heap snapshot of this process to `$BENCH_HEAP_SNAPSHOT/<worker>-<label>.heapsnapshot` (first worker only). */
export function writeSnapshot(worker: string, label: string): void {
  const dir = process.env.BENCH_HEAP_SNAPSHOT;
  if (!dir || worker !== "p0") return;
  const path = join(dir, `${worker}-${label}.heapsnapshot`);
  // What the snapshot's self sizes leave out: memory reported to the GC as extra (buffers' bytes).
  const stats = heapStats();
  const sizes = { ...process.memoryUsage(), heapSize: stats.heapSize, extraMemorySize: stats.extraMemorySize, objectCount: stats.objectCount };
  // Written before anything else runs (the snapshot stalls the process anyway): a `stop` that
  // arrives meanwhile exits only after it (with BENCH_FAST_STOP=1 the parent waits 90 s for that).
  try {
    writeFileSync(join(dir, `${worker}-${label}.json`), JSON.stringify(sizes));
    writeFileSync(path, Bun.generateHeapSnapshot("v8"));
  } catch (error) {
    console.error(`heap snapshot ${path}: ${String(error)}`);
  }
}

/** Object types whose live counts say how much work is pending (see {@link heapSampler}). */
const PENDING_WORK = ["Timeout", "Promise", "Function", "JSLexicalEnvironment", "AsyncFunctionGenerator", "Exception", "TCPSocket", "Object", "Uint8Array", "string"];

/**
 * With `BENCH_HEAP_SNAPSHOT` and `BENCH_HEAP_SNAPSHOT_WATCH=<seconds>`: the first worker writes one
 * more snapshot that many seconds after it was told to watch the killed process's nodes (the kill),
 * `<dir>/p0-watch-<seconds>.heapsnapshot`, to diff against the one after the steady window (what
 * a kill makes the survivors hold). The timer does not keep the process alive.
 */
export function snapshotAfterKill(worker: string): void {
  const seconds = Number(process.env.BENCH_HEAP_SNAPSHOT_WATCH ?? 0);
  if (!(seconds > 0)) return;
  setTimeout(() => {
    Bun.gc(true);
    writeSnapshot(worker, `watch-${seconds}`);
  }, seconds * 1000).unref();
}

/** What the sampler asks the worker for at each sample. */
export type SampleCounts = () => { peers: number; connections: number };

/** mimalloc's committed bytes, from `heapStats().mimalloc` (its shape is Bun's, not typed). */
function mimallocCommitted(stats: ReturnType<typeof heapStats>): number {
  const m = (stats as unknown as { mimalloc?: { committed?: { current?: number } } }).mimalloc;
  return m?.committed?.current ?? 0;
}

/**
 * Log a `heap-sample` line every `$BENCH_HEAP_EVERY` seconds (none when unset): resident memory,
 * heap, extra memory, ArrayBuffers, mimalloc's committed bytes, and the 12 object types whose
 * counts moved most since the previous sample. With `BENCH_HEAP_GC=1` each sample comes after a
 * full GC (what is live, not what awaits collection; it stalls the worker's nodes for a while at
 * each sample, so the run's own figures are not the scenario's) and also lists the live counts
 * of the types that hold pending work (timers, promises, closures, sockets). The timer does not
 * keep the process alive.
 */
export function heapSampler(worker: string, counts: SampleCounts): void {
  const every = Number(process.env.BENCH_HEAP_EVERY ?? 0);
  if (!(every > 0)) return;
  let previous: Record<string, number> = {};
  const mb = (bytes: number) => Math.round(bytes / 1e5) / 10;
  const collect = process.env.BENCH_HEAP_GC === "1";
  const timer = setInterval(() => {
    if (collect) Bun.gc(true);
    const stats = heapStats();
    const usage = process.memoryUsage();
    const moved = Object.entries(stats.objectTypeCounts)
      .map(([type, count]) => [type, count - (previous[type] ?? 0)] as const)
      .filter(([, delta]) => delta !== 0)
      .sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]))
      .slice(0, 12);
    previous = { ...stats.objectTypeCounts };
    const line = {
      at: new Date().toISOString().slice(11, 19),
      worker,
      rssMB: mb(usage.rss),
      heapMB: mb(stats.heapSize),
      extraMB: mb(stats.extraMemorySize),
      arrayBuffersMB: mb(usage.arrayBuffers),
      mimallocMB: mb(mimallocCommitted(stats)),
      objects: stats.objectCount,
      ...counts(),
      moved: Object.fromEntries(moved),
      ...(collect ? { live: Object.fromEntries(PENDING_WORK.map((type) => [type, stats.objectTypeCounts[type] ?? 0])) } : {}),
    };
    console.error(`heap-sample ${JSON.stringify(line)}`);
  }, every * 1000);
  timer.unref();
}
