/**
 * The architecture's rules, checked on the source tree (docs/architecture.md explains them):
 * - every import goes down the layers (util and the shared leaf modules → wire → transport → rpc and
 *   schedule → membership and conversation → teams → node → the entries → cli), or stays inside its folder;
 *   folders of one layer do not import each other; type-only imports count too;
 * - no import cycles, inside a folder included;
 * - no file in src/ over 400 lines unless its header says why ("Longer than ..." in the module doc).
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";

const SRC = join(import.meta.dir, "..", "src");

/** Layer of a module, by its path under src/. Higher layers may import lower ones, never the reverse. */
function layer(path: string): number {
  const top = path.includes("/") ? path.slice(0, path.indexOf("/")) : path;
  switch (top) {
    case "util":
    case "errors.ts":
    case "types.ts":
    case "log.ts":
      return 0;
    case "wire":
      return 1;
    case "events.ts":
    case "address.ts":
    case "transport":
    case "security":
      return 2;
    case "rpc":
    case "schedule":
      return 3;
    case "membership":
    case "conversation":
      return 4;
    case "teams":
      return 5;
    case "node.ts":
    case "node-options.ts":
    case "node-metrics.ts":
      return 6;
    case "index.ts":
    case "internal.ts":
      return 7;
    case "cli":
    case "dashboard": // beside cli: `sn dashboard` loads it; it reuses cli/watch-model.ts
      return 8;
    default:
      throw new Error(`no layer for src/${path}: add it to test/architecture.test.ts and docs/architecture.md`);
  }
}

function folderOf(path: string): string {
  return path.includes("/") ? path.slice(0, path.indexOf("/")) : path;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...sourceFiles(full));
    else if (name.endsWith(".ts")) out.push(relative(SRC, full));
  }
  return out.sort();
}

/**
 * Relative imports of a file: static `import`/`export ... from` at the start of a line (type-only
 * included), and, with `lazy`, dynamic `import()` too.
 */
function importsOf(path: string, lazy: boolean): string[] {
  const text = readFileSync(join(SRC, path), "utf8");
  const specs = new Set<string>();
  for (const m of text.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"/gms)) specs.add(m[1]!);
  for (const m of text.matchAll(/^import\s+"([^"]+)"/gm)) specs.add(m[1]!);
  if (lazy) for (const m of text.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g)) specs.add(m[1]!);
  const out: string[] = [];
  for (const spec of specs) {
    if (!spec.startsWith(".")) continue;
    const target = normalize(join(dirname(path), spec));
    if (target.startsWith("..")) continue; // package.json and the like, outside src/
    out.push(target);
  }
  return out;
}

const files = sourceFiles(SRC);
/** Every import, lazy ones included: what the layer rule checks. */
const graph = new Map(files.map((f) => [f, importsOf(f, true)]));
/**
 * Static imports only: what the cycle rule checks. A lazy `import()` (the CLI loads each command's
 * code when the command runs) is evaluated after both modules are loaded, so it cannot make a
 * module see another half-initialised.
 */
const staticGraph = new Map(files.map((f) => [f, importsOf(f, false)]));

describe("architecture", () => {
  test("every import goes down the layers or stays in its folder", () => {
    const upward: string[] = [];
    for (const [file, targets] of graph) {
      for (const target of targets) {
        if (folderOf(file) === folderOf(target) && file.includes("/")) continue;
        if (layer(target) > layer(file)) upward.push(`${file} -> ${target}`);
        else if (layer(target) === layer(file) && folderOf(target) !== folderOf(file) && (layer(file) === 3 || layer(file) === 4)) {
          upward.push(`${file} -> ${target} (sibling layers do not import each other)`);
        }
      }
    }
    expect(upward).toEqual([]);
  });

  test("no import cycles", () => {
    const cycles: string[] = [];
    const state = new Map<string, "open" | "done">();
    const stack: string[] = [];
    const visit = (file: string) => {
      state.set(file, "open");
      stack.push(file);
      for (const next of staticGraph.get(file) ?? []) {
        if (!staticGraph.has(next)) continue;
        if (state.get(next) === "open") cycles.push([...stack.slice(stack.indexOf(next)), next].join(" -> "));
        else if (!state.has(next)) visit(next);
      }
      stack.pop();
      state.set(file, "done");
    };
    for (const file of files) if (!state.has(file)) visit(file);
    expect(cycles).toEqual([]);
  });

  test("errors.ts and util/ are leaves: they import nothing of the package but util/ itself", () => {
    const leaves = files.filter((f) => f === "errors.ts" || f.startsWith("util/"));
    expect(leaves.flatMap((f) => graph.get(f)!.filter((t) => !t.startsWith("util/")).map((t) => `${f} -> ${t}`))).toEqual([]);
  });

  test("every relative import names a file that exists", () => {
    // The dashboard's page (HTML, CSS, JS) is imported as files to embed, not as modules.
    const isAsset = (t: string) => /\.(html|css|js)$/.test(t) && existsSync(join(SRC, t));
    const missing = [...graph].flatMap(([file, targets]) => targets.filter((t) => !graph.has(t) && !isAsset(t)).map((t) => `${file} -> ${t}`));
    expect(missing).toEqual([]);
  });

  test("no file over 400 lines without a stated reason in its header", () => {
    const long: string[] = [];
    for (const file of files) {
      const text = readFileSync(join(SRC, file), "utf8");
      const lines = text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
      const header = text.slice(0, text.indexOf("*/") + 2);
      if (lines > 400 && !/Longer than 400 lines/i.test(header)) long.push(`${file}: ${lines} lines`);
    }
    expect(long).toEqual([]);
  });
});
