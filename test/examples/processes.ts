/**
 * Running a node of a multi-process example on its own, for the examples' tests: start it, wait
 * for a line, send it a signal, collect everything it printed.
 */
import { join } from "node:path";
import { ROOT, quietEnv } from "../helpers/examples.ts";

/** A running example process. */
export class ExampleProcess {
  readonly child: Bun.Subprocess<"ignore", "pipe", "pipe">;
  out = "";
  err = "";
  private readonly reading: Promise<void>;

  /**
   * Start `bun file args`; with `group`, as the leader of a process group of its own (`setsid`),
   * so that {@link interruptGroup} can send Ctrl+C to it and its children at once, as a terminal does.
   */
  constructor(file: string, args: string[] = [], env: Record<string, string> = {}, group = false) {
    this.child = Bun.spawn([...(group ? ["setsid"] : []), process.execPath, join(ROOT, file), ...args], { cwd: ROOT, env: quietEnv(env), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    this.reading = Promise.all([
      this.collect(this.child.stdout, (text) => (this.out += text)),
      this.collect(this.child.stderr, (text) => (this.err += text)),
    ]).then(() => undefined);
  }

  private async collect(stream: ReadableStream<Uint8Array>, add: (text: string) => void): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of stream) add(decoder.decode(chunk, { stream: true }));
  }

  /** Wait (at most `seconds`) until stdout matches `pattern`; returns the match. */
  async waitFor(pattern: RegExp, seconds: number): Promise<RegExpMatchArray> {
    const deadline = Date.now() + seconds * 1000;
    for (;;) {
      const match = this.out.match(pattern);
      if (match) return match;
      if (Date.now() > deadline || this.child.exitCode !== null) throw new Error(`no ${pattern} in ${seconds} s; out:\n${this.out}\nerr:\n${this.err}`);
      await Bun.sleep(20);
    }
  }

  /** Send `signal` and wait (at most `seconds`, then SIGKILL) for the exit status. */
  async stop(signal: NodeJS.Signals = "SIGINT", seconds = 10): Promise<number> {
    this.child.kill(signal);
    return this.exit(seconds);
  }

  /** Ctrl+C as a terminal sends it: SIGINT to every process of the group (see the constructor). */
  async interruptGroup(seconds = 10): Promise<number> {
    process.kill(-this.child.pid, "SIGINT");
    return this.exit(seconds);
  }

  /** Wait (at most `seconds`, then SIGKILL) for the exit status and the end of the output. */
  async exit(seconds: number): Promise<number> {
    const killer = setTimeout(() => this.child.kill("SIGKILL"), seconds * 1000);
    const code = await this.child.exited;
    clearTimeout(killer);
    await this.reading;
    return code;
  }
}

/**
 * The kinds of a conversation as an example printed them (`the conversation: message, ack ×2,
 * reply ×2`): the first kind, then the others sorted, since ACKs and replies of different agents
 * may interleave.
 */
export function conversationKinds(out: string): { first: string; rest: string[] } {
  const text = out.match(/the conversation: (.*)\n/)?.[1] ?? "";
  const kinds = text.split(", ").flatMap((run) => {
    const [kind, times] = run.split(" ×");
    return Array<string>(Number(times ?? 1)).fill(kind!);
  });
  return { first: kinds[0] ?? "", rest: kinds.slice(1).sort() };
}
