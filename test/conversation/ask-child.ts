/**
 * The child of `ask-stall.test.ts`: a node on 127.0.0.1 (its own process, so that it answers while
 * the asker's event loop is blocked) whose ask handler answers `done: <task>` after 50 ms. Joins
 * the seed given as argv[2]; prints `{"event":"ready","id":...}` once joined; stops on SIGTERM.
 */
import { Node } from "../../src/node.ts";

const node = new Node({ name: "helper", swarm: "lab", bind: "127.0.0.1", port: 0, mdns: false, heartbeatInterval: null });
node.ask(async (task) => {
  await Bun.sleep(50);
  return `done: ${task}`;
});
await node.join({ seeds: [process.argv[2]!] });
process.stdout.write(`${JSON.stringify({ event: "ready", id: node.id })}\n`);
process.on("SIGTERM", () => void node.stop().then(() => process.exit(0)));
