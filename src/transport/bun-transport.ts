/**
 * The default {@link Transport}: TCP through `Bun.connect` and `Bun.listen`. Bun's socket is a
 * {@link SocketLike} as it is; its `data` slot holds the {@link SocketHandler} made on open, and
 * one handler table serves every socket, dialed or accepted.
 *
 * @module
 */
import type { SocketHandler as BunSocketHandler } from "bun";
import type { OpenHandler, SocketHandler, Transport } from "./socket.ts";

/** A socket's `data` is its handler from `open` on (undefined only before). */
type Slot = SocketHandler | undefined;

/** Every socket event goes to the socket's handler. */
const events: Omit<BunSocketHandler<Slot>, "open" | "connectError"> = {
  // A plain Uint8Array view of the chunk (same memory): the layers above slice it per frame, and
  // subarray() on a Buffer costs about three times as much as on a Uint8Array here.
  data: (socket, chunk) => socket.data!.handleData(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)),
  drain: (socket) => socket.data!.handleDrain(),
  end: (socket) => socket.data?.handleEnd(),
  close: (socket, error) => socket.data?.handleClose(error),
  error: (socket, error) => socket.data?.handleError(error),
};

/** The handler table of one socket: the shared events, and `open` handing the socket to its handler. */
function handlers(open: OpenHandler, opened?: () => void): BunSocketHandler<Slot> {
  return {
    ...events,
    open(socket) {
      socket.data = open(socket);
      opened?.();
    },
  };
}

/** TCP sockets through Bun: what every pool and listener uses unless given another transport. */
export const bunTransport: Transport = {
  connect(options, open) {
    return new Promise<void>((resolve, reject) => {
      Bun.connect<Slot>({
        hostname: options.hostname,
        port: options.port,
        allowHalfOpen: options.allowHalfOpen ?? false,
        data: undefined,
        socket: { ...handlers(open, resolve), connectError: (_socket, error) => reject(error) },
      }).catch(reject);
    });
  },

  listen(options, open) {
    return Bun.listen<Slot>({
      hostname: options.hostname,
      port: options.port,
      allowHalfOpen: options.allowHalfOpen ?? false,
      data: undefined,
      socket: handlers(open),
    });
  },
};
