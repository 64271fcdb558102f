/**
 * `sn dashboard SWARM`: join a swarm as a quiet observer (as `sn watch` does) and serve a live web
 * view of it (src/dashboard/), until Ctrl+C, SIGTERM or `--duration` seconds.
 *
 * It listens on loopback unless `--listen` says otherwise; any other address prints a warning, since
 * the page has no login and shows everything the observer node sees.
 *
 * @module
 */
import { ConfigError } from "../index.ts";
import { DashboardModel } from "../dashboard/model.ts";
import { Observer } from "../dashboard/observer.ts";
import { DashboardServer } from "../dashboard/server.ts";
import { optionalSeconds, seconds } from "./args.ts";
import type { Io } from "./command.ts";
import { Printer } from "./output.ts";
import { booleanFlag, stringFlag, type Parsed } from "./parse.ts";
import { joinSwarm, untilStopped } from "./swarm.ts";
import { isLoopback } from "../util/guards.ts";

/** `--listen HOST:PORT` (or `HOST`, or `:PORT`), port 8080 when left out. */
export function parseListen(text: string | undefined): { hostname: string; port: number } {
  const value = (text ?? "").trim() || "127.0.0.1:8080";
  const m = /^(?:\[([^\]]+)\]|([^:]*))(?::(\d+))?$/.exec(value) ?? /^([0-9a-fA-F:]+)$/.exec(value);
  if (!m) throw new ConfigError(`--listen: expected HOST:PORT, got ${JSON.stringify(value)}`);
  const hostname = (m[1] ?? m[2] ?? "") || "127.0.0.1";
  const port = m[3] === undefined ? 8080 : Number(m[3]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`--listen: invalid port in ${JSON.stringify(value)}`);
  return { hostname, port };
}

/** The warning to print for a listen address, or null on loopback (where only this machine reaches the page). */
export function listenWarning(hostname: string): string | null {
  if (isLoopback(hostname)) return null;
  return `warning: the dashboard listens on ${hostname}, not on loopback: anyone who can reach it sees the swarm (there is no login)`;
}

/** Open `url` in the desktop's browser; a failure only prints a hint. */
function openBrowser(url: string, out: Printer): void {
  const command = process.platform === "darwin" ? "open" : process.platform === "win32" ? "explorer" : "xdg-open";
  try {
    const child = Bun.spawn([command, url], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
    child.exited.then((code) => {
      if (code !== 0) out.warn(`could not open a browser (${command} exited ${code}); open ${url} yourself`);
    });
  } catch {
    out.warn(`could not open a browser (no ${command}); open ${url} yourself`);
  }
}

/** Run `sn dashboard`. */
export async function run(parsed: Parsed, io: Io): Promise<number> {
  const out = new Printer(booleanFlag(parsed, "json"), io.stdout, io.stderr);
  const listen = parseListen(stringFlag(parsed, "listen"));
  const duration = optionalSeconds(stringFlag(parsed, "duration"), "duration");
  const heartbeatInterval = seconds(stringFlag(parsed, "heartbeat"), "heartbeat", 2, 0.01);
  const peerTimeout = seconds(stringFlag(parsed, "peer-timeout"), "peer-timeout", 6, 0.01);
  const model = new DashboardModel({ heartbeat: heartbeatInterval });
  /** Made in `setup`, before the node joins, so that no peer or event is missed. */
  const made: { observer?: Observer } = {};
  const node = await joinSwarm({
    parsed,
    defaults: { name: "dashboard", role: "observer", capabilities: ["watch"] },
    out,
    // Mesh: an observer shows how recently each peer was heard from, so it heartbeats every one.
    node: { heartbeatInterval, peerTimeout, membership: "mesh" },
    setup(n) {
      made.observer = new Observer(n, model).attach();
    },
  });
  const observer = made.observer!;
  let server: DashboardServer | null = null;
  try {
    server = new DashboardServer({
      model,
      observer,
      self: { id: node.id, name: node.name, swarm: node.swarm, team: node.team, address: node.address, port: node.port },
      hostname: listen.hostname,
      port: listen.port,
    }).start();
    const warning = listenWarning(listen.hostname);
    if (warning) out.warn(warning);
    const url = server.url;
    if (out.json) out.record({ event: "dashboard.started", url, node: { id: node.id, name: node.name, address: node.address, port: node.port }, swarm: node.swarm, team: node.team });
    else out.line(`dashboard of swarm ${node.swarm} (team ${node.team ?? "-"}) on ${url} as ${node.name} ${node.id.slice(0, 8)}; ${duration === null ? "Ctrl-C to stop" : `for ${duration}s`}`);
    if (booleanFlag(parsed, "open")) openBrowser(url, out);
    const why = await untilStopped(duration);
    if (out.json) out.record({ event: "dashboard.stopped", reason: why });
    else out.line(`stopped (${why === "duration" ? `after ${duration}s` : why})`);
  } finally {
    observer.detach();
    await server?.stop();
    await node.stop();
  }
  return 0;
}
