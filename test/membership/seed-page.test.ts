/**
 * Seed discovery when the seed's SWIM answered a page of its members (a large swarm, see
 * docs/membership.md "Joining through a Bun seed"): the peers the seed listed in its
 * `_synapse.join` answer are probed only once the rest of the state is in, so that the SWIM
 * members among them are known by then and not probed.
 */
import { afterEach, expect, test } from "bun:test";
import { SeedDiscovery } from "../../src/membership/seed-discovery.ts";
import { FakeDiscoveryHost, peer } from "./fakes.ts";

const ME = peer("me", "198.51.100.1", 9001);
const SEED = peer("seed", "198.51.100.2", 9002);
/** A SWIM member the page left out: the rest of the state brings it. */
const MEMBER = peer("member", "198.51.100.3", 9003);
/** A peer outside SWIM (a Python node): only a probe tells it of the joiner. */
const PYTHON = peer("python", "198.51.100.4", 9004, { capabilities: ["python"] });

/** A discovery host whose gossip join is answered with a page; the rest settles when the test says. */
class PagedHost extends FakeDiscoveryHost {
  rest!: () => void;
  readonly whole = new Promise<void>((resolve) => (this.rest = resolve));
  gossipJoin(): Promise<boolean | null> {
    return Promise.resolve(true);
  }
  gossipWhole(): Promise<void> | null {
    return this.whole;
  }
}

let discovery: SeedDiscovery | null = null;
afterEach(() => discovery?.stop());

test("seeds - after a paged gossip join, the listed peers are probed once the state is whole, and only those still unknown", async () => {
  const host = new PagedHost(ME);
  const now = () => Date.now() / 1000;
  host.network.set(SEED.address, SEED.port, () => ({ accepted: true, self: { ...SEED, last_seen: now() }, peers: [{ ...MEMBER, last_seen: now() }, { ...PYTHON, last_seen: now() }] }));
  discovery = new SeedDiscovery(host, [{ host: SEED.address, port: SEED.port }], { heartbeatInterval: 5, peerTimeout: 20, joinTimeout: 1 });
  discovery.start();
  await discovery.refresh();
  // Joined: nothing listed probed yet.
  expect(host.knows(SEED.id)).toBe(true);
  expect(host.offered(MEMBER.id)).toBe(0);
  expect(host.offered(PYTHON.id)).toBe(0);
  // The exchange with a member of the page brought the member; then only the peer outside SWIM is probed.
  host.known.set(MEMBER.id, MEMBER);
  host.rest();
  for (let i = 0; i < 10 && host.offered(PYTHON.id) === 0; i++) await Bun.sleep(1);
  expect(host.offered(PYTHON.id)).toBe(1);
  expect(host.offered(MEMBER.id)).toBe(0);
  // One `_synapse.join`, not another to get a state.
  expect(host.network.callsTo(SEED.address, SEED.port, "_synapse.join")).toBe(1);
});

/** A discovery host whose gossip join (SWIM's push-pull with the seed) takes `ms` and then succeeds, or fails (`ok` false). */
class SlowExchangeHost extends FakeDiscoveryHost {
  constructor(
    self: typeof ME,
    private readonly ms: number,
    private readonly ok = true,
  ) {
    super(self);
  }
  async gossipJoin(): Promise<boolean | null> {
    await Bun.sleep(this.ms);
    return this.ok;
  }
}

test("seeds - a seed's status tells how long its last join call took, and how long the join then waited for the state exchange", async () => {
  const now = () => Date.now() / 1000;
  for (const ok of [true, false]) {
    const host = new SlowExchangeHost(ME, 60, ok);
    host.network.set(SEED.address, SEED.port, () => ({ accepted: true, self: { ...SEED, last_seen: now() }, peers: [] }));
    discovery = new SeedDiscovery(host, [{ host: SEED.address, port: SEED.port }], { heartbeatInterval: 5, peerTimeout: 20, joinTimeout: 1 });
    discovery.start();
    expect(discovery.status()[0]).toMatchObject({ joinSeconds: null, exchangeSeconds: null });
    await discovery.refresh();
    const { joinSeconds, exchangeSeconds, failures } = discovery.status()[0]!;
    expect(failures).toBe(0);
    expect(typeof joinSeconds === "number" && joinSeconds >= 0).toBe(true);
    // What the join waited for the exchange after the call (a failed one too: until it failed), apart from the call's length.
    expect(exchangeSeconds).toBeGreaterThanOrEqual(0.05);
    await discovery.stop();
  }
});

/** A discovery host that records when seed discovery starts SWIM's exchange with a seed (`gossipJoinAt`). */
class EarlyHost extends FakeDiscoveryHost {
  readonly early: Array<{ to: string; joinCalls: number; seedKnown: boolean }> = [];
  gossipJoinAt(host: string, port: number): void {
    this.early.push({ to: `${host}:${port}`, joinCalls: this.network.callsTo(host, port, "_synapse.join"), seedKnown: this.knows(SEED.id) });
  }
  gossipJoin(): Promise<boolean | null> {
    return Promise.resolve(true);
  }
}

test("seeds - SWIM's exchange with a seed is started as its `_synapse.join` call goes out, before the answer", async () => {
  const host = new EarlyHost(ME);
  host.network.set(SEED.address, SEED.port, () => ({ accepted: true, self: { ...SEED, last_seen: Date.now() / 1000 }, peers: [] }));
  discovery = new SeedDiscovery(host, [{ host: SEED.address, port: SEED.port }], { heartbeatInterval: 5, peerTimeout: 20, joinTimeout: 1 });
  discovery.start();
  await discovery.refresh();
  expect(host.early).toEqual([{ to: `${SEED.address}:${SEED.port}`, joinCalls: 1, seedKnown: false }]);
  expect(host.knows(SEED.id)).toBe(true);
});
