import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, quietEnv } from "../helpers/examples.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

test("examples - coding_team: architect and coders as processes; a crashed coder's task is re-offered; the module works", async () => {
  const out = mkdtempSync(join(tmpdir(), "coding-team-"));
  dirs.push(out);
  const child = Bun.spawn([process.execPath, join(ROOT, "examples/coding_team/launch.ts"), "--out", out], { cwd: ROOT, env: quietEnv(), stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => child.kill("SIGKILL"), 50_000);
  const [code, text, err] = await Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()]);
  clearTimeout(timer);
  if (code !== 0) console.error(text, err);
  expect(err).toBe("");
  expect(code).toBe(0);

  const functions = ["slugify", "titleCase", "wordCount", "reverseWords", "truncate"];
  // carol was granted one task and died writing it, without a word on the wire.
  const crashed = /carol: crashes while writing (\w+)/.exec(text)?.[1];
  expect(functions).toContain(crashed!);
  expect(text).toContain(`granted ${crashed} to carol`);
  expect(text).toContain("launch: carol exited with status 3");
  // Her lease ran out; the re-offer went to alice or bob, who completed it.
  expect(text).toMatch(new RegExp(`offered ${crashed} \\(attempt 2\\)`));
  expect(text).toMatch(new RegExp(`done ${crashed} by (alice|bob) \\(attempt [2-5]\\)`));
  // Every function done exactly once, never by carol.
  for (const fn of functions) expect(text.match(new RegExp(`^done ${fn} by (alice|bob) `, "gm"))?.length).toBe(1);
  expect(text).toContain(`wrote ${join(out, "toolkit.ts")} (5 functions)`);
  expect(text).toContain("launch: alice exited with status 0");
  expect(text).toContain("launch: bob exited with status 0");

  // The module the team wrote works.
  const toolkit = await import(join(out, "toolkit.ts"));
  expect(toolkit.slugify("Peer to Peer, at last!")).toBe("peer-to-peer-at-last");
  expect(toolkit.titleCase("one WORKER per task")).toBe("One Worker Per Task");
  expect(toolkit.wordCount("exactly  one\tworker")).toBe(3);
  expect(toolkit.reverseWords("lease then re-offer")).toBe("re-offer then lease");
  expect(toolkit.truncate("at-least-once", 8)).toBe("at-leas…");
}, 60_000);
