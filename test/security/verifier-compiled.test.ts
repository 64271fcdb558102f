/**
 * The signature thread in a compiled binary: `bun build --compile` (the flags of `bun run build`)
 * bundles no file a worker could start from, so the thread runs from a `blob:` URL of its program
 * (src/security/verify-thread.ts). Compiled here and run alone from an empty directory.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { compile } from "../../bench/cli-startup.ts";

const dir = mkdtempSync(join(tmpdir(), "sn-verify-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("security - signature thread in a compiled binary", () => {
  test.skipIf(availableParallelism() < 2)("checks a batch on the thread, right and wrong alike, with nothing on stderr (skipped on one core: no thread there)", async () => {
    const binary = join(dir, "checks");
    compile(new URL("./fixtures/compiled-checks.ts", import.meta.url).pathname, binary);
    const empty = join(dir, "empty");
    mkdirSync(empty);
    const proc = Bun.spawn([binary], { cwd: empty, env: { PATH: process.env.PATH ?? "" }, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    const out = JSON.parse(stdout) as { answers: boolean[]; stats: Record<string, number> };
    expect(out.answers).toEqual(Array.from({ length: 30 }, (_, i) => i % 3 !== 0));
    expect(out.stats).toMatchObject({ batches: 1, onThread: 30, inline: 0, failures: 0, starved: 0 });
  }, 60_000);
});
