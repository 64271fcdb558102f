/**
 * A seed join times out on this node's own time (`JOIN_STALL_EXTRA`): the seconds its event loop
 * was blocked while it waited are waited again, as SWIM's timeouts do, up to JOIN_STALL_EXTRA
 * times `joinTimeout` more. In a saturated process a join otherwise timed out before it reached
 * the seed, and then waited out a doubling backoff.
 */
import { afterEach, expect, test } from "bun:test";
import { JOIN_STALL_EXTRA, SeedDiscovery } from "../../src/membership/seed-discovery.ts";
import { FakeDiscoveryHost, peer } from "./fakes.ts";

const ME = peer("me", "198.51.100.1", 9001);
const SEED = peer("seed", "198.51.100.2", 9002);
const JOIN_TIMEOUT = 0.1;

/** A host whose seed answers after `delayMs`, and whose event loop reports `stall` seconds blocked once the call is out. */
class SlowSeedHost extends FakeDiscoveryHost {
  stall = 0;
  private blocked = 0;
  readonly timeouts: number[] = [];
  answered = false;

  constructor(private readonly delayMs: number) {
    super(ME);
  }

  stalled(): number {
    return this.blocked;
  }

  override async call(host: string, port: number, endpoint: string, args: unknown[], timeout?: number): Promise<unknown> {
    this.timeouts.push(timeout ?? Number.NaN);
    // The loop "was blocked" while this call waited: the stall shows at once, as the monitor's total would.
    this.blocked += this.stall;
    await Bun.sleep(this.delayMs);
    this.answered = true;
    return this.network.call(host, port, endpoint, args);
  }
}

let discovery: SeedDiscovery | null = null;
afterEach(() => discovery?.stop());

function join(host: SlowSeedHost): SeedDiscovery {
  host.network.set(SEED.address, SEED.port, () => ({ accepted: true, self: { ...SEED, last_seen: Date.now() / 1000 }, peers: [] }));
  discovery = new SeedDiscovery(host, [{ host: SEED.address, port: SEED.port }], { heartbeatInterval: 5, peerTimeout: 20, joinTimeout: JOIN_TIMEOUT });
  discovery.start();
  return discovery;
}

test("seeds - an answer later than joinTimeout is taken when this node's loop was blocked for as long meanwhile", async () => {
  const host = new SlowSeedHost(250);
  host.stall = 0.3; // blocked longer than the answer was late
  const seeds = join(host);
  await seeds.refresh();
  expect(host.knows(SEED.id)).toBe(true);
  expect(seeds.status()[0]).toMatchObject({ failures: 0, lastError: null });
  // The transport's own timeout is past the longest own-time wait, so that it does not cut the wait short.
  expect(host.timeouts).toEqual([JOIN_TIMEOUT * (1 + JOIN_STALL_EXTRA)]);
});

test("seeds - without a blocked loop, an answer later than joinTimeout is a timeout (and the seed waits out its backoff)", async () => {
  const host = new SlowSeedHost(250);
  const seeds = join(host);
  await seeds.refresh();
  expect(host.knows(SEED.id)).toBe(false);
  const [status] = seeds.status();
  expect(status!.failures).toBe(1);
  expect(status!.lastError).toBe(`call to _synapse.join on ${SEED.address}:${SEED.port} timed out after ${JOIN_TIMEOUT * 1000} ms`);
});

test("seeds - the extra wait is bounded: a loop blocked for longer than JOIN_STALL_EXTRA timeouts still times out", async () => {
  // The answer would come a second after the longest own-time wait.
  const host = new SlowSeedHost(JOIN_TIMEOUT * (1 + JOIN_STALL_EXTRA) * 1000 + 1000);
  host.stall = 100;
  const seeds = join(host);
  await seeds.refresh();
  // It gave up before the answer came (the order only, no timing threshold).
  expect(host.answered).toBe(false);
  expect(host.knows(SEED.id)).toBe(false);
  expect(seeds.status()[0]!.lastError).toContain("timed out");
});
