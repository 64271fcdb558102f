/**
 * The process's file descriptors: their limit, whether they have run out, and what to do then
 * (`connect-failure.ts` asks when Bun calls a connect refused: Bun reports a connect that failed
 * for want of a descriptor so).
 *
 * @module
 */
import { closeSync, openSync, readFileSync } from "node:fs";

/** A shortage of file descriptors: this process's limit (`EMFILE`) or the system's (`ENFILE`). */
export type DescriptorShortage = "EMFILE" | "ENFILE";

/** True for the system codes of a shortage of file descriptors. */
export function isShortage(code: unknown): code is DescriptorShortage {
  return code === "EMFILE" || code === "ENFILE";
}

/** The limit {@link descriptorLimit} read last. */
let lastLimit: number | null = null;

/**
 * The process's soft limit on open file descriptors (Linux: `/proc/self/limits`), or null where it
 * cannot be read or is unlimited; when the file cannot be opened (the process out of descriptors),
 * the limit read last.
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
  }
  return lastLimit;
}

/**
 * `EMFILE` or `ENFILE` when this process cannot open one more file descriptor now, else null
 * (also where the test file is missing: not a POSIX system). One `open` and one `close` of
 * `/dev/null`: the transport asks only after a connect Bun called refused.
 */
export function descriptorShortage(): DescriptorShortage | null {
  let fd: number;
  try {
    fd = openSync("/dev/null", "r");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return isShortage(code) ? code : null;
  }
  closeSync(fd);
  return null;
}

/**
 * What to do about a shortage, in a sentence (a connect error's message and its warning share it),
 * with the limit read last: out of descriptors, the process cannot read it now.
 */
export function shortageAdvice(code: DescriptorShortage): string {
  const limit = code === "EMFILE" ? lastLimit : null;
  const which = code === "EMFILE" ? `this process is out of file descriptors (EMFILE${limit === null ? "" : `, limit ${limit}`})` : "the system is out of file descriptors (ENFILE)";
  return `${which}: raise the limit (\`ulimit -n\`) or lower the node's \`maxConnections\` and its pool's`;
}
