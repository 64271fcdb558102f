/**
 * The help texts of `sn`, made from the command table (`spec.ts`): `sn --help` and
 * `sn <command> --help`. Loads nothing of the library.
 *
 * @module
 */
import type { Painter } from "./color.ts";
import { COMMANDS, type CommandSpec, type FlagSpec } from "./spec.ts";

/** Environment variables `sn` reads, for the help and the docs. */
export const ENVIRONMENT: ReadonlyArray<[string, string]> = [
  ["SN_SWARM", "swarm of watch/dashboard/ask/broadcast when the SWARM argument is left out"],
  ["SN_SEEDS", "comma-separated seeds, used when no --seed is given"],
  ["SN_TEAM", "default --team"],
  ["SN_BIND", "default --bind"],
  ["SN_PORT", "default --port"],
  ["SN_MDNS", "0 turns mDNS off by default (as --no-mdns), 1 on"],
  ["SN_CONTEXT", "saved context to read defaults from (instead of the one `sn context use` selected)"],
  ["NO_COLOR", "no colours (they are only used on a terminal anyway)"],
];

/** Exit codes, for the help and the docs. */
export const EXIT_CODES = "0 done (ask/broadcast: a reply came), 1 failed (error, timeout, no peer, no reply), 2 bad usage, 130 interrupted (Ctrl+C) during a node command";

function rows(pairs: ReadonlyArray<[string, string]>, indent = "  ", minWidth = 0): string[] {
  const width = Math.max(minWidth, Math.min(30, Math.max(...pairs.map(([left]) => left.length))));
  return pairs.map(([left, right]) => (left.length > width ? `${indent}${left}\n${indent}${" ".repeat(width)}  ${right}` : `${indent}${left.padEnd(width)}  ${right}`));
}

/** `SWARM TASK [ARGS...]` */
export function positionalsText(spec: CommandSpec): string {
  return spec.positionals.map((p) => (p.variadic ? `[${p.name}...]` : p.required === false ? `[${p.name}]` : p.name)).join(" ");
}

function flagLeft(flag: FlagSpec): string {
  const long = flag.type === "boolean" && flag.negatable ? `--[no-]${flag.name}` : `--${flag.name}`;
  const value = flag.type === "string" ? ` ${flag.hint ?? "VALUE"}` : "";
  return `${flag.short ? `-${flag.short}, ` : "    "}${long}${value}`;
}

function flagRight(flag: FlagSpec): string {
  const extra = [flag.default !== undefined ? `default ${flag.default}` : "", flag.env ? `env ${flag.env}` : ""].filter(Boolean).join(", ");
  return extra ? `${flag.description} [${extra}]` : flag.description;
}

/** `sn --help` */
export function mainHelp(version: string, paint: Painter): string {
  const section = (title: string, group: CommandSpec["group"]) => [
    paint("bold", title),
    ...rows(COMMANDS.filter((c) => c.group === group).map((c) => [`${c.name} ${positionalsText(c)}`.trimEnd(), c.summary]), "  ", 30),
  ];
  return [
    `${paint("bold", "sn")} ${version}: watch and talk to a synapse swarm`,
    "",
    `${paint("bold", "Usage:")} sn <command> [arguments] [options]`,
    "",
    ...section("Swarm commands (join the swarm with a node of their own):", "swarm"),
    "",
    ...section("Node commands (ask one node at HOST:PORT):", "node"),
    "",
    ...section("Other:", "other"),
    "",
    paint("bold", "Options:"),
    ...rows([
      ["-h, --help", "Show help (also after any command: sn ask --help)"],
      ["-V, --version", "Print the version"],
    ]),
    "",
    paint("bold", "Environment:"),
    ...rows(ENVIRONMENT.map(([k, v]) => [k, v])),
    `  Defaults: a flag wins over its SN_* variable, which wins over the saved context (sn context).`,
    "",
    `${paint("bold", "Exit codes:")} ${EXIT_CODES}`,
    "",
  ].join("\n");
}

/** `sn <command> --help` */
export function commandHelp(spec: CommandSpec, paint: Painter): string {
  const lines = [`${paint("bold", "Usage:")} sn ${spec.name} ${positionalsText(spec)}${spec.flags.length ? " [options]" : ""}`.replace(/ +/g, " "), "", spec.summary];
  if (spec.details) lines.push(...spec.details);
  if (spec.positionals.length) lines.push("", paint("bold", "Arguments:"), ...rows(spec.positionals.map((p) => [p.name, p.description])));
  lines.push("", paint("bold", "Options:"), ...rows([...spec.flags.map((f): [string, string] => [flagLeft(f), flagRight(f)]), ["-h, --help", "Show this help"]]));
  if (spec.examples.length) lines.push("", paint("bold", "Examples:"), ...spec.examples.map((e) => `  ${e}`));
  lines.push("");
  return lines.join("\n");
}
