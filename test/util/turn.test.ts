/**
 * `afterReads`: a deadline's verdict comes after the reads of the turn its timer fires in, so that
 * an answer that arrived while the event loop was blocked is handed over first. In Bun the timers
 * of a turn run before its socket reads (and so does an immediate they queue); the socket here
 * becomes readable while the loop is blocked in a data handler. SWIM's timeouts (`afterTurn`) go
 * the same way.
 */
import { expect, test } from "bun:test";
import { afterReads } from "../../src/util/turn.ts";
import { afterTurn } from "../../src/membership/loop-lag.ts";
import { Emitter, waitFor } from "../../src/events.ts";
import { blockLoop as busy } from "../helpers/net.ts";

/**
 * Arm a verdict 20 ms from now with `arm`, and have data arrive while the loop is blocked past it
 * (`onData` is told of it).
 */
async function order(arm: (verdict: () => void) => void, onData?: () => void): Promise<string[]> {
  const log: string[] = [];
  const { promise, resolve } = Promise.withResolvers<void>();
  const server = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data(socket) {
        socket.write("pong"); // readable at the client at once, read only in a later turn
        busy(100);
      },
    },
  });
  const data = (): void => {
    log.push("data");
    onData?.();
  };
  const client = await Bun.connect({ hostname: "127.0.0.1", port: server.port, socket: { data } });
  arm(() => log.push("verdict"));
  setTimeout(() => setTimeout(resolve, 50), 20);
  client.write("ping");
  await promise;
  client.end();
  server.stop(true);
  return log;
}

test("the verdict of a timer that came due while the loop was blocked follows the data that arrived meanwhile", async () => {
  expect(await order((verdict) => setTimeout(() => afterReads(verdict), 20))).toEqual(["data", "verdict"]);
});

test("a cancelled verdict never runs", async () => {
  expect(await order((verdict) => setTimeout(() => afterReads(verdict)(), 20))).toEqual(["data"]);
});

test("SWIM's timeouts (afterTurn) give their verdict after those reads too", async () => {
  expect(await order((verdict) => afterTurn(0.02, verdict))).toEqual(["data", "verdict"]);
  // Cancelled once its timer fired, while it waits for the reads.
  expect(await order((verdict) => {
    const cancel = afterTurn(0.02, verdict);
    setTimeout(() => setImmediate(cancel), 20);
  })).toEqual(["data"]);
});

test("waitFor takes an event that data read after a blocked stretch brings, though its timeout came due meanwhile", async () => {
  const emitter = new Emitter<{ pong: number }>();
  let outcome = "pending";
  const log = await order(
    () => void waitFor(emitter, "pong", 0.02).then(() => (outcome = "event"), (error: unknown) => (outcome = String((error as Error).name))),
    () => emitter.emit("pong", 1),
  );
  expect(log).toEqual(["data"]);
  expect(outcome).toBe("event");
});
