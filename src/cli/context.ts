/**
 * `sn context save|use|ls|show|rm`: manage the saved contexts (`context-store.ts`), named sets of
 * swarm defaults that the swarm commands read below their flags and the `SN_*` variables.
 *
 * @module
 */
import type { CommandModule, Io } from "./command.ts";
import {
  activeContext,
  checkName,
  configDir,
  contextNames,
  readContext,
  removeContext,
  selectContext,
  selectedName,
  writeContext,
  type SnContext,
} from "./context-store.ts";
import { parseAddress, portNumber } from "./args.ts";
import { booleanFlag, listFlag, stringFlag, UsageError, type Parsed } from "./parse.ts";
import { ConfigError } from "../errors.ts";
import { CONTEXT_ACTIONS } from "./spec.ts";

/** Flags only `save` takes (besides `--json`, which `ls` and `show` take). */
const SAVE_FLAGS = ["swarm", "seed", "team", "bind", "port", "mdns", "description", "select"];

/** The values given to `save`, checked as the swarm commands would check them. */
function givenValues(parsed: Parsed): SnContext {
  const out: SnContext = {};
  const swarm = stringFlag(parsed, "swarm");
  if (swarm !== undefined) {
    if (swarm.trim() === "") throw new UsageError("--swarm is empty", "context");
    out.swarm = swarm;
  }
  const seeds = listFlag(parsed, "seed")
    .flatMap((s) => s.split(","))
    .map((s) => s.trim())
    .filter((s) => s !== "");
  for (const seed of seeds) parseAddress(seed); // a malformed seed is refused now, not when a command runs
  if (seeds.length > 0) out.seeds = seeds;
  for (const key of ["team", "bind", "description"] as const) {
    const value = stringFlag(parsed, key);
    if (value !== undefined) out[key] = value;
  }
  const port = stringFlag(parsed, "port");
  if (port !== undefined) out.port = portNumber(port, 0);
  if (typeof parsed.flags.mdns === "boolean") out.mdns = booleanFlag(parsed, "mdns");
  return out;
}

/** `swarm lab, seeds 10.0.0.5:9999, team red, no mDNS` */
function summary(context: SnContext): string {
  const parts: string[] = [];
  if (context.swarm !== undefined) parts.push(`swarm ${context.swarm}`);
  if (context.seeds?.length) parts.push(`seeds ${context.seeds.join(",")}`);
  if (context.team !== undefined) parts.push(`team ${context.team}`);
  if (context.bind !== undefined) parts.push(`bind ${context.bind}`);
  if (context.port !== undefined) parts.push(`port ${context.port}`);
  if (context.mdns !== undefined) parts.push(context.mdns ? "mDNS" : "no mDNS");
  const text = parts.join(", ") || "(empty)";
  return context.description ? `${text}  # ${context.description}` : text;
}

function line(io: Io, text: string): void {
  io.stdout(`${text}\n`);
}

/** The NAME argument, required for `action`. */
function nameOf(parsed: Parsed, action: string): string {
  const name = parsed.positionals[1];
  if (name === undefined) throw new UsageError(`\`sn context ${action}\` needs NAME`, "context");
  return checkName(name);
}

export const run: CommandModule["run"] = async (parsed, io) => {
  const action = parsed.positionals[0]!;
  if (!(CONTEXT_ACTIONS as readonly string[]).includes(action)) {
    throw new UsageError(`unknown action ${JSON.stringify(action)} for \`sn context\`: ${CONTEXT_ACTIONS.join(", ")}`, "context");
  }
  if (parsed.positionals.length > 2 || (action === "ls" && parsed.positionals.length > 1)) {
    throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals.at(-1))} for \`sn context ${action}\``, "context");
  }
  const misplaced = Object.keys(parsed.flags).find((f) => (action === "save" ? f === "none" || f === "json" : SAVE_FLAGS.includes(f) || (f === "none" && action !== "use") || (f === "json" && action !== "ls" && action !== "show")));
  if (misplaced) throw new UsageError(`--${misplaced} does not go with \`sn context ${action}\``, "context");
  const json = booleanFlag(parsed, "json");

  switch (action) {
    case "save": {
      const name = nameOf(parsed, action);
      const given = givenValues(parsed);
      if (Object.keys(given).length === 0) throw new UsageError("nothing to save: give --swarm, --seed, --team, --bind, --port, --[no-]mdns or --description", "context");
      // Like the NATS CLI: saving again updates the values given and keeps the others.
      const context: SnContext = { ...(readContext(name) ?? {}), ...given };
      const file = writeContext(name, context);
      if (booleanFlag(parsed, "select")) selectContext(name);
      line(io, `saved context ${name} (${summary(context)}) in ${file}${booleanFlag(parsed, "select") ? "; selected" : ""}`);
      return 0;
    }
    case "use": {
      if (booleanFlag(parsed, "none")) {
        if (parsed.positionals.length > 1) throw new UsageError("`sn context use --none` takes no NAME", "context");
        selectContext(null);
        line(io, "no context selected");
        return 0;
      }
      const name = nameOf(parsed, action);
      const context = readContext(name);
      if (!context) throw new ConfigError(`no context named ${JSON.stringify(name)}: see \`sn context ls\``);
      selectContext(name);
      line(io, `using context ${name} (${summary(context)})`);
      return 0;
    }
    case "ls": {
      const selected = selectedName();
      const all = contextNames().map((name) => ({ name, selected: name === selected, context: readContext(name) ?? {} }));
      if (json) {
        for (const c of all) io.stdout(`${JSON.stringify({ name: c.name, selected: c.selected, ...c.context })}\n`);
        return 0;
      }
      if (all.length === 0) {
        line(io, `no saved contexts in ${configDir()} (sn context save NAME --swarm SWARM --seed HOST:PORT ...)`);
        return 0;
      }
      const width = Math.max(...all.map((c) => c.name.length));
      for (const c of all) line(io, `${c.selected ? "*" : " "} ${c.name.padEnd(width)}  ${summary(c.context)}`);
      return 0;
    }
    case "show": {
      const named = parsed.positionals[1] !== undefined ? { name: nameOf(parsed, action), context: readContext(nameOf(parsed, action)) } : activeContext();
      if (!named) throw new ConfigError("no context selected: name one (`sn context show NAME`) or select one (`sn context use NAME`)");
      if (!named.context) throw new ConfigError(`no context named ${JSON.stringify(named.name)}: see \`sn context ls\``);
      if (json) io.stdout(`${JSON.stringify({ name: named.name, ...named.context })}\n`);
      else line(io, `${named.name}: ${summary(named.context)}`);
      return 0;
    }
    default: {
      const name = nameOf(parsed, action);
      if (!removeContext(name)) throw new ConfigError(`no context named ${JSON.stringify(name)}: see \`sn context ls\``);
      line(io, `removed context ${name}`);
      return 0;
    }
  }
};
