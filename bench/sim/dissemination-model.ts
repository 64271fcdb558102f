/**
 * A model of how one membership update spreads through a SWIM swarm, with O(N) state, for the
 * sizes where N full SWIM cores do not fit in one process (10,000 cores would hold 10⁸ member
 * records: tens of GB). It follows the core's dissemination rules, with the configuration the
 * simulation of full cores runs (`config.ts`), for one update:
 *
 * - every `gossipInterval` (0.2 s) a node that still has the update queued sends it to
 *   `gossipNodes` (2) random members; the receiver's ack carries it back while the receiver has
 *   it queued;
 * - every `probeInterval` (1 s) each node probes one member (round-robin over a shuffled list:
 *   here a random member), the ping and its ack piggyback the update the same way;
 * - a node sends the update at most retransmitMult × ⌈log10(N + 1)⌉ times (4 × ⌈log10(N + 1)⌉),
 *   each message counting one;
 * - one-way latency 2 ms plus up to 1 ms of jitter, as in the simulation of full cores (`des.ts`).
 *
 * What it leaves out: other updates competing for the piggyback budget (one update alone), and
 * push-pull (it only matters for a node the gossip missed). It is checked against the full cores
 * at the sizes both run (`membership-sim.ts` records both).
 *
 * @module
 */
import { seededRandom } from "../../src/membership/swim-types.ts";
import { SIM_CONFIG } from "./config.ts";
import { VirtualClock } from "./des.ts";

/**
 * Seconds until 99% and until all of `n` nodes have an update one node had at time 0. `all` is
 * null when gossip alone missed a node (its retransmissions ran out first): in the core a
 * push-pull then repairs it, tens of seconds later.
 */
export async function disseminationTime(n: number, seed: number, limit = 30): Promise<{ p99: number | null; all: number | null }> {
  const c = SIM_CONFIG;
  const clock = new VirtualClock(0.001);
  const random = seededRandom(seed);
  const sendLimit = c.retransmitMult * Math.ceil(Math.log10(n + 1));
  const knows = new Uint8Array(n);
  const sent = new Uint16Array(n);
  let informed = 1;
  let doneAt: number | null = null;
  let p99At: number | null = null;
  const p99 = Math.ceil(0.99 * n);
  knows[0] = 1;
  const latency = () => 0.002 + random() * 0.001;
  const other = (i: number) => {
    const j = Math.floor(random() * (n - 1));
    return j >= i ? j + 1 : j;
  };
  const learn = (i: number) => {
    if (knows[i]) return;
    knows[i] = 1;
    informed++;
    if (informed === p99) p99At = clock.now;
    if (informed === n) doneAt = clock.now;
  };
  /** Does `i` put the update in its next message? (Counts the transmission.) */
  const carries = (i: number) => {
    if (!knows[i] || sent[i]! >= sendLimit) return false;
    sent[i]!++;
    return true;
  };
  /** `from` sends a message (gossip or ping) to `to`; `to` answers with an ack. */
  const exchange = (from: number, to: number) => {
    const out = carries(from);
    clock.schedule(latency(), () => {
      if (out) learn(to);
      const back = carries(to);
      clock.schedule(latency(), () => {
        if (back) learn(from);
      });
    });
  };
  for (let i = 0; i < n; i++) {
    const gossip = () => {
      if (knows[i] && sent[i]! < sendLimit) for (let k = 0; k < c.gossipNodes; k++) exchange(i, other(i));
      clock.schedule(c.gossipInterval, gossip);
    };
    const probe = () => {
      exchange(i, other(i));
      clock.schedule(c.probeInterval, probe);
    };
    clock.schedule(random() * c.gossipInterval, gossip);
    clock.schedule(random() * c.probeInterval, probe);
  }
  // Every node's sends are spent within a few seconds: after that nothing changes.
  for (let t = 0.05; t <= limit && doneAt === null; t += 0.05) await clock.runUntil(t);
  return { p99: p99At, all: doneAt };
}

/** The suspicion timeout of the core at `n` alive nodes: [with enough confirmations, without any]. */
export function suspicionTimeout(n: number): [number, number] {
  const c = SIM_CONFIG;
  const min = Math.min(c.suspicionMult * Math.max(1, Math.log10(n)) * c.probeInterval, c.suspicionMaxTimeout);
  return [min, c.suspicionMaxMult * min];
}

