/**
 * The README's "Two programs, two terminals": its two ```typescript blocks, a seed and a worker
 * that joins it, are written out as they stand, type-checked, and run as two processes on loopback
 * (the seed on a free port, passed to the worker in PORT as the README's commands would on 9999).
 */
import { expect, test } from "bun:test";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, runScript } from "../helpers/examples.ts";
import { ExampleProcess } from "./processes.ts";

const readme = await Bun.file(join(ROOT, "README.md")).text();
const section = readme.slice(readme.indexOf("## Two programs, two terminals\n")).split(/\n## (?!#)/)[0]!;
const [seedCode, workerCode] = [...section.matchAll(/```typescript\n([\s\S]*?)```/g)].map((m) => m[1]!);
// Inside the repository, so that "synapse-p2p" resolves to this package, as in the README's other blocks.
const dir = join(ROOT, ".tmp", "two-terminals");
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, "seed.ts"), seedCode ?? "");
writeFileSync(join(dir, "worker.ts"), workerCode ?? "");
writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ extends: "../../tsconfig.json", compilerOptions: { noEmit: true }, include: ["./*.ts"] }));

test("examples - README two terminals: the section has the seed and the worker", () => {
  expect(section.startsWith("## Two programs, two terminals\n")).toBe(true);
  expect(seedCode).toContain("await seed.run();");
  expect(workerCode).toContain("await worker.join();");
});

test("examples - README two terminals: both programs type-check", async () => {
  const tsc = Bun.spawn([process.execPath, join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", join(dir, "tsconfig.json")], { cwd: ROOT, stdout: "pipe" });
  const [out, code] = await Promise.all([new Response(tsc.stdout).text(), tsc.exited]);
  expect(out).toBe("");
  expect(code).toBe(0);
}, 60_000);

test("examples - README two terminals: the worker joins the seed, calls it and leaves; Ctrl+C stops the seed", async () => {
  const seed = new ExampleProcess(".tmp/two-terminals/seed.ts", [], { PORT: "0" });
  try {
    const [, port] = await seed.waitFor(/synapse node seed \([0-9a-f]{8}\) listening on 127\.0\.0\.1:(\d+)/, 15);
    // The banner's lines may come in more than one read of the pipe (CI saw the first line alone).
    await seed.waitFor(/    hello - Greet someone/, 15);
    expect(seed.out).toContain("  swarm lab, team default");
    expect(seed.out).toContain("    hello - Greet someone");
    const worker = await runScript(".tmp/two-terminals/worker.ts", 20_000, { PORT: port! });
    expect(worker.err).toBe("");
    expect(worker.code).toBe(0);
    expect(worker.out).toBe("joined swarm lab; peers: seed\nhello worker, from seed\n");
    await seed.waitFor(/worker joined from 127\.0\.0\.1:\d+/, 10);
    expect(await seed.stop("SIGINT")).toBe(0);
    expect(seed.out).toContain("received SIGINT, stopping");
    expect(seed.err).toBe("");
  } finally {
    if (seed.child.exitCode === null) seed.child.kill("SIGKILL");
  }
}, 60_000);
