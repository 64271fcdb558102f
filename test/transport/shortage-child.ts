/**
 * The child of `connect-failure.test.ts`: it connects through the default transport to a closed
 * port, then, given an address as argv[2] (one its host may have no route to), twice to it (port
 * 9) and no more; else it runs itself out of descriptors (it is run under a low `ulimit -n` for
 * that), connects twice to a port that listens, then frees some and connects once more. Prints
 * one JSON line: each connect's outcome (`ok`, or the error's `code` and `message`).
 */
import { closeSync, openSync } from "node:fs";
import { bunTransport } from "../../src/transport/bun-transport.ts";
import type { SocketHandler } from "../../src/transport/socket.ts";

const quiet: SocketHandler = { handleData() {}, handleDrain() {}, handleEnd() {}, handleClose() {}, handleError() {} };

async function connect(port: number, hostname = "127.0.0.1"): Promise<{ ok: true } | { ok: false; code: unknown; message: string }> {
  let opened: { end(): void } | null = null;
  try {
    await bunTransport.connect({ hostname, port }, (socket) => {
      opened = socket;
      return quiet;
    });
    (opened as { end(): void } | null)?.end();
    return { ok: true };
  } catch (error) {
    return { ok: false, code: (error as { code?: unknown }).code, message: (error as Error).message };
  }
}

const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
// A port nothing listens at: one that was free a moment ago.
const closed = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
const closedPort = closed.port;
closed.stop(true);

const refused = await connect(closedPort);
const unroutedHost = process.argv[2];
if (unroutedHost !== undefined) {
  const unrouted = [await connect(9, unroutedHost), await connect(9, unroutedHost)];
  server.stop(true);
  console.log(JSON.stringify({ refused, unrouted }));
  process.exit(0);
}
const held: number[] = [];
try {
  for (let i = 0; i < 100_000; i++) held.push(openSync("/dev/null", "r"));
} catch {
  // out of descriptors now
}
const short = [await connect(server.port), await connect(server.port)];
for (const fd of held.splice(0, 16)) closeSync(fd);
const after = await connect(server.port);
for (const fd of held) closeSync(fd);
server.stop(true);
console.log(JSON.stringify({ refused, short, after }));
process.exit(0);
