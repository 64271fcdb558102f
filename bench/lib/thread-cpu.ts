/**
 * CPU time of this process's threads by name, read from `/proc/self/task` (Linux only; elsewhere
 * empty). The JS thread is `main`; the others are Bun's and JavaScriptCore's own (`JITWorker`, the
 * optimizing compilers; `HeapHelper`, the collector's markers; `mi-scavenger`, the allocator's).
 * Clock ticks of 10 ms, so a difference of two reads is exact to 10 ms a thread.
 *
 * @module
 */
import { readdirSync, readFileSync } from "node:fs";

/** CPU milliseconds of this process's threads by name (threads of one name summed). */
export function threadCpu(): Map<string, number> {
  const byName = new Map<string, number>();
  try {
    for (const tid of readdirSync("/proc/self/task")) {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
      const name = tid === String(process.pid) ? "main" : stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")).replace(/[0-9]+$/, "");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      byName.set(name, (byName.get(name) ?? 0) + ((Number(fields[11]) + Number(fields[12])) * 1000) / 100);
    }
  } catch {
    // not Linux
  }
  return byName;
}

/** The CPU milliseconds of each thread name since `mark` (a {@link threadCpu} read), those that ran only. */
export function threadCpuSince(mark: Map<string, number>): Array<[string, number]> {
  return [...threadCpu()].map(([name, t]) => [name, t - (mark.get(name) ?? 0)] as [string, number]).filter(([, t]) => t > 0);
}
