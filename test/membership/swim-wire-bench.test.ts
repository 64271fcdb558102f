/**
 * bench/swim-wire.ts in quick mode, as a subprocess: it must finish (it checks itself that both
 * wire forms read back as the updates they carried) and write a result file of the expected shape.
 * The numbers are not judged (no timing thresholds).
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { isPositive, quickBench } from "../helpers/bench.ts";

const bench = quickBench("synapse-swim-wire-bench-");

test("swim wire - bench quick run writes swim-wire.json with both forms' bytes and timings", async () => {
  const { code, out } = await bench.run(["bench/swim-wire.ts"], 60_000);
  expect(code, out).toBe(0);
  expect(out).toContain("SWIM gossip message, 32 alive updates");
  const result = JSON.parse(readFileSync(join(bench.outDir, "swim-wire.json"), "utf8"));
  expect(result.scenario).toBe("swim-wire");
  expect(result.forms.map((f: { form: string }) => f.form)).toEqual(["map", "packed"]);
  for (const f of result.forms) {
    // 32 updates of about 250 bytes each.
    expect(f.bytes).toBeGreaterThan(32 * 200);
    for (const key of ["encodeNs", "decodeOldNewsNs", "decodeNewsNs"]) expect(isPositive(f[key])).toBe(true);
  }
  expect(isPositive(result.forms[1].firstPackNs)).toBe(true);
  expect(result.summary.length).toBe(2);
}, 90_000);
