/**
 * The Markdown a reader meets, for the tests that read the docs: the README, every file of docs/
 * and, when asked, the examples' READMEs (examples/README.md and each example's own).
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

/** The repository's root. */
export const ROOT = join(import.meta.dir, "..", "..");

/** Absolute paths: the README first, then docs/ (nested folders too), then the examples' READMEs with `examples`. */
export function markdownFiles(options: { examples?: boolean } = {}): string[] {
  const files = [join(ROOT, "README.md")];
  const docs = join(ROOT, "docs");
  if (existsSync(docs)) {
    for (const entry of readdirSync(docs, { recursive: true, encoding: "utf8" })) if (entry.endsWith(".md")) files.push(join(docs, entry));
  }
  if (options.examples) {
    const examples = join(ROOT, "examples");
    if (existsSync(join(examples, "README.md"))) files.push(join(examples, "README.md"));
    for (const dir of readdirSync(examples, { withFileTypes: true })) {
      const readme = join(examples, dir.name, "README.md");
      if (dir.isDirectory() && existsSync(readme)) files.push(readme);
    }
  }
  return files;
}
