/**
 * The default {@link Transport}: TCP through `Bun.connect` and `Bun.listen`. Bun's socket is a
 * {@link SocketLike} as it is; its `data` slot holds the {@link SocketHandler} made on open, and
 * one handler table serves every dialed socket (the listener's differs only in `open`). A connect
 * that Bun calls refused but that failed for this host's own want of descriptors or of a route, or
 * to an on-link host silent to ARP, fails with `EMFILE`, `ENFILE`, `ENETUNREACH` or `EHOSTUNREACH`
 * instead (`connect-failure.ts`).
 *
 * @module
 */
import type { SocketHandler as BunSocketHandler } from "bun";
import type { OpenHandler, SocketHandler, Transport } from "./socket.ts";
import { plainBytes } from "../util/bytes.ts";
import { connectFailure } from "./connect-failure.ts";

/** A connect on its way: what to do once the socket opens, or fails to. */
class Dialing {
  constructor(
    readonly open: OpenHandler,
    readonly resolve: () => void,
    readonly reject: (error: Error) => void,
    readonly hostname: string,
    readonly port: number,
  ) {}

  /** Reject with what the failure was (Bun calls more than a closed port refused: `connect-failure.ts`). */
  fail(error: Error): void {
    void connectFailure(error, this.hostname, this.port).then(this.reject, () => this.reject(error));
  }
}

/**
 * A socket's `data`: while a dialed socket connects, its {@link Dialing}; from `open` on, its
 * handler (and nothing else, so an open socket keeps nothing of its connect alive).
 */
type Slot = SocketHandler | Dialing | undefined;

/** The handler of an open socket; undefined before `open` (a connect that failed closes too). */
function handler(socket: { data: Slot }): SocketHandler | undefined {
  const data = socket.data;
  return data instanceof Dialing ? undefined : data;
}

/** Every socket event goes to the socket's handler. */
const events: Omit<BunSocketHandler<Slot>, "open" | "connectError"> = {
  // The layers above take a plain Uint8Array (subarray() on a Buffer costs about three times as much
  // as on a Uint8Array here): a small chunk copied into one, a larger one viewed (util/bytes.ts).
  // Owned: Bun hands each read over in a buffer of its own, never written again (a test holds it).
  data: (socket, chunk) => handler(socket)!.handleData(plainBytes(chunk), true),
  drain: (socket) => handler(socket)!.handleDrain(),
  end: (socket) => handler(socket)?.handleEnd(),
  close: (socket, error) => handler(socket)?.handleClose(error),
  error: (socket, error) => handler(socket)?.handleError(error),
};

/** The handler table of every dialed socket: one for all of them (a connect's own state is in its slot). */
const dialHandlers: BunSocketHandler<Slot> = {
  ...events,
  open(socket) {
    const dialing = socket.data as Dialing;
    socket.data = dialing.open(socket);
    dialing.resolve();
  },
  connectError: (socket, error) => (socket.data as Dialing).fail(error),
};

/** TCP sockets through Bun: what every pool and listener uses unless given another transport. */
export const bunTransport: Transport = {
  connect(options, open) {
    return new Promise<void>((resolve, reject) => {
      const dialing = new Dialing(open, resolve, reject, options.hostname, options.port);
      Bun.connect<Slot>({
        hostname: options.hostname,
        port: options.port,
        allowHalfOpen: options.allowHalfOpen ?? false,
        data: dialing,
        socket: dialHandlers,
      }).catch((error: Error) => dialing.fail(error));
    });
  },

  listen(options, open) {
    return Bun.listen<Slot>({
      hostname: options.hostname,
      port: options.port,
      allowHalfOpen: options.allowHalfOpen ?? false,
      data: undefined,
      socket: {
        ...events,
        open(socket) {
          socket.data = open(socket);
        },
      },
    });
  },
};
