/**
 * The child of `connect-failure.test.ts`'s pool case, run under a low descriptor limit (`ulimit -n`):
 * 21 nodes in this process, a pool that holds an idle connection to 20 of them, then the process
 * runs itself out of descriptors and calls the 21st through the pool. Prints one JSON line: the
 * pool's open connections before, the call's outcome, the connections the pool shed, and the
 * outcome of a call made out of descriptors again within the second after (nothing shed then).
 */
import { closeSync, openSync } from "node:fs";
import { Client, Node, Pool } from "../../src/index.ts";

const nodes: Node[] = [];
for (let i = 0; i < 22; i++) {
  const node = new Node({ bind: "127.0.0.1", name: `n${i}` });
  node.endpoint("x", () => i);
  await node.start();
  nodes.push(node);
}
const pool = new Pool();
const call = (node: Node) => new Client("127.0.0.1", node.port, { pool, timeout: 5 }).call("x");
for (const node of nodes.slice(0, 20)) await call(node);
const openBefore = pool.openConnections;
// Idle for longer than the pool's shedding threshold (1 s).
await Bun.sleep(1200);
const held: number[] = [];
try {
  for (let i = 0; i < 100_000; i++) held.push(openSync("/dev/null", "r"));
} catch {
  // out of descriptors now
}
const outcome = async (node: Node) => {
  try {
    return { ok: true, result: await call(node) };
  } catch (error) {
    let code: unknown;
    for (let e = error as { code?: unknown; cause?: unknown } | undefined, d = 0; e && d < 6; e = e.cause as typeof e, d++) if (typeof e.code === "string" && e.code.startsWith("E")) code ??= e.code;
    return { ok: false, code, message: (error as Error).message };
  }
};
const shedCall = await outcome(nodes[20]!);
const shed = pool.shed;
// Take back every descriptor the shedding freed: a call within the second after it sheds nothing
// more (at most once a second), and fails with EMFILE.
try {
  for (let i = 0; i < 100_000; i++) held.push(openSync("/dev/null", "r"));
} catch {
  // out again
}
const starved = await outcome(nodes[21]!);
for (const fd of held) closeSync(fd);
console.log(JSON.stringify({ openBefore, shedCall, shed, starved }));
pool.closeAll();
await Promise.all(nodes.map((n) => n.stop()));
process.exit(0);
