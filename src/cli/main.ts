#!/usr/bin/env bun
/**
 * `sn`: the command line to watch and talk to a swarm. A thin layer over the public API: every
 * command is a `Client` call or a short-lived `Node`.
 *
 * Exit codes: 0 done; 1 the call or the swarm failed (a `RemoteError`, a timeout, a connection
 * error: the error's code and message go to stderr); 2 bad usage (unknown command, missing or
 * malformed argument).
 *
 * @example
 * bun run sn ping 127.0.0.1:9999
 * bun run sn call 127.0.0.1:9999 sum 1 2
 * bun run sn watch --seed 127.0.0.1:9999
 *
 * @module
 */
import { plain } from "./color.ts"; // first: it decides whether citty colours its output
import { defineCommand, runCommand, showUsage, type CommandDef } from "citty";
import { ConfigError, SynapseError, defaultPool } from "../index.ts";
import pkg from "../../package.json" with { type: "json" };
import { call, info, methods, peers, ping } from "./query.ts";
import { watch } from "./watch.ts";
import { ask, broadcast } from "./broadcast.ts";

/** Every subcommand, by name. */
const commands: Record<string, CommandDef> = { ping, info, methods, peers, call, watch, broadcast, ask } as unknown as Record<string, CommandDef>; // citty's CommandDef<T> is invariant in its argument types

/** The `sn` command with its subcommands. */
export const sn = defineCommand({
  meta: { name: "sn", version: pkg.version, description: "Watch and talk to a synapse swarm" },
  subCommands: commands,
});

/** Writers `main` prints through (replaceable in tests). */
export interface MainIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

const processIo: MainIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
};

/** Arguments before a `--` (flags after it are positional values). */
function flagsPart(argv: readonly string[]): readonly string[] {
  const end = argv.indexOf("--");
  return end === -1 ? argv : argv.slice(0, end);
}

/** The subcommand named in `argv` (its first word), or null. */
function subcommandOf(argv: readonly string[]): CommandDef | null {
  const name = argv.find((a) => !a.startsWith("-"));
  return name !== undefined && Object.hasOwn(commands, name) ? commands[name]! : null;
}

/**
 * Run `sn` with `argv` (without the program name) and return the exit code: 0 done, 1 the call or
 * the swarm failed, 2 bad usage.
 */
export async function main(argv: readonly string[], io: MainIo = processIo): Promise<number> {
  const flags = flagsPart(argv);
  if (flags.includes("--help") || flags.includes("-h") || argv.length === 0) {
    const sub = subcommandOf(flags);
    if (sub) await showUsage(sub, sn as CommandDef);
    else await showUsage(sn as CommandDef);
    return argv.length === 0 ? 2 : 0;
  }
  if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-v")) {
    io.stdout(`${pkg.version}\n`);
    return 0;
  }
  try {
    await runCommand(sn as CommandDef, { rawArgs: [...argv] });
    return 0;
  } catch (error) {
    return report(error, argv, io);
  }
}

/** Print a failure and choose the exit code. */
async function report(error: unknown, argv: readonly string[], io: MainIo): Promise<number> {
  const usage = error instanceof Error && error.name === "CLIError"; // citty's parse errors (not exported)
  if (usage || error instanceof ConfigError) {
    const sub = subcommandOf(flagsPart(argv));
    const name = sub ? argv.find((a) => !a.startsWith("-")) : null;
    io.stderr(`error: ${plain((error as Error).message)}\n`);
    io.stderr(`run \`sn ${name ? `${name} ` : ""}--help\` for usage\n`);
    return 2;
  }
  const code = error instanceof SynapseError ? error.code : "error";
  const message = error instanceof Error ? error.message : String(error);
  if (flagsPart(argv).includes("--json")) io.stdout(`${JSON.stringify({ error: { code, message } })}\n`);
  io.stderr(`error: ${code}: ${message}\n`);
  return 1;
}

if (import.meta.main) {
  const code = await main(process.argv.slice(2));
  defaultPool.closeAll();
  process.exitCode = code;
  // Everything is stopped, so the process ends by itself; this only guards against a stray handle.
  setTimeout(() => process.exit(code), 2000).unref();
}
