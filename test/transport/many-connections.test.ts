import { afterEach, expect, test } from "bun:test";
import { RawSocket, eventually, startNode, stopAll } from "../helpers/net.ts";

afterEach(stopAll);

const CONNECTIONS = 1000;
// Client and server ends both live in this process, plus Bun's own descriptors.
const NEEDED_FDS = 2 * CONNECTIONS + 100;

function openFileLimit(): number {
  const out = Bun.spawnSync(["sh", "-c", "ulimit -n"]).stdout.toString().trim();
  return out === "unlimited" ? Infinity : Number(out);
}

const limit = openFileLimit();
if (limit < NEEDED_FDS) {
  console.warn(`many-connections: skipped, 'ulimit -n' is ${limit}, this test needs ${NEEDED_FDS} (CI raises it)`);
}

test.skipIf(limit < NEEDED_FDS)(
  `many connections - ${CONNECTIONS} concurrent connections to one node, one call each, all answered`,
  async () => {
    const node = await startNode();
    node.endpoint("double", async (x: number) => x * 2);
    const sockets: RawSocket[] = [];
    // Open in batches so the listen backlog is not overrun (a dropped SYN costs a 1 s retry).
    for (let i = 0; i < CONNECTIONS; i += 100) {
      sockets.push(...(await Promise.all(Array.from({ length: 100 }, () => RawSocket.open(node.port)))));
    }
    await eventually(() => node.connectionCount === CONNECTIONS, 10_000, `${CONNECTIONS} server-side connections`);
    await Promise.all(sockets.map((s, i) => s.send({ endpoint: "double", id: `c${i}`, args: [i], kwargs: {}, type: "request" })));
    const answers = await Promise.all(sockets.map((s) => s.nextFrame(20_000)));
    expect(answers).toEqual(sockets.map((_, i) => ({ id: `c${i}`, ok: true, result: i * 2, error: null, type: "response" })));
    for (const s of sockets) s.stop();
    await eventually(() => node.connectionCount === 0, 10_000, "every server-side connection closed");
  },
  60_000,
);
