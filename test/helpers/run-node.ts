/**
 * A node run as its own process by the lifecycle and logging tests: `node.run()` on 127.0.0.1,
 * port 0, with one published and one hidden endpoint. With `--probe` it instead starts, makes a
 * few calls that log (a failing endpoint, an unknown one), stops and exits.
 *
 * @module
 */
import { Node } from "../../src/node.ts";
import { Client } from "../../src/rpc/client.ts";

const node = new Node({ name: "runner", bind: "127.0.0.1", advertise: "127.0.0.1", port: 0 });
node.endpoint("sum", { description: "Add two numbers" }, (a: number, b: number) => a + b);
node.endpoint("hidden", { publish: false }, () => "secret");
node.endpoint("boom", () => {
  throw new Error("probe failure");
});

if (process.argv.includes("--probe")) {
  await node.start();
  const client = new Client("127.0.0.1", node.port, { timeout: 5 });
  await client.call("boom").catch(() => {});
  await client.call("nope").catch(() => {});
  client.close();
  await node.stop();
  console.log("probe done");
} else {
  await node.run();
  console.log("run() returned");
}
