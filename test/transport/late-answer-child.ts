/**
 * The child of `own-stall.test.ts`: a node on 127.0.0.1 (its own process, so that it answers while
 * the test's event loop is blocked) with `echo(x)` and `later(x, ms)`, which answers `x` after `ms`
 * milliseconds. Prints `{"port": N}` once it listens; stops on SIGTERM.
 */
import { Node } from "../../src/node.ts";

const node = new Node({ name: "late", bind: "127.0.0.1", port: 0, mdns: false });
node.endpoint("echo", (x: unknown) => x);
node.endpoint("later", async (x: unknown, ms: number) => {
  await Bun.sleep(ms);
  return x;
});
await node.start();
process.stdout.write(`${JSON.stringify({ port: node.port })}\n`);
process.on("SIGTERM", () => void node.stop().then(() => process.exit(0)));
