/**
 * The shapes every part of `sn` shares: a command as data ({@link CommandSpec}, its flags and
 * positionals), what the parser hands a command ({@link Parsed}), where a command prints ({@link Io})
 * and the code a command loads ({@link CommandModule}). Types only: the table (`spec.ts`), the parser
 * (`parse.ts`) and the commands all depend on this file, never on each other in a circle.
 *
 * @module
 */

/** What {@link parseCommandLine} returns: flag values by name, and the positional words. */
export interface Parsed {
  /** The command's name. */
  command: string;
  /** Every flag given, by long name: a string, a boolean, or every value of a repeatable flag. */
  flags: Record<string, string | boolean | string[]>;
  /** Positional words, in order (values after `--` included). */
  positionals: string[];
  /** True when `--help`/`-h` was given (anywhere before `--`). */
  help: boolean;
}

/** One flag of a command. */
export interface FlagSpec {
  /** Long name, without the dashes. */
  name: string;
  /** One-letter alias, without the dash. */
  short?: string;
  type: "string" | "boolean";
  /** The flag may be given several times; every value is kept. */
  repeat?: boolean;
  /** A boolean flag that also has a `--no-<name>` form. */
  negatable?: boolean;
  /** Placeholder for the value in the help (`S`, `HOST:PORT`). */
  hint?: string;
  description: string;
  /** The default, as shown in the help. */
  default?: string;
  /** Environment variable that gives the default. */
  env?: string;
  /** Values the shell completion offers. */
  choices?: readonly string[];
}

/** One positional argument of a command. */
export interface PositionalSpec {
  name: string;
  description: string;
  /** False for an optional one. */
  required?: boolean;
  /** Takes every remaining word. */
  variadic?: boolean;
}

/** Where a command prints (replaceable in tests). */
export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
}

/** The code of a command, loaded when it runs. Returns the exit code. */
export interface CommandModule {
  run(parsed: Parsed, io: Io): Promise<number>;
}

/** One command of `sn`. */
export interface CommandSpec {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** More lines for `sn <command> --help`. */
  details?: string[];
  /** Section of `sn --help` it is listed in. */
  group: "swarm" | "node" | "other";
  positionals: PositionalSpec[];
  flags: FlagSpec[];
  examples: string[];
  load(): Promise<CommandModule>;
}
