/**
 * A dashboard in the test's process, as `sn dashboard` builds one: an observer node joined to the
 * swarm through a seed, the model, and the web server on 127.0.0.1 (port 0). `restart()` serves
 * again on the same port, as a restarted `sn dashboard --listen` would.
 */
import { DashboardModel } from "../../src/dashboard/model.ts";
import { Observer } from "../../src/dashboard/observer.ts";
import { DashboardServer } from "../../src/dashboard/server.ts";
import type { Node } from "../../src/index.ts";
import { startNode } from "../helpers/net.ts";

export interface RunningDashboard {
  node: Node;
  model: DashboardModel;
  observer: Observer;
  server: DashboardServer;
  url: string;
  /** Serve again on the same port (after `server.stop()`). */
  restart(): DashboardServer;
  stop(): Promise<void>;
}

/** Start an observer node joined through `seed`, and the dashboard on it. */
export async function startDashboard(swarm: string, seed: Node, options: { heartbeat?: number; peerTimeout?: number } = {}): Promise<RunningDashboard> {
  const heartbeat = options.heartbeat ?? 0.3;
  const model = new DashboardModel({ heartbeat });
  const node = await startNode({ name: "dashboard", role: "observer", swarm, mdns: false, heartbeatInterval: heartbeat, peerTimeout: options.peerTimeout ?? 1.5, seeds: [`127.0.0.1:${seed.port}`] });
  const observer = new Observer(node, model, { timeout: 2, metricsInterval: 1 }).attach();
  await node.join();
  const self = { id: node.id, name: node.name, swarm: node.swarm, team: node.team, address: node.address, port: node.port };
  const serve = (port: number) => new DashboardServer({ model, observer, self, hostname: "127.0.0.1", port, flushInterval: 0.05 }).start();
  const running: RunningDashboard = {
    node,
    model,
    observer,
    server: serve(0),
    url: "",
    restart() {
      running.server = serve(Number(new URL(running.url).port));
      return running.server;
    },
    async stop() {
      observer.detach();
      await running.server.stop();
      await node.stop();
    },
  };
  running.url = running.server.url;
  return running;
}
