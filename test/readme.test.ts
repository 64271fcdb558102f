/**
 * Every TypeScript block of the README and of every `docs/*.md` file is a real program: this suite
 * type-checks them all as the project is checked (strict) and runs each one as a script (importing
 * "synapse-p2p" resolves to this package), checking that it exits cleanly. Output lines annotated
 * in a block with a trailing `// => text` comment must appear in what it prints.
 *
 * Only ```ts blocks are run. A block that cannot run here (mDNS on a real network) is written
 * ```typescript and is run elsewhere (test/membership/docs.test.ts).
 */
import { describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const dir = join(root, ".tmp", "readme");
// Start clean, so that a block removed from the docs leaves no stale file for the type-check.
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });

/** The documents whose blocks run: the README first, then docs/*.md by name. */
const documents = ["README.md", ...readdirSync(join(root, "docs")).filter((name) => name.endsWith(".md")).sort().map((name) => `docs/${name}`)];

interface Block {
  /** The document it comes from, e.g. "docs/protocol.md". */
  document: string;
  /** 1-based position among that document's ```ts blocks. */
  index: number;
  /** The heading above it, to name its test. */
  heading: string;
  code: string;
  file: string;
}

/** The heading above `offset` in `text`. */
function headingBefore(text: string, offset: number): string {
  const headings = [...text.slice(0, offset).matchAll(/^#+ (.*)$/gm)];
  return headings.at(-1)?.[1] ?? "top";
}

const blocks: Block[] = documents.flatMap((document) => {
  const text = readFileSync(join(root, document), "utf8");
  return [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((m, i) => {
    const file = join(dir, `${document.replace(/\.md$/, "").replace(/[^A-Za-z0-9]+/g, "-")}-block-${i + 1}.ts`);
    writeFileSync(file, m[1]!);
    return { document, index: i + 1, heading: headingBefore(text, m.index!), code: m[1]!, file };
  });
});

// The blocks are type-checked as the project is (strict), importing "synapse-p2p" by name.
writeFileSync(
  join(dir, "tsconfig.json"),
  JSON.stringify({ extends: "../../tsconfig.json", compilerOptions: { noEmit: true }, include: ["./*.ts"] }, null, 2),
);

describe("readme", () => {
  test("readme - the README and the docs have TypeScript examples", () => {
    expect(documents).toContain("docs/protocol.md");
    expect(blocks.filter((b) => b.document === "README.md").length).toBeGreaterThanOrEqual(3);
    expect(blocks.some((b) => b.document.startsWith("docs/"))).toBe(true);
  });

  test("readme - every block of the README and docs/*.md type-checks", async () => {
    const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
    const proc = Bun.spawn([process.execPath, tsc, "-p", join(dir, "tsconfig.json")], { cwd: root, stdout: "pipe", stderr: "pipe" });
    const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
    if (code !== 0) console.error(out);
    expect(out).toBe("");
    expect(code).toBe(0);
  }, 60_000); // tsc over every block takes several seconds on a busy 2-core machine, more than bun's default 5 s

  for (const block of blocks) {
    test(`readme - ${block.document} block ${block.index} (${block.heading}) runs`, async () => {
      const proc = Bun.spawn(["bun", block.file], { cwd: root, stdout: "pipe", stderr: "pipe", env: { ...process.env } });
      const timer = setTimeout(() => proc.kill("SIGKILL"), 15_000);
      const [out, err, code] = await Promise.all([
        new Response(proc.stdout).text(),
        new Response(proc.stderr).text(),
        proc.exited,
      ]);
      clearTimeout(timer);
      if (code !== 0) console.error(`${block.document} block ${block.index} failed:\n${out}\n${err}`);
      expect(code).toBe(0);
      for (const m of block.code.matchAll(/\/\/ => (.*)$/gm)) expect(out).toContain(m[1]!.trim());
    }, 30_000);
  }
});
