#!/usr/bin/env bun
/**
 * `sn`: the command line to watch and talk to a synapse swarm. This file only parses: the command
 * table (`spec.ts`), the parser (`parse.ts`) and the help (`help.ts`) load nothing of the library,
 * and a command's code is imported only when that command runs, so `sn --help` starts fast (also as
 * a compiled binary, `bun run build`).
 *
 * Exit codes: 0 done; 1 the call or the swarm failed (an error, a timeout, no peer, no reply: one
 * line on stderr); 2 bad usage (unknown command or option, missing or malformed argument).
 *
 * @example
 * sn ping 127.0.0.1:9999
 * sn watch lab
 * sn ask lab "Review this diff" -c url=https://example.com/pr/7
 *
 * @module
 */
import pkg from "../../package.json" with { type: "json" };
import { colourEnabled, painter, plain } from "./color.ts";
import { commandHelp, mainHelp } from "./help.ts";
import { UsageError, closest, didYouMean, parseCommandLine, type Parsed } from "./parse.ts";
import { COMMANDS, findCommand, type CommandSpec, type Io } from "./spec.ts";

const processIo: Io = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
};

/** Commands whose SWARM argument may come from `SN_SWARM` or the context (fixed number of arguments). */
const SWARM_FROM_ENV = new Set(["watch", "dashboard", "ask", "broadcast"]);

/** True when SWARM was left out of a command that may take it from `SN_SWARM` or the context. */
function mayTakeSwarmFromEnv(spec: CommandSpec, parsed: Parsed): boolean {
  const required = spec.positionals.filter((p) => p.required !== false && !p.variadic).length;
  return parsed.positionals.length < required && spec.positionals[0]?.name === "SWARM" && SWARM_FROM_ENV.has(spec.name);
}

/**
 * Check the positional arguments against the command's: fill SWARM from `env.SN_SWARM` (`main`
 * passes the environment over the saved context) when it was left out, refuse missing and extra ones.
 *
 * @throws {UsageError}
 */
export function checkPositionals(spec: CommandSpec, parsed: Parsed, env: Record<string, string | undefined> = process.env): void {
  const required = spec.positionals.filter((p) => p.required !== false && !p.variadic);
  const variadic = spec.positionals.some((p) => p.variadic);
  const words = parsed.positionals;
  if (mayTakeSwarmFromEnv(spec, parsed) && env.SN_SWARM) words.unshift(env.SN_SWARM);
  if (words.length < required.length) {
    const missing = required.slice(words.length).map((p) => p.name);
    throw new UsageError(`\`sn ${spec.name}\` needs ${missing.join(" and ")}${missing[0] === "SWARM" ? " (or set SN_SWARM, or save it in a context)" : ""}`, spec.name);
  }
  if (!variadic && words.length > spec.positionals.length) {
    const extra = words.slice(spec.positionals.length);
    const last = spec.positionals.at(-1)?.name;
    const hint = last === "TASK" || last === "MESSAGE" ? `; quote the ${last.toLowerCase()}: sn ${spec.name} ${words[0]} "${words.slice(1).join(" ")}"` : "";
    throw new UsageError(`unexpected argument${extra.length > 1 ? "s" : ""} ${extra.map((w) => JSON.stringify(w)).join(" ")} for \`sn ${spec.name}\`${hint}`, spec.name);
  }
}

/**
 * Run `sn` with `argv` (without the program name) and return the exit code: 0 done, 1 the call or
 * the swarm failed, 2 bad usage.
 */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  const paint = painter(colourEnabled());
  const first = argv[0];
  if (first === undefined || first === "--help" || first === "-h" || first === "help") {
    const topic = first === "help" && argv[1] ? findCommand(argv[1]) : undefined;
    io.stdout(topic ? commandHelp(topic, paint) : mainHelp(pkg.version, paint));
    return first === undefined ? 2 : 0;
  }
  if (first === "--version" || first === "-V" || first === "-v" || first === "version") {
    io.stdout(`${pkg.version}\n`);
    return 0;
  }
  const spec = findCommand(first);
  try {
    if (!spec) {
      const what = first.startsWith("-") ? `unknown option ${first}` : `unknown command ${JSON.stringify(first)}`;
      const names = first.startsWith("-") ? ["--help", "--version"] : COMMANDS.map((c) => c.name);
      throw new UsageError(`${what}${didYouMean(closest(first, names))}`);
    }
    const parsed = parseCommandLine(spec, argv.slice(1));
    if (parsed.help) {
      io.stdout(commandHelp(spec, paint));
      return 0;
    }
    // The saved context is a file: read it (and its module) only for a command line that needs it.
    const env = mayTakeSwarmFromEnv(spec, parsed) ? (await import("./context-store.ts")).cliEnvironment() : process.env;
    checkPositionals(spec, parsed, env);
    const command = await spec.load();
    if (spec.group === "swarm") return await command.run(parsed, io); // they stop cleanly on SIGINT themselves
    // A node command waiting for an answer: Ctrl+C ends it at once, with the shell's usual code.
    const interrupted = () => {
      io.stderr("interrupted\n");
      process.exit(130);
    };
    process.once("SIGINT", interrupted);
    try {
      return await command.run(parsed, io);
    } finally {
      process.off("SIGINT", interrupted);
    }
  } catch (error) {
    return report(error, spec?.name ?? null, argv, io);
  }
}

/** Print a failure as one line on stderr (and a JSON line with `--json`); choose the exit code. */
function report(error: unknown, command: string | null, argv: readonly string[], io: Io): number {
  const { name, code, message } = describe(error);
  if (name === "UsageError" || name === "ConfigError" || code === "invalid_config") {
    const about = (error instanceof UsageError ? error.command : null) ?? command;
    io.stderr(`error: ${plain(message)} (see \`sn ${about ? `${about} ` : ""}--help\`)\n`);
    return 2;
  }
  const dash = argv.indexOf("--");
  if ((dash === -1 ? argv : argv.slice(0, dash)).includes("--json")) io.stdout(`${JSON.stringify({ error: { code, message } })}\n`);
  io.stderr(`error: ${code}: ${message}\n`);
  return 1;
}

/** An error's class name, code and message, without importing the library's classes. */
function describe(error: unknown): { name: string; code: string; message: string } {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { name: error.name, code: typeof code === "string" && code !== "" ? code : "error", message: error.message };
  }
  return { name: "Error", code: "error", message: String(error) };
}

/** Wait until everything written to stdout and stderr is out (before `process.exit`). */
async function flushed(): Promise<void> {
  const drain = (stream: NodeJS.WriteStream) =>
    stream.writableNeedDrain ? new Promise<void>((resolve) => stream.once("drain", () => resolve())) : Promise.resolve();
  await Promise.all([drain(process.stdout), drain(process.stderr)]);
}

if (import.meta.main) {
  // No top-level await: the compiled binary is bytecode-compiled, which needs a CommonJS-shaped entry.
  void main(process.argv.slice(2)).then(async (code) => {
    await flushed();
    // Every command has stopped its node; exiting here skips waiting for sockets that are still
    // closing or connecting (a peer that timed out), which used to delay the exit by seconds.
    process.exit(code);
  });
}
