/**
 * Package-wide logging. Silent by default, like the Python original; switch it on with
 * {@link enableLogging} or the environment variable `SYNAPSE_DEBUG=1` (or `DEBUG=synapse*`).
 *
 * @module
 */

/** Log severity, lowest first. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Where log lines go; replace it to route logs into your own logger. */
export type LogSink = (level: LogLevel, scope: string, message: string, extra?: unknown) => void;

const defaultSink: LogSink = (level, scope, message, extra) => {
  const line = `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} synapse:${scope} ${message}`;
  if (extra === undefined) console.error(line);
  else console.error(line, extra);
};

function envLevel(): LogLevel | null {
  const env = typeof process !== "undefined" ? process.env : {};
  const flag = env.SYNAPSE_DEBUG ?? "";
  if (flag === "1" || flag === "true" || flag === "debug") return "debug";
  if (flag in ORDER) return flag as LogLevel;
  const debug = env.DEBUG ?? "";
  if (debug.split(/[\s,]+/).some((d) => d === "*" || d.startsWith("synapse"))) return "debug";
  return null;
}

let threshold: number = (() => {
  const level = envLevel();
  return level ? ORDER[level] : Number.POSITIVE_INFINITY;
})();
let sink: LogSink = defaultSink;

/**
 * Switch on logging for the whole package (the counterpart of Python's
 * `logger.enable("synapse_p2p")`).
 *
 * @param level lowest level printed, `"debug"` by default.
 * @param to optional sink; by default lines go to stderr.
 */
export function enableLogging(level: LogLevel = "debug", to?: LogSink): void {
  threshold = ORDER[level];
  if (to) sink = to;
}

/** Silence the package again (the default). */
export function disableLogging(): void {
  threshold = Number.POSITIVE_INFINITY;
  sink = defaultSink;
}

/** True when messages of `level` are printed; use it to skip building costly messages. */
export function logEnabled(level: LogLevel): boolean {
  return ORDER[level] >= threshold;
}

/** A logger bound to one scope (`transport`, `schedule`, ...). */
export interface Logger {
  debug(message: string, extra?: unknown): void;
  info(message: string, extra?: unknown): void;
  warn(message: string, extra?: unknown): void;
  error(message: string, extra?: unknown): void;
}

/** Create a logger for one part of the package. */
export function createLogger(scope: string): Logger {
  const emit = (level: LogLevel) => (message: string, extra?: unknown) => {
    if (ORDER[level] >= threshold) sink(level, scope, message, extra);
  };
  return { debug: emit("debug"), info: emit("info"), warn: emit("warn"), error: emit("error") };
}
