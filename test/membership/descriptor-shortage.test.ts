/**
 * Gossip membership in a process out of file descriptors: its nodes' connects fail (Bun calls them
 * refused; the transport says `EMFILE`), and that is not evidence against the members they probe.
 * Thirty live nodes in one process limited to 200 descriptors: before the transport told the two
 * apart, 3,714 and 3,994 `peer.offline` events in two runs, up to 15 live members held offline at
 * a node; now none (docs/membership.md, "This host's own trouble is not a refusal").
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";

const CHILD = join(import.meta.dir, "shortage-swarm-child.ts");

describe("a process out of descriptors", () => {
  test.skipIf(process.platform !== "linux")("declares none of its live members offline, and says once what to do", async () => {
    const child = Bun.spawn(["sh", "-c", 'ulimit -n 200 && exec "$@"', "sh", process.execPath, CHILD, "30", "8"], { stdout: "pipe", stderr: "pipe" });
    const [out, err] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    const result = JSON.parse(out.trim().split("\n").at(-1)!) as { offlineEvents: number; maxOffline: number; minAlive: number; unsent: number };
    // The shortage happened: the warning (once; the run is shorter than its minute) and probes
    // that could not be sent.
    expect(err.split("\n").filter((l) => l.startsWith("synapse: warning: this process is out of file descriptors (EMFILE"))).toHaveLength(1);
    expect(result.unsent).toBeGreaterThan(0);
    // A probe that could not be made asks no helper and suspects nobody.
    expect(result.offlineEvents).toBe(0);
    expect(result.maxOffline).toBe(0);
  }, 60_000);
});
