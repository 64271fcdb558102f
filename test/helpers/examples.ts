/**
 * Running an example program (or any script of the repository) as a subprocess for a test.
 */
import { join } from "node:path";

/** The repository root. */
export const ROOT = join(import.meta.dir, "..", "..");

/** The test's environment without the package's debug switches, so the child's stderr stays empty. */
export function quietEnv(extra: Record<string, string> = {}): Record<string, string | undefined> {
  const { SYNAPSE_DEBUG: _debug, DEBUG: _debugScopes, ...rest } = process.env;
  return { ...rest, ...extra };
}

/** Run `file` (relative to the repository root) with Bun and `args` until it exits, killed after `limitMs`. */
export async function runScript(file: string, limitMs: number, env: Record<string, string> = {}, args: string[] = []): Promise<{ code: number; out: string; err: string }> {
  const child = Bun.spawn([process.execPath, join(ROOT, file), ...args], { cwd: ROOT, env: quietEnv(env), stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => child.kill("SIGKILL"), limitMs);
  try {
    const [code, out, err] = await Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()]);
    return { code, out, err };
  } finally {
    clearTimeout(timer);
  }
}
