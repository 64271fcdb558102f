/**
 * One member of the soak swarm, as a process of its own: a node of swarm "soak" on 127.0.0.1 with a
 * durable SQLite conversation log and an ask handler, started with
 *
 *   bun bench/soak/member.ts --name m3 --id <64 hex> --db /tmp/m3.db [--port P] [--seed HOST:PORT]
 *                            [--bind ADDRESS] [--events]
 *
 * It prints `ready <port>` once listening (and, with `--events`, a line `<ms> <event> <peer name>`
 * for every peer.joined and peer.offline) and runs until SIGTERM or SIGINT (or `kill -9`, which the
 * fault run uses: everything it acknowledged must still be in its log when it starts again).
 *
 * @module
 */
import { Node, SqliteConversationLog } from "../../src/index.ts";

function flag(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

const name = flag("name") ?? "member";
const db = flag("db");
if (!db) {
  console.error("member: --db PATH is required");
  process.exit(2);
}
const seed = flag("seed");
const node = new Node({
  name,
  id: flag("id"),
  swarm: "soak",
  bind: flag("bind") ?? "127.0.0.1",
  advertise: flag("bind") ?? "127.0.0.1",
  port: Number(flag("port") ?? 0),
  seeds: seed ? [seed] : [],
  heartbeatInterval: 1,
  peerTimeout: 4,
  conversationLog: new SqliteConversationLog(db),
});
node.ask(async (task) => {
  await Bun.sleep(5 + Math.random() * 20); // a little work, so that asks overlap kills
  return `${name} did ${task}`;
});
if (process.argv.includes("--events")) {
  node.on("peer.joined", (p) => console.log(`${Date.now()} peer.joined ${p.name}`));
  node.on("peer.offline", (p) => console.log(`${Date.now()} peer.offline ${p.name}`));
}
await node.start();
console.log(`ready ${node.port}`);

const stop = async () => {
  await node.stop();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
