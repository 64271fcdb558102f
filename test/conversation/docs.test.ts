/**
 * Every TypeScript block of docs/conversations.md is a real program: each runs as a script
 * (importing "synapse-p2p" resolves to this package) and must exit cleanly; lines annotated with a
 * trailing `// => text` comment must appear in what it prints.
 */
import { describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..", "..");
const doc = await Bun.file(join(root, "docs", "conversations.md")).text();
const blocks = [...doc.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => ({ code: m[1]!, at: m.index! }));
const dir = join(root, ".tmp", "conversations-docs");
mkdirSync(dir, { recursive: true });

function headingBefore(index: number): string {
  return [...doc.slice(0, index).matchAll(/^#+ (.*)$/gm)].at(-1)?.[1] ?? "top";
}

describe("conversation - docs", () => {
  test("docs/conversations.md has its section and examples", () => {
    expect(doc.startsWith("## Conversations\n")).toBe(true);
    expect(blocks.length).toBeGreaterThanOrEqual(5);
  });

  blocks.forEach(({ code, at }, i) => {
    test(`conversation - docs block ${i + 1} (${headingBefore(at)}) runs`, async () => {
      const file = join(dir, `block-${i + 1}.ts`);
      writeFileSync(file, code);
      const proc = Bun.spawn([process.execPath, file], { cwd: root, stdout: "pipe", stderr: "pipe" });
      const timer = setTimeout(() => proc.kill("SIGKILL"), 15_000);
      const [out, err, exit] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
      clearTimeout(timer);
      if (exit !== 0) console.error(`block ${i + 1} failed:\n${out}\n${err}`);
      expect(exit).toBe(0);
      for (const m of code.matchAll(/\/\/ => (.*)$/gm)) expect(out).toContain(m[1]!.trim());
    });
  });
});
