/**
 * Test helpers for the `sn` command line: run it as a subprocess (`bun src/cli/main.ts ...` from
 * the repository root), either to completion or streaming its stdout line by line, and kill what
 * is left in afterEach ({@link killAll}).
 *
 * @module
 */
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The repository root (the subprocess's working directory). */
export const ROOT = join(import.meta.dir, "..", "..");

const running = new Set<Bun.Subprocess>();

/**
 * Where `sn` looks for saved contexts in tests: a directory that does not exist, so that a context
 * selected on the machine running the tests never leaks into them (test/cli/context.test.ts sets its own).
 */
const NO_CONFIG = join(tmpdir(), `sn-tests-no-config-${process.pid}`);

/** `SN_*` variables of the test run's own environment are left out: each test sets its own. */
function baseEnv(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: "1", SYNAPSE_DEBUG: "", FORCE_COLOR: "", XDG_CONFIG_HOME: NO_CONFIG };
  for (const key of Object.keys(env)) if (key.startsWith("SN_")) delete env[key];
  return env;
}

function spawn(args: string[], env: Record<string, string> = {}): Bun.Subprocess<"ignore", "pipe", "pipe"> {
  const proc = Bun.spawn([process.execPath, "src/cli/main.ts", ...args], {
    cwd: ROOT,
    env: { ...baseEnv(), ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  running.add(proc);
  void proc.exited.then(() => running.delete(proc));
  return proc;
}

/** What a finished `sn` run printed. */
export interface SnResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `sn args...` to completion (killed after `timeoutMs`, which fails the test), with extra `env`. */
export async function sn(args: string[], timeoutMs = 15_000, env: Record<string, string> = {}): Promise<SnResult> {
  const proc = spawn(args, env);
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  if (proc.signalCode === "SIGKILL") throw new Error(`sn ${args.join(" ")} did not finish within ${timeoutMs} ms; stdout: ${stdout}; stderr: ${stderr}`);
  return { code, stdout, stderr };
}

/** Parse every non-empty line as JSON. */
export function jsonLines(text: string): Array<Record<string, unknown>> {
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** A running `sn` whose stdout is read line by line as it arrives. */
export class SnStream {
  /** Every complete stdout line so far. */
  readonly lines: string[] = [];
  private stderrText: Promise<string>;
  private pump: Promise<void>;
  private waiters: Array<() => void> = [];

  private constructor(readonly proc: Bun.Subprocess<"ignore", "pipe", "pipe">) {
    this.stderrText = new Response(proc.stderr).text();
    this.pump = this.read();
  }

  /** Start `sn args...`. */
  static start(args: string[], env: Record<string, string> = {}): SnStream {
    return new SnStream(spawn(args, env));
  }

  private async read(): Promise<void> {
    const decoder = new TextDecoder();
    let partial = "";
    for await (const chunk of this.proc.stdout) {
      partial += decoder.decode(chunk, { stream: true });
      const parts = partial.split("\n");
      partial = parts.pop()!;
      this.lines.push(...parts);
      this.wake();
    }
    if (partial !== "") this.lines.push(partial);
    this.wake();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** The lines parsed as JSON (for `--json` runs). */
  get records(): Array<Record<string, unknown>> {
    return jsonLines(this.lines.join("\n"));
  }

  /** Wait until `check(lines)` holds; fails with what was printed after `ms`. */
  async until(check: (lines: string[]) => boolean, ms: number, what: string): Promise<void> {
    const deadline = Date.now() + ms;
    while (!check(this.lines)) {
      const left = deadline - Date.now();
      if (left <= 0 || this.proc.exitCode !== null) {
        await Bun.sleep(20); // let the last output arrive
        if (check(this.lines)) return;
        throw new Error(`sn: ${what} not seen within ${ms} ms (exit ${this.proc.exitCode}); stdout:\n${this.lines.join("\n")}\nstderr:\n${await this.stderrIfDone()}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Wait until a JSON line satisfies `match`; returns it. */
  async record(match: (r: Record<string, unknown>) => boolean, ms: number, what: string): Promise<Record<string, unknown>> {
    let found: Record<string, unknown> | undefined;
    await this.until(
      (lines) => {
        for (const line of lines) {
          if (!line.startsWith("{")) continue;
          const r = JSON.parse(line) as Record<string, unknown>;
          if (match(r)) {
            found = r;
            return true;
          }
        }
        return false;
      },
      ms,
      what,
    );
    return found!;
  }

  private async stderrIfDone(): Promise<string> {
    if (this.proc.exitCode === null) return "(still running)";
    return this.stderrText;
  }

  /** Wait for the exit (killed after `ms`, which fails the test); returns code and stderr. */
  async exit(ms: number): Promise<{ code: number; stderr: string }> {
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), ms);
    const code = await this.proc.exited;
    clearTimeout(timer);
    await this.pump;
    if (this.proc.signalCode === "SIGKILL") throw new Error(`sn did not exit within ${ms} ms; stdout:\n${this.lines.join("\n")}`);
    return { code, stderr: await this.stderrText };
  }

  /** Send a signal (SIGINT, SIGTERM). */
  signal(signal: "SIGINT" | "SIGTERM"): void {
    this.proc.kill(signal);
  }
}

/** Kill every `sn` still running (call from afterEach). */
export async function killAll(): Promise<void> {
  const all = [...running];
  running.clear();
  for (const proc of all) if (proc.exitCode === null) proc.kill("SIGKILL");
  await Promise.all(all.map((p) => p.exited));
}

export { freePort } from "../helpers/net.ts";
