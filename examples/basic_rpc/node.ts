/**
 * A calculator node: listens on port 9999 (or $PORT) and serves one endpoint, `sum`.
 *
 * Run it with `bun examples/basic_rpc/node.ts`, then call it from another terminal with
 * `bun examples/basic_rpc/client.ts`. Ctrl-C stops it cleanly.
 */
import { Node } from "../../src/index.ts";

// A node needs no swarm to serve calls: a name and a port are enough.
const node = new Node({ name: "calculator", port: Number(process.env.PORT ?? 9999) });

// Positional arguments arrive as the handler's parameters. Python peers may send keyword
// arguments instead (`client.call("sum", a=1, b=2)`): they bind to `a` and `b` by name.
node.endpoint("sum", { description: "Add two numbers" }, (a: number, b: number) => a + b);

// Prints the listening address and the endpoints, then serves until SIGINT or SIGTERM.
await node.run();
