/**
 * A CPU profile of a survivor's process over the kill alone (`BENCH_KILL_PROF=<dir>`; the same over
 * the steady window with `BENCH_STEADY_PROF=<dir>`, written as `steady-<worker>.txt`): JSC's
 * sampling profiler (`bun:jsc`) started when the worker is told of the kill and read when every
 * killed node is offline at all its nodes. Writes `<dir>/kill-<worker>.txt`: the functions with the
 * most samples, by self and by inclusive count (a function counted once per sample however deep it
 * recurs), and the hottest stacks three frames deep (a function with its two callers). A profile
 * of the whole run (`--cpu-prof`) is dominated by the join. With `BENCH_PROF_RAW=1` it also writes
 * every trace (`<file>.json`: each an array of frame labels, the sampled function first).
 *
 * @module
 */
import * as jsc from "bun:jsc";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

interface Frame {
  name: string;
  sourceURL?: string;
  line?: number;
}

/** Start sampling; the function returned writes the profile (`file` in `dir`) and returns its path. */
export function profileKill(dir: string, worker: string, file = `kill-${worker}.txt`): () => string {
  jsc.startSamplingProfiler();
  const started = performance.now();
  return () => {
    // At run time beside `startSamplingProfiler`, not in bun-types: every trace since the start.
    const { traces } = (jsc as unknown as { samplingProfilerStackTraces(): { traces: Array<{ frames: Frame[] }> } }).samplingProfilerStackTraces();
    const self = new Map<string, number>();
    const inclusive = new Map<string, number>();
    const callers = new Map<string, number>();
    const label = (f: Frame) => `${f.name || "(anonymous)"} ${f.sourceURL ? `${f.sourceURL.replace(/^.*\/(src|bench|node_modules)\//, "$1/")}:${f.line ?? "?"}` : "(native)"}`;
    for (const t of traces) {
      if (t.frames.length === 0) continue;
      const labels = t.frames.map(label);
      const top = labels[0]!;
      self.set(top, (self.get(top) ?? 0) + 1);
      for (const name of new Set(labels)) inclusive.set(name, (inclusive.get(name) ?? 0) + 1);
      // The two frames above the top one: where the hottest functions are called from.
      const path = labels.slice(0, 3).join("  <  ");
      callers.set(path, (callers.get(path) ?? 0) + 1);
    }
    const total = traces.length;
    const rows = (m: Map<string, number>) =>
      [...m]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 60)
        .map(([name, n]) => `${((100 * n) / Math.max(1, total)).toFixed(1).padStart(5)}%  ${String(n).padStart(6)}  ${name}`)
        .join("\n");
    mkdirSync(dir, { recursive: true });
    const path = join(dir, file);
    // `BENCH_PROF_RAW=1`: every trace too, its frames' labels top first (`<file>.json`), to split a function's samples by callee.
    if (process.env.BENCH_PROF_RAW === "1") writeFileSync(`${path}.json`, JSON.stringify(traces.map((t) => t.frames.map(label))));
    writeFileSync(path, `${total} samples over ${((performance.now() - started) / 1000).toFixed(1)} s\n\n## self\n${rows(self)}\n\n## inclusive\n${rows(inclusive)}\n\n## self, with its two callers\n${rows(callers)}\n`);
    return path;
  };
}
