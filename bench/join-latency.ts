/**
 * How long `join()` takes through a Bun seed that is some way off: the seed and its few members
 * run here, the seed behind a link that delays every chunk by `--delay` ms each way (a relay on
 * 127.0.0.2 at the seed's port, which the seed advertises, so that every call to the seed crosses
 * it, and none to the others). Fresh nodes (each with a pool of its own: a first contact) join
 * through it one after the other, in gossip mode. The baseline, measured in the same run and over
 * the same link: a fresh client's first call to the seed (`_synapse.ping`: connect, hello and the
 * call), and a call on an open connection (one round trip).
 *
 *   bun bench/join-latency.ts                    20 joins, 10 ms each way
 *   bun bench/join-latency.ts --delay 25 --joins 40
 *   bun bench/join-latency.ts --quick            5 joins (also BENCH_QUICK=1)
 *
 * Writes `bench/results/join-latency.json`. On loopback with no delay the figures are CPU, not
 * the wire: `--delay` is what makes the round trips count.
 *
 * @module
 */
import type { Socket } from "bun";
import { Node } from "../src/node.ts";
import { Client } from "../src/rpc/client.ts";
import { Pool } from "../src/transport/pool.ts";
import { QUICK, printTable, round, watchdog, writeResults } from "./lib/harness.ts";

const flag = (name: string, fallback: number): number => {
  const at = process.argv.indexOf(`--${name}`);
  const value = at >= 0 ? Number(process.argv[at + 1]) : fallback;
  if (!Number.isFinite(value) || value < 0) {
    console.error(`--${name} takes a number (got ${process.argv[at + 1]}); e.g. --${name} ${fallback}`);
    process.exit(2);
  }
  return value;
};
const DELAY_MS = flag("delay", 10);
const JOINS = flag("joins", QUICK ? 5 : 20);
const MEMBERS = 4;

/** One relayed connection: the seed's side, and what the client sent before it was open. */
interface Relay {
  up: Socket<{ down: Socket<Relay> }> | null;
  early: Uint8Array[];
  closed: boolean;
}

/** A relay from `host:port` to the seed at 127.0.0.1:`port` that holds every chunk `DELAY_MS` each way. */
function delayedLink(host: string, port: number): { stop(): void } {
  const later = (fn: () => void): void => void setTimeout(fn, DELAY_MS);
  const listener = Bun.listen<Relay>({
    hostname: host,
    port,
    socket: {
      open(down) {
        down.data = { up: null, early: [], closed: false };
        Bun.connect<{ down: Socket<Relay> }>({
          hostname: "127.0.0.1",
          port,
          data: { down },
          socket: {
            data: (up, chunk) => {
              const copy = new Uint8Array(chunk);
              later(() => up.data.down.write(copy));
            },
            close: (up) => later(() => up.data.down.end()),
            error: () => {},
          },
        }).then(
          (up) => {
            if (down.data.closed) return void up.end();
            down.data.up = up;
            for (const chunk of down.data.early.splice(0)) up.write(chunk);
          },
          () => down.end(),
        );
      },
      data(down, chunk) {
        const copy = new Uint8Array(chunk);
        later(() => (down.data.up ? down.data.up.write(copy) : down.data.early.push(copy)));
      },
      close(down) {
        down.data.closed = true;
        later(() => down.data.up?.end());
      },
      error: () => {},
    },
  });
  return { stop: () => listener.stop(true) };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const ms = (t0: number): number => performance.now() - t0;

watchdog(60 + JOINS * 5);
const common = { swarm: "latency", bind: "127.0.0.1", heartbeatInterval: 1 };
// The seed advertises the relay's address, so that the joiners' every call to it crosses the link.
const seed = new Node({ ...common, name: "seed", advertise: "127.0.0.2", port: 0 });
await seed.start();
const members: Node[] = [];
for (let i = 0; i < MEMBERS; i++) {
  const node = new Node({ ...common, name: `member${i}`, advertise: "127.0.0.1", port: 0, seeds: [`127.0.0.1:${seed.port}`] });
  await node.start();
  await node.join({ wait: 0 });
  members.push(node);
}
const link = delayedLink("127.0.0.2", seed.port);

// Baseline: a fresh client's first call (connect, hello, call), then a call on the open connection.
const firstCalls: number[] = [];
const roundTrips: number[] = [];
for (let i = 0; i < JOINS; i++) {
  const pool = new Pool();
  const client = new Client("127.0.0.2", seed.port, { pool, timeout: 10 });
  let t0 = performance.now();
  await client.call("_synapse.ping");
  firstCalls.push(ms(t0));
  t0 = performance.now();
  await client.call("_synapse.ping");
  roundTrips.push(ms(t0));
  pool.closeAll();
}

const joins: number[] = [];
let incomplete = 0;
for (let i = 0; i < JOINS; i++) {
  const node = new Node({ ...common, name: `joiner${i}`, advertise: "127.0.0.1", port: 0, pool: new Pool(), seeds: [`127.0.0.2:${seed.port}`] });
  await node.start();
  const t0 = performance.now();
  await node.join({ wait: 0 });
  joins.push(ms(t0));
  // The seed's view came whole: the seed and its members are known when join() returns.
  if (node.peers.size < MEMBERS + 1) incomplete++;
  await node.stop();
}
link.stop();
for (const node of [...members, seed]) await node.stop();

const rtt = median(roundTrips);
const rows = [
  ["a call on an open connection (baseline)", round(rtt, 1), 1],
  ["a fresh client's first call: connect, hello, call (baseline)", round(median(firstCalls), 1), round(median(firstCalls) / rtt, 2)],
  ["join() through the seed, gossip mode", round(median(joins), 1), round(median(joins) / rtt, 2)],
];
printTable(`join() through a seed ${DELAY_MS} ms away each way (${JOINS} joins, medians)`, ["what", "ms", "round trips"], rows);
if (incomplete > 0) console.log(`${incomplete} of ${JOINS} joiners did not know the seed and its ${MEMBERS} members when join() returned`);
writeResults(
  "join-latency",
  { delayMs: DELAY_MS, joins: JOINS, members: MEMBERS, roundTripMs: roundTrips, firstCallMs: firstCalls, joinMs: joins, incomplete },
  [
    { metric: `join() through a seed ${DELAY_MS} ms away`, value: round(median(joins), 1), unit: "ms" },
    { metric: "the same link's round trip (baseline)", value: round(rtt, 1), unit: "ms" },
  ],
);
process.exit(0);
