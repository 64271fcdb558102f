/**
 * Every TypeScript block of the README is a real program: this suite runs each one as a script
 * (importing "synapse-p2p" resolves to this package) and checks it exits cleanly. Output lines
 * annotated in the block with a trailing `// => text` comment must appear in what it prints.
 */
import { describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const readme = await Bun.file(join(root, "README.md")).text();
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
const dir = join(root, ".tmp", "readme");
mkdirSync(dir, { recursive: true });

/** The heading above a block, to name its test. */
function headingBefore(index: number): string {
  const before = readme.slice(0, index);
  const headings = [...before.matchAll(/^#+ (.*)$/gm)];
  return headings.at(-1)?.[1] ?? "top";
}

const offsets = [...readme.matchAll(/```ts\n/g)].map((m) => m.index!);
const files = blocks.map((code, i) => {
  const file = join(dir, `block-${i + 1}.ts`);
  writeFileSync(file, code);
  return file;
});
// The blocks are type-checked as the project is (strict), importing "synapse-p2p" by name.
writeFileSync(
  join(dir, "tsconfig.json"),
  JSON.stringify({ extends: "../../tsconfig.json", compilerOptions: { noEmit: true }, include: ["./*.ts"] }, null, 2),
);

describe("readme", () => {
  test("has TypeScript examples", () => {
    expect(blocks.length).toBeGreaterThanOrEqual(3);
  });

  test("readme - every block type-checks", async () => {
    const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
    const proc = Bun.spawn([process.execPath, tsc, "-p", join(dir, "tsconfig.json")], { cwd: root, stdout: "pipe", stderr: "pipe" });
    const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
    if (code !== 0) console.error(out);
    expect(out).toBe("");
    expect(code).toBe(0);
  });

  blocks.forEach((code, i) => {
    test(`readme - block ${i + 1} (${headingBefore(offsets[i]!)}) runs`, async () => {
      const file = files[i]!;
      const proc = Bun.spawn(["bun", file], { cwd: root, stdout: "pipe", stderr: "pipe", env: { ...process.env } });
      const timer = setTimeout(() => proc.kill("SIGKILL"), 15_000);
      const [out, err, code_] = await Promise.all([
        new Response(proc.stdout).text(),
        new Response(proc.stderr).text(),
        proc.exited,
      ]);
      clearTimeout(timer);
      if (code_ !== 0) console.error(`block ${i + 1} failed:\n${out}\n${err}`);
      expect(code_).toBe(0);
      for (const m of code.matchAll(/\/\/ => (.*)$/gm)) expect(out).toContain(m[1]!.trim());
    });
  });
});
