/**
 * The machine-speed probe the swarm benches run first (bench/lib/machine-speed.ts): a median round
 * trip of the raw echo, kept for the results' environment. Its value is not checked (the machine is
 * noisy), only that it is one and that it is recorded.
 */
import { expect, test } from "bun:test";
import { environment } from "../../bench/lib/harness.ts";
import { machineLine, machineSpeed, measureRawEcho } from "../../bench/lib/machine-speed.ts";

test("bench - the raw echo's round trip is measured, kept for the results' environment and printed", async () => {
  expect(machineSpeed()).toEqual({});
  expect(environment().rawEchoUs).toBeUndefined();
  const us = await measureRawEcho(50);
  expect(Number.isFinite(us) && us > 0).toBe(true);
  expect(machineSpeed()).toEqual({ rawEchoUs: us });
  expect(environment().rawEchoUs).toBe(us);
  expect(machineLine(us)).toStartWith(`machine: raw Bun echo ${us} µs`);
});
