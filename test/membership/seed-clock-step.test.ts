/**
 * A seed that could not be reached is tried again after its backoff, whatever the system clock
 * does meanwhile: the backoff runs on the monotonic clock. Before, a step of the clock back (NTP
 * setting a clock that ran ahead) held every failed seed for the step's length, and a node that
 * booted before its network was up stayed alone.
 */
import { afterEach, expect, spyOn, test } from "bun:test";
import { nowSeconds } from "../../src/util/time.ts";
import { eventually, startNode, stopAll } from "./fixtures.ts";

afterEach(stopAll);

test("a failed seed's backoff is not held by a step of the clock back", async () => {
  // A port nothing listens at: one that was free a moment ago.
  const closed = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = closed.port;
  closed.stop(true);
  const node = await startNode({ name: "alone", heartbeatInterval: 0.1, peerTimeout: 1, seeds: [`127.0.0.1:${port}`] });
  await eventually(() => (node.membership.seedStatus()[0]?.failures ?? 0) >= 1, 5_000, "the seed failed once");
  const real = Date.now.bind(Date);
  const clock = spyOn(Date, "now");
  try {
    clock.mockImplementation(() => real() - 3_600_000);
    nowSeconds();
    const failures = node.membership.seedStatus()[0]!.failures;
    // Backoffs of 0.1, 0.2, 0.4 s...: tried again within a few seconds, not an hour.
    await eventually(() => node.membership.seedStatus()[0]!.failures > failures, 5_000, "the seed tried again");
  } finally {
    clock.mockRestore();
    nowSeconds();
  }
});
