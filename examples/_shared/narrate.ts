/**
 * Narration helpers shared by the examples: timestamped lines, bounded waits, a watchdog, and
 * short renderings of peers. Nothing here is part of the package: it only keeps the examples
 * short and their output alike.
 */
import type { Peer } from "../../src/index.ts";

/** Print `message` with the seconds since the program started: `[ 1.23s] message`. */
export function say(message: string): void {
  console.log(`[${(performance.now() / 1000).toFixed(2).padStart(5)}s] ${message}`);
}

/**
 * End the program with status 1 when it is still running after `seconds`: no example may hang,
 * whatever goes wrong. Returns a function that disarms the watchdog.
 */
export function watchdog(program: string, seconds: number): () => void {
  const timer = setTimeout(() => {
    console.error(`${program}: still running after ${seconds} s, giving up`);
    process.exit(1);
  }, seconds * 1000);
  return () => clearTimeout(timer);
}

/**
 * Wait until `check` holds, polling every 20 ms, for at most `seconds`; then print what was awaited
 * on stderr and end the program with status 1.
 */
export async function until(program: string, check: () => boolean | Promise<boolean>, seconds: number, what: string): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (!(await check())) {
    if (Date.now() > deadline) {
      console.error(`${program}: timed out after ${seconds} s waiting for ${what}`);
      process.exit(1);
    }
    await Bun.sleep(20);
  }
}

/** Peers' names, sorted and comma-separated ("nobody" for none). */
export function names(peers: Iterable<Peer>): string {
  return [...peers].map((p) => p.name).sort().join(", ") || "nobody";
}

/** Compare peers (or anything named) by name, for sort(). */
export function byName(a: { name: string }, b: { name: string }): number {
  return a.name.localeCompare(b.name);
}

/** Kinds in order, runs of one kind folded: "message, ack ×4, reply ×4". */
export function tally(kinds: string[]): string {
  const runs: Array<[string, number]> = [];
  for (const kind of kinds) {
    const last = runs.at(-1);
    if (last && last[0] === kind) last[1]++;
    else runs.push([kind, 1]);
  }
  return runs.map(([kind, n]) => (n === 1 ? kind : `${kind} ×${n}`)).join(", ");
}
