/**
 * A closed swarm's handshake against this process's own stall: when the initiator's event loop was
 * blocked past its handshake timeout while the responder's message arrived, the handshake
 * completes (the timeout's verdict waits for the reads of its turn: `util/turn.ts`) rather than
 * failing with a `HandshakeError` ("no handshake within 0.05 s"). Both ends run in this process
 * over TCP; the responder blocks the loop right after it writes message 2.
 */
import { expect, test } from "bun:test";
import { secureTransport } from "../../src/security/secure-transport.ts";
import { bunTransport } from "../../src/transport/bun-transport.ts";
import type { SocketHandler, SocketLike, Transport } from "../../src/transport/socket.ts";
import { key } from "./helpers.ts";
import { blockLoop as busy } from "../helpers/net.ts";

/** The default transport, whose accepted sockets block the event loop for `ms` after their first data is handled. */
function blockingAfterFirstRead(ms: number): Transport {
  return {
    connect: (options, open) => bunTransport.connect(options, open),
    listen: (options, open) =>
      bunTransport.listen(options, (socket) => {
        const inner = open(socket);
        let first = true;
        return {
          handleData(chunk) {
            inner.handleData(chunk);
            if (first) busy(ms);
            first = false;
          },
          handleDrain: () => inner.handleDrain(),
          handleEnd: () => inner.handleEnd(),
          handleClose: () => inner.handleClose(),
          handleError: (error) => inner.handleError(error),
        } satisfies SocketHandler;
      }),
  };
}

test("a handshake whose answer arrived while the initiator's loop was blocked past its timeout completes", async () => {
  const quiet: SocketHandler = { handleData() {}, handleDrain() {}, handleEnd() {}, handleClose() {}, handleError() {} };
  const server = secureTransport(blockingAfterFirstRead(300), { keys: key(7), handshakeTimeout: 5 });
  const handle = server.listen({ hostname: "127.0.0.1", port: 0 }, () => quiet);
  try {
    for (let round = 0; round < 3; round++) {
      const client = secureTransport(bunTransport, { keys: key(7), handshakeTimeout: 0.05 });
      let socket: SocketLike | null = null;
      await client.connect({ hostname: "127.0.0.1", port: handle.port }, (s) => {
        socket = s;
        return quiet;
      });
      expect(socket).not.toBeNull();
      (socket as SocketLike | null)?.end();
    }
  } finally {
    handle.stop(true);
  }
});
