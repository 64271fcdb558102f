/**
 * What the swarm commands of `sn` (`watch`, `broadcast`, `ask`) share: their flags, a node of their
 * own that joins the swarm, and waiting for a signal or a deadline.
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import { Client, ConfigError, ErrorCode, Node, SynapseError, type NodeOptions, type WireErrorCode } from "../index.ts";
import { parseAddress, portNumber, seconds, seedList } from "./args.ts";
import type { Printer } from "./output.ts";

/** Flags of every swarm command. */
export const swarmArgs = {
  swarm: { type: "string", description: "Swarm to join (default: the first seed's)", valueHint: "name" },
  team: { type: "string", description: "Team inside the swarm (default: the seed's with no --swarm, else \"default\")", valueHint: "name" },
  seed: { type: "string", description: "A node to join through, host:port (repeatable, or comma-separated)", valueHint: "host:port" },
  mdns: { type: "boolean", description: "Also find peers over mDNS on the local network" },
  bind: { type: "string", description: "Address this command's node listens on", default: "0.0.0.0", valueHint: "address" },
  port: { type: "string", description: "Port this command's node listens on (0 picks a free one)", default: "0" },
  advertise: { type: "string", description: "Address told to peers (default: picked from --bind)", valueHint: "address" },
  name: { type: "string", description: "Name of this command's node (default: sn-<command>-<random>)" },
  json: { type: "boolean", description: "Print one JSON object per line (for scripts)" },
} as const;

/** The parsed values of {@link swarmArgs}. */
export interface SwarmFlags {
  swarm?: string;
  team?: string;
  mdns?: boolean;
  bind?: string;
  port?: string;
  advertise?: string;
  name?: string;
}

/** Seconds a seed gets to say which swarm it is in (when `--swarm` is not given). */
const SEED_INFO_TIMEOUT = 5;

/**
 * The swarm and team to join: the flags, or else the first seed that answers `_synapse.info`.
 *
 * @throws {ConfigError} with neither `--swarm` nor a seed, or a seed in no swarm.
 * @throws {SynapseError} when no seed answers: the code of the first failure (`connection_closed`,
 *   `timeout`, ...), which is also its `cause`.
 */
async function resolveSwarm(flags: SwarmFlags, seeds: string[]): Promise<{ swarm: string; team: string | null }> {
  if (flags.swarm) return { swarm: flags.swarm, team: flags.team ?? "default" };
  if (seeds.length === 0) throw new ConfigError("--swarm is required (or give a --seed to read it from)");
  const failures: string[] = [];
  let first: unknown;
  for (const seed of seeds) {
    const address = parseAddress(seed);
    try {
      const info = await new Client(address.host, address.port, { timeout: SEED_INFO_TIMEOUT }).info();
      if (!info.swarm) throw new ConfigError(`seed ${seed} is in no swarm; pass --swarm`);
      return { swarm: info.swarm, team: flags.team ?? info.team };
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      if (failures.length === 0) first = error;
      failures.push(`${seed}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const code: WireErrorCode = first instanceof SynapseError ? first.code : ErrorCode.ConnectionClosed;
  throw new SynapseError(code, `no seed answered, so the swarm is unknown (pass --swarm): ${failures.join("; ")}`, { cause: first });
}

/** Options of {@link joinSwarm}. */
export interface JoinSwarmOptions {
  /** The command, for the default node name (`sn-watch-1a2b`). */
  command: string;
  flags: SwarmFlags;
  rawArgs: readonly string[];
  out: Printer;
  /** Subscribe to node events here: called after the node is made and before it joins. */
  subscribe?: (node: Node) => void;
  /** Extra node options (heartbeat timings, ...). */
  node?: Partial<NodeOptions>;
}

/**
 * Make this command's node (kind "node", name `sn-<command>-<random>`), let the caller subscribe,
 * then start it and join the seeds (and mDNS). Seeds that failed are reported on stderr; the node
 * keeps retrying them in the background.
 */
export async function joinSwarm(options: JoinSwarmOptions): Promise<Node> {
  const { flags, out } = options;
  const seeds = seedList(options.rawArgs);
  for (const seed of seeds) parseAddress(seed); // a malformed seed is a usage error, before anything starts
  if (seeds.length === 0 && !flags.mdns) throw new ConfigError("give at least one --seed (or --mdns) to find the swarm");
  const { swarm, team } = await resolveSwarm(flags, seeds);
  const node = new Node({
    kind: "node",
    name: flags.name || `sn-${options.command}-${randomBytes(2).toString("hex")}`,
    swarm,
    team,
    bind: flags.bind || "0.0.0.0",
    port: portNumber(flags.port, 0),
    ...(flags.advertise ? { advertise: flags.advertise } : {}),
    seeds,
    mdns: flags.mdns === true,
    ...options.node,
  });
  options.subscribe?.(node);
  try {
    await node.join();
  } catch (error) {
    await node.stop();
    throw error;
  }
  for (const status of node.membership.seedStatus()) {
    if (status.lastError !== null) out.warn(`warning: seed ${status.seed}: ${status.lastError}`);
  }
  return node;
}

/**
 * Resolve on SIGINT or SIGTERM, after `duration` seconds when given, or when `signal` aborts; with
 * the signal's name, `"duration"` or `"aborted"`. The signal handlers are removed afterwards.
 */
export function untilStopped(duration: number | null, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve) => {
    const finish = (why: string) => {
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
      signal?.removeEventListener("abort", onAbort);
      if (timer) clearTimeout(timer);
      resolve(why);
    };
    const onInt = () => finish("SIGINT");
    const onTerm = () => finish("SIGTERM");
    const onAbort = () => finish("aborted");
    process.on("SIGINT", onInt);
    process.on("SIGTERM", onTerm);
    signal?.addEventListener("abort", onAbort);
    const timer = duration === null ? null : setTimeout(() => finish("duration"), duration * 1000);
    if (signal?.aborted) finish("aborted");
  });
}

/** `--duration`/`--wait` in seconds; `null` for none. */
export function optionalSeconds(text: string | undefined, flag: string): number | null {
  if (text === undefined || text === "") return null;
  return seconds(text, flag, 0);
}
