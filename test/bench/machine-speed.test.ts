/**
 * The machine-speed probe the swarm benches run first (bench/lib/machine-speed.ts): a median round
 * trip of the raw echo, kept for the results' environment. Its value is not checked (the machine is
 * noisy), only that it is one and that it is recorded.
 */
import { expect, test } from "bun:test";
import { environment } from "../../bench/lib/harness.ts";
import { machineLine, machineSpeed, measureRawEcho, runtimeSettings } from "../../bench/lib/machine-speed.ts";

test("bench - the raw echo's round trip is measured, kept for the results' environment and printed", async () => {
  expect(machineSpeed()).toEqual({});
  expect(environment().rawEchoUs).toBeUndefined();
  const us = await measureRawEcho(50);
  expect(Number.isFinite(us) && us > 0).toBe(true);
  expect(machineSpeed()).toEqual({ rawEchoUs: us });
  expect(environment().rawEchoUs).toBe(us);
  expect(machineLine(us)).toStartWith(`machine: raw Bun echo ${us} µs`);
});

test("bench - the runtime's own settings are picked from the environment, recorded and printed", () => {
  const env = { PATH: "/usr/bin", MIMALLOC_PURGE_DELAY: "1000", BUN_JSC_useFTLJIT: "0", BUN_OPTIONS: "--smol", BUN_JSC_unset: undefined, BUN_INSTALL: "/root/.bun", NOT_MIMALLOC_X: "1" };
  const settings = runtimeSettings(env);
  expect(settings).toEqual({ BUN_JSC_useFTLJIT: "0", BUN_OPTIONS: "--smol", MIMALLOC_PURGE_DELAY: "1000" });
  expect(Object.keys(settings)).toEqual(["BUN_JSC_useFTLJIT", "BUN_OPTIONS", "MIMALLOC_PURGE_DELAY"]);
  expect(runtimeSettings({ PATH: "/usr/bin" })).toEqual({});
  expect(machineLine(19.5, settings, null)).toEndWith("; runtime settings BUN_JSC_useFTLJIT=0 BUN_OPTIONS=--smol MIMALLOC_PURGE_DELAY=1000");
  expect(machineLine(19.5, {}, null)).toEndWith("; Bun's default runtime settings");
  expect(machineLine(19.5, {}, 1.3)).toEndWith("; Bun's default runtime settings; a CPU quota of 1.3 cores");
  expect(environment().runtime).toEqual(runtimeSettings());
});
