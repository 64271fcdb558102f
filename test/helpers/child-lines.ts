/**
 * The stdout protocol of the scripts tests run as subprocesses (inside network namespaces): one
 * JSON object per line; an uncaught error or rejection prints a `fatal` line and exits 3; log
 * lines of `warn` and above print as `{event: level, scope, message}`.
 */
import { enableLogging } from "../../src/log.ts";

/** Print one JSON line. */
export function out(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

process.on("uncaughtException", (error) => {
  out({ event: "fatal", message: String(error?.stack ?? error) });
  process.exit(3);
});
process.on("unhandledRejection", (error) => {
  out({ event: "fatal", message: String((error as Error)?.stack ?? error) });
  process.exit(3);
});

enableLogging("warn", (level, scope, message) => out({ event: level, scope, message }));
