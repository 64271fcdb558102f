/**
 * A coder: a worker that claims `write <function>` tasks, writes the function, checks it against
 * the task's examples (reporting progress as it goes) and returns the source.
 *
 *     bun examples/coding_team/coder.ts --name alice --seed 127.0.0.1:PORT [--crash]
 *
 * With `--crash` the coder's process dies in the middle of its first task, without a word on the
 * wire: the architect's lease runs out and the task is offered again to the others.
 * Stops cleanly on SIGTERM or SIGINT.
 */
import { Node, Worker } from "../../src/index.ts";
import type { FunctionSpec } from "./plan.ts";

const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : undefined;
};
const name = option("name") ?? "coder";
const seed = option("seed");
const crash = args.includes("--crash");
if (!seed) {
  console.error("coder: --seed HOST:PORT is required");
  process.exit(2);
}

// A stand-in for a model call, so that the example runs offline: what this coder "writes" for
// each function of the plan.
const WRITES: Record<string, string> = {
  slugify: `function slugify(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, " ").trim().split(" ").filter(Boolean).join("-");
}`,
  titleCase: `function titleCase(text: string): string {
  return text.split(" ").map((w) => (w ? w[0]!.toUpperCase() + w.slice(1).toLowerCase() : w)).join(" ");
}`,
  wordCount: `function wordCount(text: string): number {
  return text.split(/\\s+/).filter(Boolean).length;
}`,
  reverseWords: `function reverseWords(text: string): string {
  return text.split(/\\s+/).filter(Boolean).reverse().join(" ");
}`,
  truncate: `function truncate(text: string, n: number): string {
  return text.length <= n ? text : text.slice(0, n - 1) + "…";
}`,
};

const node = new Node({ name, role: "writes functions", swarm: "coding", capabilities: ["typescript"], bind: "127.0.0.1", port: 0, heartbeatInterval: null });
await node.start();
await node.join({ seeds: [seed] });

// Heartbeats every quarter second keep the architect's short lease while a function is written.
const worker = new Worker(node, { renewInterval: 0.25, concurrency: 1 });
worker.task(async (assignment) => {
  const spec = assignment.spec as FunctionSpec;
  console.log(`${name}: writing ${spec.function} (attempt ${assignment.attempt})`);
  await Bun.sleep(150); // thinking, as a model would
  if (crash) {
    console.log(`${name}: crashes while writing ${spec.function}`);
    process.exit(3);
  }
  const source = WRITES[spec.function];
  if (!source) throw new Error(`${name} does not know how to write ${spec.function}`);
  // Check the function against the examples: transpile it, load it, call it.
  const js = new Bun.Transpiler({ loader: "ts" }).transformSync(`${source}\nexport default ${spec.function};`);
  const url = URL.createObjectURL(new Blob([js], { type: "text/javascript" }));
  const fn = (await import(url)).default as (...a: unknown[]) => unknown;
  URL.revokeObjectURL(url);
  let passed = 0;
  for (const [input, expected] of spec.examples) {
    const got = fn(...input);
    if (got !== expected) throw new Error(`${spec.function}(${JSON.stringify(input).slice(1, -1)}) gave ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`);
    passed++;
  }
  await assignment.progress(`${passed}/${spec.examples.length} examples pass`, { passed });
  return { function: spec.function, source, author: name };
});
console.log(`${name}: ready (seed ${seed})`);

const stop = async () => {
  worker.close();
  await node.stop();
  process.exit(0);
};
process.on("SIGTERM", () => void stop());
process.on("SIGINT", () => void stop());
