/**
 * A connect that Bun calls refused but that failed for this host's own trouble. Bun reports every
 * failed connect as `ECONNREFUSED`, the code of a port nothing listens at, which gossip membership
 * took as a member's death: a process out of file descriptors, and a host with no route to the
 * address. The default transport tells them apart (`connect-failure.ts`): `EMFILE` or
 * `ENETUNREACH` with what to do, one warning line a minute; a closed port is still refused.
 */
import { afterEach, describe, expect, spyOn, test } from "bun:test";
import { join } from "node:path";
import { connectFailure, noRoute, resetWarnings, WARNING_INTERVAL, warnOf } from "../../src/transport/connect-failure.ts";
import { descriptorLimit, descriptorShortage } from "../../src/transport/descriptors.ts";
import { Netns, cleanupNamespaces, netnsUnavailable } from "../helpers/netns.ts";

const CHILD = join(import.meta.dir, "shortage-child.ts");
const unavailable = netnsUnavailable();
if (unavailable) console.warn(`SKIP the no-route case of connect failures: ${unavailable}`);
const nsTest = unavailable ? test.skip : test;

afterEach(() => {
  resetWarnings();
  cleanupNamespaces();
});

/** A child's last stdout line as JSON, and its stderr's warning lines. */
async function run(child: Bun.Subprocess<"ignore" | "pipe", "pipe", "pipe">): Promise<{ result: Record<string, unknown>; warnings: string[] }> {
  const [out, err] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { result: JSON.parse(out.trim().split("\n").at(-1)!) as Record<string, unknown>, warnings: err.split("\n").filter((l) => l.startsWith("synapse: warning: ")) };
}

describe("connect failures", () => {
  test("with descriptors to spare and a route, a refused connect stays refused, and other errors pass", async () => {
    expect(descriptorShortage()).toBeNull();
    if (process.platform === "linux") expect(descriptorLimit()).toBeGreaterThan(0);
    const refused = Object.assign(new Error("Failed to connect"), { code: "ECONNREFUSED" });
    expect(await connectFailure(refused, "127.0.0.1", 9)).toBe(refused);
    const other = Object.assign(new Error("no route"), { code: "EHOSTUNREACH" });
    expect(await connectFailure(other, "192.0.2.9", 9)).toBe(other);
    // Loopback always has its route: not even looked up.
    expect(await noRoute("127.0.0.1", 9)).toBe(false);
    expect(await noRoute("::1", 9)).toBe(false);
  });

  test("a warning is one line a minute at most, for each kind", () => {
    const warn = spyOn(console, "warn").mockImplementation(() => {});
    try {
      warnOf("EMFILE", "out", 1000);
      warnOf("EMFILE", "out again", 1000 + WARNING_INTERVAL - 1);
      warnOf("ENETUNREACH", "no route", 1000 + 1);
      expect(warn.mock.calls.map((c) => String(c[0]))).toEqual(["synapse: warning: out", "synapse: warning: no route"]);
      warnOf("EMFILE", "out once more", 1000 + WARNING_INTERVAL);
      expect(warn).toHaveBeenCalledTimes(3);
    } finally {
      warn.mockRestore();
    }
  });

  test.skipIf(process.platform !== "linux")("in a process out of descriptors a connect fails with EMFILE, and says what to do once", async () => {
    const limited = ["sh", "-c", 'ulimit -n 128 && exec "$@"', "sh", process.execPath, CHILD, "127.0.0.1"];
    const { result, warnings } = await run(Bun.spawn(limited, { stdout: "pipe", stderr: "pipe" }));
    expect(result.refused).toMatchObject({ ok: false, code: "ECONNREFUSED" });
    for (const attempt of result.short as Array<{ message: string }>) {
      expect(attempt).toMatchObject({ ok: false, code: "EMFILE" });
      expect(attempt.message).toContain("raise the limit (`ulimit -n`)");
    }
    // Descriptors free again: connects work again.
    expect(result.after).toEqual({ ok: true });
    // Two failed connects, one warning line.
    expect(warnings.filter((l) => l.startsWith("synapse: warning: this process is out of file descriptors (EMFILE"))).toHaveLength(1);
  }, 20_000);

  nsTest("on a host with no route to the address a connect fails with ENETUNREACH; a closed port there still refuses", async () => {
    // A namespace with nothing but loopback: 192.0.2.7 (TEST-NET-1) has no route there.
    const ns = Netns.create({ loopback: "up" });
    const { result, warnings } = await run(ns.spawnBun(CHILD, ["192.0.2.7", "route-only"]));
    expect(result.refused).toMatchObject({ ok: false, code: "ECONNREFUSED" });
    for (const attempt of result.unrouted as Array<{ message: string }>) {
      expect(attempt).toMatchObject({ ok: false, code: "ENETUNREACH" });
      expect(attempt.message).toContain("this host has no route to 192.0.2.7 (ENETUNREACH)");
    }
    expect(warnings.filter((l) => l.includes("no route to 192.0.2.7"))).toHaveLength(1);
  }, 20_000);
});
