/**
 * What the swarm commands of `sn` (`watch`, `ask`, `broadcast`, `broadcast-call`) share: the
 * swarm options (flags, then `SN_*` environment variables, then the saved context, then defaults), a node of their own
 * that joins the swarm, and waiting for a signal or a deadline.
 *
 * @module
 */
import { ConfigError, ListenError, Node, type BroadcastReply, type ConversationEvent, type NodeOptions } from "../index.ts";
import { parseAddress, portNumber } from "./args.ts";
import { cliEnvironment } from "./context-store.ts";
import type { Printer } from "./output.ts";
import { booleanFlag, listFlag, stringFlag, type Parsed } from "./parse.ts";
import { isLoopback } from "../util/guards.ts";
import { keyList, seedFailure } from "./closed-swarm.ts";

/** The node a swarm command joins with, as the options resolved it. */
export interface SwarmOptions {
  swarm: string;
  team: string;
  name: string;
  seeds: string[];
  mdns: boolean;
  bind: string;
  port: number;
  advertise: string | null;
  /** `--swarm-key` (comma-separated keys), else none here: the node reads `SYNAPSE_SWARM_KEY` itself. */
  swarmKey?: string[];
  /** `--identity`, else none here: the node reads `SYNAPSE_IDENTITY` itself. */
  identity?: string;
}

/** Defaults of one command's node (the Python `sn`'s: "watcher"/"observer", "asker"/"asker", ...). */
export interface NodeDefaults {
  name: string;
  role: string;
  capabilities: string[];
}


/** `SN_MDNS`: `0`/`false`/`no`/`off` turn mDNS off by default, anything else on. */
function mdnsDefault(env: Record<string, string | undefined>): boolean {
  const value = env.SN_MDNS?.trim().toLowerCase();
  return !(value === "0" || value === "false" || value === "no" || value === "off");
}

/**
 * Resolve the swarm options of a command: the flags, else the environment (`SN_SEEDS`, `SN_TEAM`,
 * `SN_BIND`, `SN_PORT`, `SN_MDNS`), else the saved context (`context-store.ts`; by default `env`
 * is the process's environment over the active context's values), else the defaults. With mDNS off and every seed on loopback
 * the node binds and advertises 127.0.0.1, as the Python `sn` does.
 *
 * @throws {ConfigError} for a malformed seed or port, or no way to find peers (no seed, mDNS off).
 */
export function swarmOptions(parsed: Parsed, defaultName: string, env: Record<string, string | undefined> = cliEnvironment()): SwarmOptions {
  const swarm = parsed.positionals[0]!;
  if (swarm.trim() === "") throw new ConfigError("the SWARM name is empty");
  const given = listFlag(parsed, "seed");
  const seeds = (given.length > 0 ? given : [env.SN_SEEDS ?? ""])
    .flatMap((s) => s.split(","))
    .map((s) => s.trim())
    .filter((s) => s !== "");
  const hosts = seeds.map((seed) => parseAddress(seed).host); // a malformed seed is a usage error, before anything starts
  const mdns = booleanFlag(parsed, "mdns", mdnsDefault(env));
  if (seeds.length === 0 && !mdns) throw new ConfigError("with --no-mdns, give at least one --seed HOST:PORT (or set SN_SEEDS)");
  const local = !mdns && hosts.every(isLoopback);
  const bind = stringFlag(parsed, "bind") || env.SN_BIND || (local ? "127.0.0.1" : "0.0.0.0");
  const advertise = stringFlag(parsed, "advertise") || (local && bind === "127.0.0.1" ? "127.0.0.1" : null);
  const swarmKey = keyList(stringFlag(parsed, "swarm-key"));
  const identity = stringFlag(parsed, "identity");
  return {
    swarm,
    team: stringFlag(parsed, "team") || env.SN_TEAM || "default",
    name: stringFlag(parsed, "name") || defaultName,
    seeds,
    mdns,
    bind,
    port: portNumber(stringFlag(parsed, "port") ?? env.SN_PORT, 0),
    advertise,
    ...(swarmKey ? { swarmKey } : {}),
    ...(identity ? { identity } : {}),
  };
}

/** Options of {@link joinSwarm}. */
export interface JoinSwarmOptions {
  parsed: Parsed;
  defaults: NodeDefaults;
  out: Printer;
  /** Subscribe to node events or add endpoints here: called after the node is made, before it joins. */
  setup?: (node: Node) => void;
  /** Extra node options (heartbeat timings, ...). */
  node?: Partial<NodeOptions>;
}

/**
 * Make this command's node, let the caller set it up, then start it and join the seeds (and
 * mDNS). Seeds that failed are reported on stderr; the node keeps retrying them in the background.
 */
export async function joinSwarm(options: JoinSwarmOptions): Promise<Node> {
  const { out, defaults } = options;
  const o = swarmOptions(options.parsed, defaults.name);
  const node = new Node({
    kind: "node",
    name: o.name,
    role: defaults.role,
    capabilities: defaults.capabilities,
    swarm: o.swarm,
    team: o.team,
    bind: o.bind,
    port: o.port,
    ...(o.advertise ? { advertise: o.advertise } : {}),
    seeds: o.seeds,
    mdns: o.mdns,
    ...(o.swarmKey ? { swarmKey: o.swarmKey } : {}),
    ...(o.identity ? { identity: o.identity } : {}),
    ...options.node,
  });
  options.setup?.(node);
  guardJoin(node);
  try {
    await node.join();
  } catch (error) {
    joinGuard?.remove();
    await node.stop();
    if (error instanceof ListenError && error.code === "address_in_use") {
      // Another process (often another `sn` or the node being watched) holds the port.
      throw new ListenError(error.address, error.code, `${error.message}: pass another --port (0 picks a free one)`, { cause: error });
    }
    throw error;
  }
  for (const status of node.membership.seedStatus()) {
    if (status.lastError !== null) out.warn(`warning: seed ${status.seed}: ${await seedFailure(status.seed, status.lastError, node, o.swarm)}`);
  }
  return node;
}

/** The Ctrl+C guard of the node that is joining, until {@link untilStopped} listens instead. */
let joinGuard: { remove(): void } | null = null;

/**
 * From before the join until the command waits in {@link untilStopped}, Ctrl+C (or SIGTERM) still
 * leaves the swarm: it stops the node (which tells its Bun peers) and then ends the process with the
 * shell's usual code (130, 143), instead of dying with the node still listed by its peers. Signal
 * handlers also take a moment to become active in Bun: installing this one early leaves no gap.
 */
function guardJoin(node: Node): void {
  const onInt = () => interrupted(130);
  const onTerm = () => interrupted(143);
  const guard = {
    remove(): void {
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
      if (joinGuard === guard) joinGuard = null;
    },
  };
  const interrupted = (code: number) => {
    guard.remove();
    void node.stop().finally(() => process.exit(code));
  };
  joinGuard?.remove();
  joinGuard = guard;
  process.on("SIGINT", onInt);
  process.on("SIGTERM", onTerm);
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
    // Listening now: the join's guard can go (after these handlers were added, so there is no gap).
    joinGuard?.remove();
    if (signal?.aborted) finish("aborted");
  });
}

/** What a swarm command counted of its broadcast's conversation. */
export interface BroadcastTally {
  nonce: string | null;
  peers: number;
  acks: number;
  replies: number;
  errors: number;
  /** Events of other kinds (custom ones). */
  others: number;
}

/** What {@link followBroadcast} shows of a broadcast's conversation. */
export interface BroadcastFollower {
  /** The broadcast's nonce is known: called once, before any of its events. */
  opened(nonce: string): void;
  /** An event of its conversation (the node's own opening message excluded). */
  event(event: ConversationEvent): void;
  /** A reply to it. */
  reply(reply: BroadcastReply): void;
}

/**
 * Follow the conversation of the broadcast `node` is about to send. Its nonce is known once the
 * node files the opening message (before the calls go out) or the broadcast call returns, so events
 * and replies that arrive before are kept and shown, in order, right after `opened`; those of other
 * conversations are left out. Returns the function to call with the nonce when the call returns.
 */
export function followBroadcast(node: Node, follower: BroadcastFollower): (nonce: string) => void {
  let current: string | null = null;
  const early: Array<{ id: string; show: () => void }> = [];
  const route = (id: string, show: () => void) => {
    if (current === null) early.push({ id, show });
    else if (id === current) show();
  };
  const opened = (nonce: string) => {
    if (current !== null) return;
    current = nonce;
    follower.opened(nonce);
    for (const e of early.splice(0)) if (e.id === nonce) e.show();
  };
  node.on("conversation.event", (event) => {
    if (event.kind === "message" && event.peer.id === node.id && event.event_id === event.conversation_id) opened(event.conversation_id);
    else route(event.conversation_id, () => follower.event(event));
  });
  node.on("broadcast.reply", (reply) => route(reply.nonce, () => follower.reply(reply)));
  return opened;
}
