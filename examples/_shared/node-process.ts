/**
 * One node per process: the command line every example node reads, the `ready` line a launcher
 * (and a test) waits for, and a clean stop on Ctrl+C or SIGTERM.
 */
import { parseArgs } from "node:util";
import type { Node } from "../../src/index.ts";

/** What an example node reads from its command line. */
export interface NodeArgs {
  /** `--port N`: the port to listen on (0: a free one, printed in the ready line). */
  port: number;
  /** `--seed HOST:PORT` (repeatable): first contacts. */
  seeds: string[];
  /** Flags of the node's own with a value, as strings (`--task TEXT`, `--every 2`, ...). */
  extra: Record<string, string | undefined>;
  /** Flags of the node's own without a value (`--until-close`): whether each was given. */
  switches: Record<string, boolean>;
}

/**
 * Read `--port`, `--seed` (repeatable), the node's own flags with a value (`own`) and without
 * (`switches`) from the command line; `defaults.port` when `--port` is absent, `defaults.seed`
 * when no `--seed` is given. A bad flag ends the program with status 2 and a message.
 */
export function nodeArgs(program: string, defaults: { port: number; seed?: string }, own: string[] = [], switches: string[] = []): NodeArgs {
  const options: Record<string, { type: "string" | "boolean"; multiple?: boolean }> = { port: { type: "string" }, seed: { type: "string", multiple: true } };
  for (const flag of own) options[flag] = { type: "string" };
  for (const flag of switches) options[flag] = { type: "boolean" };
  try {
    const { values } = parseArgs({ args: process.argv.slice(2), options, strict: true, allowPositionals: false });
    const port = values.port === undefined ? defaults.port : Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be a port number, got ${JSON.stringify(values.port)}`);
    const seeds = (values.seed as string[] | undefined) ?? (defaults.seed ? [defaults.seed] : []);
    const extra: Record<string, string | undefined> = {};
    for (const flag of own) extra[flag] = values[flag] as string | undefined;
    const given = Object.fromEntries(switches.map((flag) => [flag, values[flag] === true]));
    return { port, seeds, extra, switches: given };
  } catch (error) {
    console.error(`${program}: ${(error as Error).message}`);
    console.error(`usage: bun ${program} [--port N] [--seed HOST:PORT]...${own.map((f) => ` [--${f} VALUE]`).join("")}${switches.map((f) => ` [--${f}]`).join("")}`);
    process.exit(2);
  }
}

/**
 * Print the line a launcher waits for: `ready name=NAME address=HOST:PORT` and any `key=value`
 * pairs of `extra`. Values never contain spaces.
 */
export function announceReady(node: Node, extra: Record<string, string> = {}): void {
  const pairs = Object.entries({ name: node.name, address: `127.0.0.1:${node.port}`, ...extra });
  console.log(`ready ${pairs.map(([k, v]) => `${k}=${v}`).join(" ")}`);
}

/** Parse a `ready ...` line into its pairs; null for any other line. */
export function parseReady(line: string): Record<string, string> | null {
  if (!line.startsWith("ready ")) return null;
  return Object.fromEntries(
    line
      .slice("ready ".length)
      .split(" ")
      .map((pair) => [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)]),
  );
}

/**
 * Run `stop` once on Ctrl+C (SIGINT) or SIGTERM, then exit with status 0. Signals that arrive while
 * stopping are ignored: Ctrl+C in a terminal reaches every process of a launcher at once, and the
 * launcher forwards it too. Returns a promise that never resolves, for a program that serves until
 * it is told to stop.
 */
export function stopOnSignal(program: string, stop: () => Promise<void>): Promise<never> {
  let stopping = false;
  const onSignal = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${program}: ${signal}, stopping`);
    void stop().then(
      () => process.exit(0),
      (error) => {
        console.error(`${program}: stop failed: ${(error as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => onSignal("SIGINT"));
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  return new Promise<never>(() => {});
}
