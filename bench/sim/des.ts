/**
 * A discrete-event simulator for many SWIM cores in one process: a virtual clock, and a virtual
 * network with a one-way latency (and optional loss) that carries each message to the target
 * core's `handle` and its answer back. Nothing runs in real time: a minute of swarm time takes what
 * the cores' own work takes.
 *
 * The clock advances in ticks (1 ms by default). Every timer due in a tick runs, then the event
 * loop turns once (`setImmediate`) so that the promise chains those timers settled run too, as they
 * would between two timers of a real event loop; a chain that schedules a timer for the same tick
 * gets it run in that tick. A tick with nothing due is skipped, so idle time costs nothing.
 *
 * Messages go as the gossip bridge (`src/membership/gossip.ts`) sends them between Bun nodes of
 * this version: in the wire forms of `swim-wire.ts` (packed updates, lean deaths, and each request's
 * filter of its sender's recent deaths, whose missing deaths the answer adds), with membership
 * checksums and digest exchanges. A call to a killed node is refused, which the cores take as the
 * kernel's answer that nothing listens there (`SwimPorts.isRefused`), and every message from a
 * member is first-hand news that it is alive at the receiver (`SwimCore.heardFrom`), as a message
 * from the member's own address is to the bridge. (Until Dec 2, s21, the simulated cores sent the
 * map form with neither lean deaths nor their filters, took a refused call for a lost one, and
 * heard from members only by their acks.)
 *
 * The network counts, per node, messages and bytes sent and received (requests and answers), the
 * bytes being the wire form's MessagePack size (`encode` of the package's codec, what the node's RPC
 * would carry as arguments; the few bytes of the RPC envelope are left out).
 *
 * @module
 */
import { encode } from "../../src/wire/codec.ts";
import { TimerHeap } from "./timer-heap.ts";
import { SwimCore } from "../../src/membership/swim.ts";
import { toWire, wantsLean, wantsPacked } from "../../src/membership/swim-wire.ts";
import { seededRandom, type SwimConfig, type SwimMessage, type SwimState, type SwimTarget } from "../../src/membership/swim-types.ts";

/** A virtual clock with a timer heap, run in ticks. */
export class VirtualClock {
  /** Seconds since the start of the run. */
  now = 0;
  private seq = 0;
  private readonly heap = new TimerHeap<{ at: number; seq: number; fn: () => void; cancelled: boolean }>();

  constructor(
    /** Seconds per tick: timers due within one tick run together. */
    readonly tick = 0.001,
  ) {}

  /** Run `fn` after `delay` seconds (virtual); returns a cancel function. */
  schedule(delay: number, fn: () => void): () => void {
    const timer = { at: this.now + Math.max(0, delay), seq: ++this.seq, fn, cancelled: false };
    this.heap.push(timer);
    return () => void (timer.cancelled = true);
  }

  /** Timers waiting (cancelled ones included until they come due). */
  get pending(): number {
    return this.heap.size;
  }

  /** Run every timer due up to `until` seconds, tick by tick. `each` runs after every busy tick. */
  async runUntil(until: number, each?: () => void): Promise<void> {
    for (;;) {
      const top = this.heap.peek();
      if (!top || top.at > until) break;
      // Jump to the tick of the next timer and run everything due by its end.
      const end = Math.ceil(top.at / this.tick + 1e-9) * this.tick;
      this.now = Math.max(this.now, Math.min(end, until));
      let ran = 0;
      for (;;) {
        while (this.heap.size > 0 && this.heap.peek()!.at <= end) {
          const t = this.heap.pop()!;
          if (!t.cancelled) {
            t.fn();
            ran++;
          }
        }
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (this.heap.size === 0 || this.heap.peek()!.at > end) break;
      }
      if (ran > 0) each?.();
    }
    this.now = Math.max(this.now, until);
  }
}

/** One simulated node. */
export interface SimNode {
  index: number;
  id: string;
  port: number;
  core: SwimCore;
  /** False once killed: it answers nothing (as a killed process: the connection is refused). */
  up: boolean;
  /** Members this node sees alive now (kept from the core's change reports). */
  alive: number;
  /** Messages and bytes this node sent and received (requests and answers). */
  msgsOut: number;
  msgsIn: number;
  bytesOut: number;
  bytesIn: number;
}

/** Options of a {@link SimNetwork}. */
export interface SimNetworkOptions {
  /** One-way latency, seconds (default 0.002: a LAN). */
  latency?: number;
  /** Extra latency, uniform in [0, jitter) seconds (default 0.001). */
  jitter?: number;
  /** Probability that a message is lost (the call then fails after `lossTimeout`). Default 0. */
  loss?: number;
  /** Seconds after which a lost call fails (default 1). */
  lossTimeout?: number;
  /** SWIM configuration of every core. */
  config?: Partial<SwimConfig>;
  /** Seed of every random choice (network and cores). */
  seed?: number;
  /** Seconds per clock tick (default 0.001). */
  tick?: number;
}

/** A call to a killed node (nothing listens at its port). */
const REFUSED = new Error("connection refused (simulated)");
/** A lost message's call, after the network's loss timeout. */
const LOST = new Error("lost (simulated)");

/**
 * A virtual network of SWIM cores on one {@link VirtualClock}. Watchers see every state change
 * any core reports (`onChange`), which is how the scenarios measure convergence and detection
 * without scanning every member list.
 */
export class SimNetwork {
  readonly clock: VirtualClock;
  readonly nodes: SimNode[] = [];
  private readonly byPort = new Map<number, SimNode>();
  private readonly random: () => number;
  private readonly latency: number;
  private readonly jitter: number;
  private readonly loss: number;
  private readonly lossTimeout: number;
  /** Called with (observer, member id, new state, previous state) for every change any core reports. */
  watch: ((observer: SimNode, member: string, state: SwimState, previous: SwimState | null) => void) | null = null;

  constructor(private readonly options: SimNetworkOptions = {}) {
    this.clock = new VirtualClock(options.tick ?? 0.001);
    this.random = seededRandom(options.seed ?? 1);
    this.latency = options.latency ?? 0.002;
    this.jitter = options.jitter ?? 0.001;
    this.loss = options.loss ?? 0;
    this.lossTimeout = options.lossTimeout ?? 1;
  }

  /** Create (not start) a node. Ids are short, so that N² member records fit in memory. */
  add(): SimNode {
    const index = this.nodes.length;
    const port = 10_000 + index;
    const id = `n${index.toString(36)}`;
    const node: SimNode = { index, id, port, up: true, alive: 0, msgsOut: 0, msgsIn: 0, bytesOut: 0, bytesIn: 0, core: null as unknown as SwimCore };
    node.core = new SwimCore(
      { id, address: "10.0.0.1", port },
      {
        now: () => this.clock.now,
        schedule: (delay, fn) => this.clock.schedule(delay, fn),
        send: (to, message) => this.send(node, to, message),
        random: seededRandom(Math.floor(this.random() * 2 ** 32)),
        // Every simulated node runs this version: each reads the others' checksums (`swim-sum.ts`).
        readsSum: () => true,
        readsLean: () => true,
        readsDigest: () => true,
        isRefused: (error) => error === REFUSED,
        isTimeout: (error) => error === LOST,
        onChange: (member, previous) => {
          const wasAlive = previous === "alive";
          const isAlive = member.state === "alive";
          if (wasAlive !== isAlive) node.alive += isAlive ? 1 : -1;
          this.watch?.(node, member.id, member.state, previous);
        },
      },
      this.options.config,
    );
    this.nodes.push(node);
    this.byPort.set(port, node);
    return node;
  }

  /** Stop a node as a crash would: its core stops, and calls to it fail at once from now on. */
  kill(node: SimNode): void {
    node.up = false;
    node.core.stop();
  }

  /** Sum of a counter over the nodes that are up. */
  total(key: "msgsOut" | "msgsIn" | "bytesOut" | "bytesIn"): number {
    let sum = 0;
    for (const n of this.nodes) if (n.up) sum += n[key];
    return sum;
  }

  private delay(): number {
    return this.latency + this.random() * this.jitter;
  }

  private send(from: SimNode, to: SwimTarget, message: SwimMessage): Promise<unknown> {
    const target = this.byPort.get(to.port);
    // As the gossip bridge sends it to a Bun node of this version (and asks for its answer so).
    const sent = toWire(message, { pack: true, lean: true, reads: true, readsLean: true });
    const bytes = encode(sent).length;
    from.msgsOut++;
    from.bytesOut += bytes;
    return new Promise((resolve, reject) => {
      if (this.loss > 0 && this.random() < this.loss) {
        this.clock.schedule(this.lossTimeout, () => reject(LOST));
        return;
      }
      this.clock.schedule(this.delay(), () => {
        if (!target || !target.up || !from.up) {
          reject(REFUSED);
          return;
        }
        target.msgsIn++;
        target.bytesIn += bytes;
        // The bridge: a message from a member is first-hand news that it is alive (a stranger's changes nothing).
        target.core.heardFrom(from.id);
        target.core.handle(sent).then(
          (answer) => {
            if (answer === null || !target.up) {
              reject(new Error("no answer"));
              return;
            }
            const back = toWire(answer, { pack: wantsPacked(sent), lean: wantsLean(sent), reads: false });
            const size = encode(back).length;
            target.msgsOut++;
            target.bytesOut += size;
            this.clock.schedule(this.delay(), () => {
              from.msgsIn++;
              from.bytesIn += size;
              resolve(back);
            });
          },
          (error: unknown) => reject(error),
        );
      });
    });
  }
}
