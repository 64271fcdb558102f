/**
 * Network namespaces for tests that need multicast or a link to cut (mDNS): every namespace is
 * created by the test, named `syn<pid>-<n>` so parallel runs never collide, and deleted afterwards
 * (also on failure: call {@link cleanupNamespaces} from afterEach/afterAll; an exit hook catches the
 * rest). The machine's own interfaces are never touched: everything happens inside the namespaces.
 *
 * Needs root and iproute2. {@link netnsUnavailable} says why not, for a clear skip message.
 *
 * @module
 */
import { spawnSync } from "node:child_process";

const created = new Set<string>();
const children = new Set<Bun.Subprocess>();
let counter = 0;

/** Why namespaces cannot be used here (not root, no `ip`, creation refused), or null when they can. */
export function netnsUnavailable(): string | null {
  if (process.platform !== "linux") return "network namespaces need Linux";
  if (typeof process.getuid === "function" && process.getuid() !== 0) return "network namespaces need root (run the suite as root, as CI does)";
  const which = spawnSync("ip", ["-V"], { encoding: "utf8" });
  if (which.error || which.status !== 0) return "the `ip` command (iproute2) is missing";
  const name = `syn${process.pid}-probe`;
  const add = spawnSync("ip", ["netns", "add", name], { encoding: "utf8" });
  if (add.status !== 0) return `\`ip netns add\` failed: ${(add.stderr || "").trim() || `exit ${add.status}`}`;
  spawnSync("ip", ["netns", "del", name]);
  return null;
}

/** Run `ip ...args`; throws with stderr on failure unless `allowFailure`. */
export function ip(args: string[], allowFailure = false): string {
  const out = spawnSync("ip", args, { encoding: "utf8" });
  if (out.status !== 0 && !allowFailure) throw new Error(`ip ${args.join(" ")} failed: ${(out.stderr || "").trim()}`);
  return out.stdout ?? "";
}

/** One namespace created for a test. */
export class Netns {
  private constructor(readonly name: string) {}

  /**
   * Create a namespace. `loopback` brings `lo` up with multicast on and routes 224.0.0.0/4 to it,
   * so processes inside can use mDNS among themselves.
   */
  static create(options: { loopback?: "down" | "up" | "multicast" } = {}): Netns {
    const name = `syn${process.pid}-${++counter}`;
    ip(["netns", "add", name]);
    created.add(name);
    const ns = new Netns(name);
    const lo = options.loopback ?? "multicast";
    if (lo !== "down") ns.ip(["link", "set", "lo", "up"]);
    if (lo === "multicast") {
      ns.ip(["link", "set", "lo", "multicast", "on"]);
      ns.ip(["route", "add", "224.0.0.0/4", "dev", "lo"]);
    }
    return ns;
  }

  /** `ip -n <name> ...args`. */
  ip(args: string[], allowFailure = false): string {
    return ip(["-n", this.name, ...args], allowFailure);
  }

  /**
   * Start `bun <script> ...args` inside the namespace, stdout piped (line protocol of the caller's
   * choosing). Killed by {@link cleanupNamespaces}.
   */
  spawnBun(script: string, args: string[], env: Record<string, string> = {}): Bun.Subprocess<"pipe", "pipe", "pipe"> {
    const child = Bun.spawn(["ip", "netns", "exec", this.name, process.execPath, script, ...args], {
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, ...env },
    });
    children.add(child);
    void child.exited.then(() => children.delete(child));
    return child;
  }

  /** Delete the namespace (its veth ends go with it). */
  delete(): void {
    if (!created.has(this.name)) return;
    ip(["netns", "del", this.name], true);
    created.delete(this.name);
  }
}

/**
 * Join two namespaces with a veth pair: `a` gets `<addressA>/24` on `ifA`, `b` gets `<addressB>/24`
 * on `ifB`, both up with multicast and a 224.0.0.0/4 route. Addresses come from 192.0.2.0/24
 * (TEST-NET-1), which only exists inside these namespaces.
 */
export function linkPair(a: Netns, b: Netns, ifA: string, ifB: string, addressA: string, addressB: string): void {
  ip(["link", "add", ifA, "netns", a.name, "type", "veth", "peer", "name", ifB, "netns", b.name]);
  for (const [ns, iface, address] of [
    [a, ifA, addressA],
    [b, ifB, addressB],
  ] as const) {
    ns.ip(["addr", "add", `${address}/24`, "dev", iface]);
    ns.ip(["link", "set", iface, "multicast", "on"]);
    ns.ip(["link", "set", iface, "up"]);
    ns.ip(["route", "replace", "224.0.0.0/4", "dev", iface]);
  }
}

/** Kill every child started in a namespace, then delete every namespace still there. */
export async function cleanupNamespaces(): Promise<void> {
  const kids = [...children];
  for (const child of kids) if (child.exitCode === null) child.kill("SIGKILL");
  await Promise.all(kids.map((c) => c.exited.catch(() => undefined)));
  children.clear();
  for (const name of [...created]) {
    ip(["netns", "del", name], true);
    created.delete(name);
  }
}

process.on("exit", () => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  for (const name of created) spawnSync("ip", ["netns", "del", name]);
});

/**
 * Read a child's stdout as JSON lines; `next(predicate)` waits for a matching line (already
 * received lines included).
 */
export class JsonLines {
  readonly lines: Array<Record<string, unknown>> = [];
  readonly errors: string[] = [];
  private waiters: Array<() => void> = [];

  constructor(stream: ReadableStream<Uint8Array>) {
    void this.read(stream);
  }

  private async read(stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for await (const chunk of stream) {
        buffer += decoder.decode(chunk, { stream: true });
        let at: number;
        while ((at = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, at).trim();
          buffer = buffer.slice(at + 1);
          if (!line) continue;
          try {
            this.lines.push(JSON.parse(line) as Record<string, unknown>);
          } catch {
            this.errors.push(line);
          }
          for (const wake of this.waiters.splice(0)) wake();
        }
      }
    } catch {
      // the child was killed
    }
  }

  /** Lines matching `predicate`. */
  filter(predicate: (line: Record<string, unknown>) => boolean): Array<Record<string, unknown>> {
    return this.lines.filter(predicate);
  }

  /** Wait (up to `ms`) for a line matching `predicate`, searching from index `from`. */
  async next(predicate: (line: Record<string, unknown>) => boolean, ms: number, what: string, from = 0): Promise<Record<string, unknown>> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.lines.slice(from).find(predicate);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${ms} ms waiting for ${what}; got ${JSON.stringify(this.lines)} ${this.errors.join("\n")}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}
