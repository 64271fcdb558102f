/**
 * A process out of file descriptors: Bun calls such a connect refused (`ECONNREFUSED`, as a port
 * nothing listens at), and gossip membership took that as a member's death. The default transport
 * tells the two apart (`descriptors.ts`): `EMFILE` with what to do, one warning line a minute.
 */
import { afterEach, describe, expect, spyOn, test } from "bun:test";
import { join } from "node:path";
import { connectFailure, descriptorLimit, descriptorShortage, resetShortageWarning, SHORTAGE_WARNING_INTERVAL, warnShortage } from "../../src/transport/descriptors.ts";

const CHILD = join(import.meta.dir, "shortage-child.ts");

afterEach(() => resetShortageWarning());

describe("descriptors", () => {
  test("a process with descriptors to spare has no shortage, and its refused connects stay refused", () => {
    expect(descriptorShortage()).toBeNull();
    if (process.platform === "linux") expect(descriptorLimit()).toBeGreaterThan(0);
    const refused = Object.assign(new Error("Failed to connect"), { code: "ECONNREFUSED" });
    expect(connectFailure(refused)).toBe(refused);
    const other = Object.assign(new Error("no route"), { code: "EHOSTUNREACH" });
    expect(connectFailure(other)).toBe(other);
  });

  test("the warning is one line a minute at most", () => {
    const warn = spyOn(console, "warn").mockImplementation(() => {});
    try {
      warnShortage("EMFILE", 1000);
      warnShortage("EMFILE", 1000 + SHORTAGE_WARNING_INTERVAL - 1);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0]![0])).toMatch(/^synapse: warning: this process is out of file descriptors \(EMFILE.*\): raise the limit \(`ulimit -n`\)/);
      warnShortage("ENFILE", 1000 + SHORTAGE_WARNING_INTERVAL);
      expect(warn).toHaveBeenCalledTimes(2);
      expect(String(warn.mock.calls[1]![0])).toContain("the system is out of file descriptors (ENFILE)");
    } finally {
      warn.mockRestore();
    }
  });

  test.skipIf(process.platform !== "linux")("a connect in a process out of descriptors fails with EMFILE, and a closed port still refuses", async () => {
    const child = Bun.spawn(["sh", "-c", 'ulimit -n 128 && exec "$@"', "sh", process.execPath, CHILD], { stdout: "pipe", stderr: "pipe" });
    const [out, err] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    const result = JSON.parse(out.trim().split("\n").at(-1)!) as {
      refused: { ok: boolean; code?: string };
      short: Array<{ ok: boolean; code?: string; message?: string }>;
      after: { ok: boolean };
    };
    expect(result.refused).toMatchObject({ ok: false, code: "ECONNREFUSED" });
    for (const attempt of result.short) {
      expect(attempt).toMatchObject({ ok: false, code: "EMFILE" });
      expect(attempt.message).toContain("raise the limit (`ulimit -n`)");
    }
    // Descriptors free again: connects work again.
    expect(result.after).toEqual({ ok: true });
    // Two failed connects, one warning line.
    const warnings = err.split("\n").filter((l) => l.startsWith("synapse: warning: this process is out of file descriptors (EMFILE"));
    expect(warnings).toHaveLength(1);
  }, 20_000);
});
