/**
 * Saved contexts of `sn`, like the NATS CLI's: named sets of swarm defaults (swarm, seeds, team,
 * bind, port, mDNS) kept as JSON files under `$XDG_CONFIG_HOME/synapse-p2p/context/NAME.json`
 * (`~/.config/...` when XDG_CONFIG_HOME is unset), and the selected one's name in
 * `.../synapse-p2p/context.txt`. `SN_CONTEXT=NAME` selects another one for one command.
 *
 * A context gives defaults below the flags and the `SN_*` variables: flag > environment > context >
 * built-in. It does so by standing in for the unset `SN_*` variables ({@link cliEnvironment}), so
 * every command reads one environment and the order holds by construction.
 *
 * Light on purpose (node:fs, node:path, node:os only): the command line reads it before loading
 * the library.
 *
 * @module
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "../errors.ts";
import { errorMessage } from "../util/guards.ts";

/** The values a context may hold (all optional). */
export interface SnContext {
  /** One line saying what the context is for. */
  description?: string;
  /** Default SWARM of `watch`, `ask`, `broadcast` (as `SN_SWARM`). */
  swarm?: string;
  /** Seeds, `HOST:PORT` (as `SN_SEEDS`). */
  seeds?: string[];
  /** Team (as `SN_TEAM`). */
  team?: string;
  /** Address to listen on (as `SN_BIND`). */
  bind?: string;
  /** Port to listen on (as `SN_PORT`). */
  port?: number;
  /** mDNS on or off (as `SN_MDNS`). */
  mdns?: boolean;
}

/** A context with its name. */
export interface NamedContext {
  name: string;
  context: SnContext;
}

type Env = Record<string, string | undefined>;

/** Where contexts live: `$XDG_CONFIG_HOME/synapse-p2p`, else `$HOME/.config/synapse-p2p`. */
export function configDir(env: Env = process.env): string {
  const xdg = env.XDG_CONFIG_HOME;
  const base = xdg && xdg.startsWith("/") ? xdg : join(env.HOME || homedir(), ".config");
  return join(base, "synapse-p2p");
}

const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

/**
 * Check a context name: letters, digits, `_`, `.` and `-`, at most 64, not starting with `.` or
 * `-` (it is a file name).
 *
 * @throws {ConfigError}
 */
export function checkName(name: string): string {
  if (!NAME.test(name)) throw new ConfigError(`invalid context name ${JSON.stringify(name)}: use letters, digits, _ . - (not first), at most 64`);
  return name;
}

function contextFile(dir: string, name: string): string {
  return join(dir, "context", `${checkName(name)}.json`);
}

function selectionFile(dir: string): string {
  return join(dir, "context.txt");
}

/** Write `text` to `file` whole or not at all (a temporary file renamed over it). */
function writeAtomically(file: string, text: string): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, text, { mode: 0o600 });
  renameSync(temporary, file);
}

/** Read a context's JSON, keeping only well-typed known keys. @throws {ConfigError} when malformed. */
function parseContext(text: string, file: string): SnContext {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${file} is not valid JSON: ${errorMessage(error)}`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new ConfigError(`${file} does not hold a JSON object`);
  const r = raw as Record<string, unknown>;
  const out: SnContext = {};
  const bad = (key: string, want: string) => new ConfigError(`${file}: "${key}" must be ${want}`);
  for (const key of ["description", "swarm", "team", "bind"] as const) {
    if (r[key] === undefined) continue;
    if (typeof r[key] !== "string") throw bad(key, "a string");
    out[key] = r[key];
  }
  if (r.seeds !== undefined) {
    if (!Array.isArray(r.seeds) || !r.seeds.every((s) => typeof s === "string")) throw bad("seeds", "a list of HOST:PORT strings");
    out.seeds = [...r.seeds];
  }
  if (r.port !== undefined) {
    if (!Number.isInteger(r.port) || (r.port as number) < 0 || (r.port as number) > 65535) throw bad("port", "a port number");
    out.port = r.port as number;
  }
  if (r.mdns !== undefined) {
    if (typeof r.mdns !== "boolean") throw bad("mdns", "true or false");
    out.mdns = r.mdns;
  }
  return out;
}

/** The context `name`, or null when there is none of that name. @throws {ConfigError} when malformed. */
export function readContext(name: string, env: Env = process.env): SnContext | null {
  const file = contextFile(configDir(env), name);
  if (!existsSync(file)) return null;
  return parseContext(readFileSync(file, "utf8"), file);
}

/** Save (create or replace) the context `name`; returns its file. */
export function writeContext(name: string, context: SnContext, env: Env = process.env): string {
  const dir = configDir(env);
  const file = contextFile(dir, name);
  mkdirSync(join(dir, "context"), { recursive: true, mode: 0o700 });
  writeAtomically(file, `${JSON.stringify(context, null, 2)}\n`);
  return file;
}

/** Delete the context `name` (and unselect it); false when there was none. */
export function removeContext(name: string, env: Env = process.env): boolean {
  const dir = configDir(env);
  const file = contextFile(dir, name);
  if (!existsSync(file)) return false;
  rmSync(file);
  if (selectedName(env) === name) selectContext(null, env);
  return true;
}

/** Every saved context's name, sorted. */
export function contextNames(env: Env = process.env): string[] {
  const dir = join(configDir(env), "context");
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .map((f) => f.slice(0, -5))
    .filter((n) => NAME.test(n))
    .sort();
}

/** The name saved by `sn context use`, or null. */
export function selectedName(env: Env = process.env): string | null {
  const file = selectionFile(configDir(env));
  if (!existsSync(file)) return null;
  const name = readFileSync(file, "utf8").trim();
  return name === "" ? null : name;
}

/** Select `name` for later commands (null: none). */
export function selectContext(name: string | null, env: Env = process.env): void {
  const dir = configDir(env);
  if (name === null) {
    rmSync(selectionFile(dir), { force: true });
    return;
  }
  checkName(name);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeAtomically(selectionFile(dir), `${name}\n`);
}

/**
 * The context in effect: `SN_CONTEXT` when set (empty: none), else the selected one; null when
 * there is none.
 *
 * @throws {ConfigError} when the named context does not exist or is malformed.
 */
export function activeContext(env: Env = process.env): NamedContext | null {
  const fromEnv = env.SN_CONTEXT;
  const name = fromEnv !== undefined ? fromEnv.trim() : selectedName(env);
  if (!name) return null;
  const context = readContext(name, env);
  if (!context) {
    const where = fromEnv !== undefined ? "SN_CONTEXT" : `selected in ${selectionFile(configDir(env))}`;
    throw new ConfigError(`context ${JSON.stringify(name)} (${where}) does not exist: see \`sn context ls\``);
  }
  return { name, context };
}

/** A context's values as the `SN_*` variables they stand in for. */
export function contextVariables(context: SnContext): Env {
  const out: Env = {};
  if (context.swarm !== undefined) out.SN_SWARM = context.swarm;
  if (context.seeds !== undefined) out.SN_SEEDS = context.seeds.join(",");
  if (context.team !== undefined) out.SN_TEAM = context.team;
  if (context.bind !== undefined) out.SN_BIND = context.bind;
  if (context.port !== undefined) out.SN_PORT = String(context.port);
  if (context.mdns !== undefined) out.SN_MDNS = context.mdns ? "1" : "0";
  return out;
}

/**
 * The environment the swarm commands read: `env` over the active context's values, so that a set
 * `SN_*` variable (even empty) wins over the context and the context over the built-in defaults.
 *
 * @throws {ConfigError} when the active context does not exist or is malformed.
 */
export function cliEnvironment(env: Env = process.env): Env {
  const active = activeContext(env);
  if (!active) return env;
  const merged: Env = { ...contextVariables(active.context) };
  for (const [key, value] of Object.entries(env)) if (value !== undefined) merged[key] = value;
  return merged;
}
