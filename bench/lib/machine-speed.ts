/**
 * How quick the machine is, measured at the start of a swarm scenario: the raw Bun length-prefixed
 * echo's sequential round trip (the RPC bench's baseline, `raw-echo.ts`) over loopback, as a
 * median of a few thousand. The swarm benches' times follow the machine's speed (their nodes share
 * two cores), and the same code measured 4.7 µs for this echo on one development machine and
 * 19.2 µs on another (docs/performance-log.md, Dec 4, s38 and s39): recorded with every result
 * (`environment.rawEchoUs`) and printed, so that a figure says which kind of machine made it.
 *
 * @module
 */
import { cpuQuota } from "./cpu-limit.ts";
import { frame, RawEchoClient, RawEchoServer } from "./raw-echo.ts";

/** Round trips timed (after {@link WARMUP}): about 50 ms on a machine whose echo takes 20 µs. */
const ROUNDS = 2000;
const WARMUP = 300;

/** The echo's payload: the size of a small RPC request frame's body. */
const PAYLOAD = new Uint8Array(24).fill(0x2a);

let measured: number | null = null;

/**
 * Median µs of one sequential round trip of the raw echo on 127.0.0.1 (also kept for
 * {@link machineSpeed}). `rounds`: round trips timed.
 */
export async function measureRawEcho(rounds = ROUNDS): Promise<number> {
  const server = new RawEchoServer();
  const client = new RawEchoClient(frame(PAYLOAD));
  try {
    await client.connect(server.start());
    for (let i = 0; i < WARMUP; i++) await client.call();
    const times = new Float64Array(rounds);
    for (let i = 0; i < rounds; i++) {
      const t0 = performance.now();
      await client.call();
      times[i] = performance.now() - t0;
    }
    times.sort();
    measured = Math.round(times[rounds >> 1]! * 10_000) / 10; // µs, one decimal
    return measured;
  } finally {
    client.close();
    server.stop();
  }
}

/** What {@link measureRawEcho} measured last in this process, for a result's environment (nothing before). */
export function machineSpeed(): { rawEchoUs?: number } {
  return measured === null ? {} : { rawEchoUs: measured };
}

/** Names of environment variables that change how Bun's runtime itself runs (see {@link runtimeSettings}). */
const RUNTIME_VARIABLE = /^(?:BUN_JSC_|MIMALLOC_)|^BUN_OPTIONS$/;

/**
 * The environment variables set in `env` that change how Bun's runtime itself runs, by name:
 * JavaScriptCore's options (`BUN_JSC_*`), the allocator's (`MIMALLOC_*`) and `BUN_OPTIONS`. The swarm
 * figures move with them (docs/performance-log.md, Dec 4, s40: `BUN_JSC_useFTLJIT=0` and
 * `MIMALLOC_PURGE_DELAY=1000` cut a fresh 200-peer broadcast's figure by a sixth), and a bench's
 * worker processes inherit them: recorded with every result (`environment.runtime`, empty for Bun's
 * defaults) and printed on the machine line.
 */
export function runtimeSettings(env: Record<string, string | undefined> = process.env): Record<string, string> {
  const settings: Record<string, string> = {};
  for (const name of Object.keys(env).sort()) {
    const value = env[name];
    if (value !== undefined && RUNTIME_VARIABLE.test(name)) settings[name] = value;
  }
  return settings;
}

/** One line for a bench's output: the echo's time, what it says about the figures, the runtime settings in force ({@link runtimeSettings}) and a CPU quota (`cpu-limit.ts`). */
export function machineLine(us: number, settings: Record<string, string> = runtimeSettings(), quota: number | null = cpuQuota()): string {
  const set = Object.entries(settings).map(([name, value]) => `${name}=${value}`);
  const runtime = set.length === 0 ? "Bun's default runtime settings" : `runtime settings ${set.join(" ")}`;
  const cores = quota === null ? "" : `; a CPU quota of ${Math.round(quota * 100) / 100} cores`;
  return `machine: raw Bun echo ${us} µs a sequential round trip (the RPC bench's baseline; 4.7 µs on s38's development machine, 19.2 µs on s39's: the swarm figures follow it); ${runtime}${cores}`;
}
