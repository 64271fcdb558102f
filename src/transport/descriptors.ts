/**
 * The process's file descriptors: their limit, whether they have run out, and the one warning line
 * a minute that says so.
 *
 * Bun reports a connect that failed for want of a descriptor (the socket could not even be made) as
 * refused, `ECONNREFUSED`, the code of a port nothing listens at; and gossip membership takes a
 * refused connect as evidence that a member is gone (`SwimPorts.isRefused`). A process out of
 * descriptors then declared every member it tried to reach dead at once, live ones included. The
 * default transport ({@link bunTransport}) asks {@link descriptorShortage} whenever Bun says
 * refused, and rejects with `EMFILE` or `ENFILE` where the shortage is this process's own.
 *
 * @module
 */
import { closeSync, openSync, readFileSync } from "node:fs";
import { createLogger, logEnabled } from "../log.ts";

const log = createLogger("transport");

/** A shortage of file descriptors: this process's limit (`EMFILE`) or the system's (`ENFILE`). */
export type DescriptorShortage = "EMFILE" | "ENFILE";

/** The limit {@link descriptorLimit} read last. */
let lastLimit: number | null = null;

/**
 * The process's soft limit on open file descriptors (Linux: `/proc/self/limits`), or null where it
 * cannot be read or is unlimited; while the process is out of descriptors (the file cannot be
 * opened then), the limit it read last.
 */
export function descriptorLimit(): number | null {
  try {
    const line = readFileSync("/proc/self/limits", "utf8")
      .split("\n")
      .find((l) => l.startsWith("Max open files"));
    const soft = line?.slice("Max open files".length).trim().split(/\s+/)[0];
    const value = soft === undefined ? Number.NaN : Number(soft);
    lastLimit = Number.isSafeInteger(value) && value > 0 ? value : null;
  } catch {
    // Out of descriptors, the file cannot be opened either: the limit last read stands.
    if (descriptorShortage() === null) lastLimit = null;
  }
  return lastLimit;
}

/**
 * `EMFILE` or `ENFILE` when this process cannot open one more file descriptor now, else null
 * (also where the test file is missing: not a POSIX system). One `open` and one `close` of
 * `/dev/null`: asked only after a connect Bun called refused.
 */
export function descriptorShortage(): DescriptorShortage | null {
  let fd: number;
  try {
    fd = openSync("/dev/null", "r");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === "EMFILE" || code === "ENFILE" ? code : null;
  }
  closeSync(fd);
  return null;
}

/** What to do about a shortage, in a sentence (the connect error's message and the warning share it). */
export function shortageAdvice(code: DescriptorShortage): string {
  const limit = code === "EMFILE" ? descriptorLimit() : null;
  const which = code === "EMFILE" ? `this process is out of file descriptors (EMFILE${limit === null ? "" : `, limit ${limit}`})` : "the system is out of file descriptors (ENFILE)";
  return `${which}: raise the limit (\`ulimit -n\`) or lower the node's \`maxConnections\` and its pool's`;
}

/** Seconds between two warnings of a shortage. */
export const SHORTAGE_WARNING_INTERVAL = 60;

let lastWarning = Number.NEGATIVE_INFINITY;

/**
 * One warning line on stderr (through the package's logging when it is on), at most one a
 * {@link SHORTAGE_WARNING_INTERVAL}: connects fail while the shortage lasts, and the process
 * cannot tell its peers' silence from its own.
 */
export function warnShortage(code: DescriptorShortage, now = performance.now() / 1000): void {
  if (now - lastWarning < SHORTAGE_WARNING_INTERVAL) return;
  lastWarning = now;
  const line = `${shortageAdvice(code)}; connections to peers fail until then`;
  if (logEnabled("warn")) log.warn(line);
  else console.warn(`synapse: warning: ${line}`);
}

/** @internal Forget the last warning (tests). */
export function resetShortageWarning(): void {
  lastWarning = Number.NEGATIVE_INFINITY;
}

/**
 * The error a connect that Bun called refused is rejected with: as Bun gave it, unless this
 * process is out of descriptors; then one with code `EMFILE` or `ENFILE` that says what to do
 * (and Bun's as its cause), and the warning line.
 */
export function connectFailure(error: Error): Error {
  if ((error as NodeJS.ErrnoException).code !== "ECONNREFUSED") return error;
  const shortage = descriptorShortage();
  if (shortage === null) return error;
  warnShortage(shortage);
  return Object.assign(new Error(`${shortageAdvice(shortage)} (${shortage})`, { cause: error }), { code: shortage });
}
