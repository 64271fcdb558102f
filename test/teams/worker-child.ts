/**
 * The child of `wait-stall.test.ts`: a node on 127.0.0.1 in swarm "teams" (its own process, so
 * that it works while the team's event loop is blocked) with a Worker whose handler reports
 * progress 100 ms after its grant and returns `done: <title>` 50 ms later. Joins the seed given as argv[2]; prints `{"event":"ready"}` once
 * joined; stops on SIGTERM.
 */
import { Node, Worker } from "../../src/index.ts";

const node = new Node({ name: "hand", swarm: "teams", bind: "127.0.0.1", port: 0, mdns: false, heartbeatInterval: null });
new Worker(node).task(async (assignment) => {
  await Bun.sleep(100);
  await assignment.progress("started");
  await Bun.sleep(50);
  return `done: ${assignment.title}`;
});
await node.join({ seeds: [process.argv[2]!] });
process.stdout.write(`${JSON.stringify({ event: "ready", id: node.id })}\n`);
process.on("SIGTERM", () => void node.stop().then(() => process.exit(0)));
