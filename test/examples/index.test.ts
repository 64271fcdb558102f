/**
 * No example goes unlisted or untested: every folder of examples/ (but _shared) has a README, is
 * in the examples table of the README and of examples/README.md, and is run by a test here.
 */
import { expect, test } from "bun:test";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../helpers/examples.ts";

const examples = readdirSync(join(ROOT, "examples")).filter((name) => name !== "_shared" && statSync(join(ROOT, "examples", name)).isDirectory());
const tests = readdirSync(import.meta.dir)
  .filter((name) => name.endsWith(".test.ts"))
  .map((name) => readFileSync(join(import.meta.dir, name), "utf8"))
  .join("\n");

test("examples - every example has a README, a row in both tables and a test that runs it", () => {
  expect(examples.length).toBeGreaterThanOrEqual(10);
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const index = readFileSync(join(ROOT, "examples", "README.md"), "utf8");
  for (const name of examples) {
    expect({ name, readme: statSync(join(ROOT, "examples", name, "README.md")).isFile() }).toEqual({ name, readme: true });
    expect({ name, row: readme.includes(`| [\`${name}\`](examples/${name}/README.md) |`) || readme.includes(`| \`${name}\` |`) }).toEqual({ name, row: true });
    expect({ name, row: index.includes(`| [\`${name}\`](${name}/README.md) |`) || index.includes(`| \`${name}\` |`) }).toEqual({ name, row: true });
    expect({ name, tested: tests.includes(`examples/${name}/`) }).toEqual({ name, tested: true });
  }
});
