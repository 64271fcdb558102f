/**
 * The argument parser of `sn`: the command table of `spec.ts` in, typed values out. Written for
 * `sn` rather than taken from a library because the command line must refuse what it does not
 * know (an unknown flag or command, with a "did you mean"), keep negative numbers as values, take
 * a flag any number of times, and load nothing heavy before `--help` is printed.
 *
 * Accepted forms: `--flag value`, `--flag=value`, `-f value`, `-f=value`, `--bool`, `--no-bool`
 * (for negatable booleans), `--` (everything after it is positional). A word that starts with `-`
 * followed by a digit (`-1`, `-2.5`) is a value, never a flag.
 *
 * @module
 */
import type { CommandSpec, FlagSpec, Parsed } from "./command.ts";
import { UsageError } from "../errors.ts";

export { UsageError } from "../errors.ts";
export type { Parsed } from "./command.ts";

/** Levenshtein distance (small inputs: command and flag names). */
export function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/** The closest of `candidates` to `word`, when it is close enough to be a typo; else null. */
export function closest(word: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const d = distance(word, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  // A swap or two of letters in a short word, a bit more in a long one; and a prefix counts.
  const limit = Math.max(2, Math.floor(word.length / 3));
  if (best !== null && bestDistance <= limit) return best;
  const prefixed = candidates.filter((c) => c.startsWith(word));
  return prefixed.length === 1 ? prefixed[0]! : null;
}

/** ` (did you mean X?)` or nothing. */
export function didYouMean(suggestion: string | null): string {
  return suggestion === null ? "" : `; did you mean ${suggestion}?`;
}

/** A word that is a value even though it starts with `-`: a negative number. */
function isNegativeNumber(word: string): boolean {
  return /^-(\d|\.\d)/.test(word);
}

/**
 * Parse the words after the command name against `spec`.
 *
 * @throws {UsageError} for an unknown flag (with a suggestion), a flag without its value, a value
 *   given to a boolean flag.
 */
export function parseCommandLine(spec: CommandSpec, argv: readonly string[]): Parsed {
  const flags: Parsed["flags"] = {};
  const positionals: string[] = [];
  let help = false;
  const byLong = new Map<string, FlagSpec>(spec.flags.map((f) => [f.name, f]));
  const byShort = new Map<string, FlagSpec>(spec.flags.filter((f) => f.short).map((f) => [f.short!, f]));
  const known = [...spec.flags.flatMap((f) => (f.type === "boolean" && f.negatable ? [`--${f.name}`, `--no-${f.name}`] : [`--${f.name}`])), "--help"];

  const set = (flag: FlagSpec, value: string | boolean) => {
    if (flag.repeat) ((flags[flag.name] ??= []) as string[]).push(String(value));
    else flags[flag.name] = value;
  };

  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (word === "--help" || word === "-h") {
      help = true;
      continue;
    }
    if (!word.startsWith("-") || word === "-" || isNegativeNumber(word)) {
      positionals.push(word);
      continue;
    }
    const eq = word.indexOf("=");
    const name = eq === -1 ? word : word.slice(0, eq);
    const inline = eq === -1 ? undefined : word.slice(eq + 1);
    let flag: FlagSpec | undefined;
    let negated = false;
    if (name.startsWith("--")) {
      flag = byLong.get(name.slice(2));
      if (!flag && name.startsWith("--no-")) {
        const positive = byLong.get(name.slice(5));
        if (positive?.type === "boolean" && positive.negatable) [flag, negated] = [positive, true];
      }
    } else if (name.length === 2) {
      flag = byShort.get(name.slice(1));
    }
    if (!flag) {
      throw new UsageError(`unknown option ${name} for \`sn ${spec.name}\`${didYouMean(closest(name, known))}`, spec.name);
    }
    if (flag.type === "boolean") {
      if (inline !== undefined) {
        if (!/^(true|false|1|0|yes|no)$/i.test(inline)) throw new UsageError(`${name} takes no value (got ${JSON.stringify(inline)})`, spec.name);
        set(flag, /^(true|1|yes)$/i.test(inline) !== negated);
      } else {
        set(flag, !negated);
      }
      continue;
    }
    const value = inline ?? argv[i + 1];
    if (value === undefined || (inline === undefined && value.startsWith("--") && value !== "--")) {
      throw new UsageError(`${name} needs a value${flag.hint ? ` (${flag.hint})` : ""}`, spec.name);
    }
    if (inline === undefined) i++;
    set(flag, value);
  }
  return { command: spec.name, flags, positionals, help };
}

/** A string flag's value (the last one given), or undefined. */
export function stringFlag(parsed: Parsed, name: string): string | undefined {
  const value = parsed.flags[name];
  if (Array.isArray(value)) return value.at(-1);
  return typeof value === "string" ? value : undefined;
}

/** A boolean flag's value, else `fallback`. */
export function booleanFlag(parsed: Parsed, name: string, fallback = false): boolean {
  const value = parsed.flags[name];
  return typeof value === "boolean" ? value : fallback;
}

/** Every value of a repeatable flag (empty when not given). */
export function listFlag(parsed: Parsed, name: string): string[] {
  const value = parsed.flags[name];
  return Array.isArray(value) ? value : typeof value === "string" ? [value] : [];
}
