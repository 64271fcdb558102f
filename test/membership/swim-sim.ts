/**
 * A discrete-event simulation for the SWIM core: a virtual clock with a timer heap, and a fake
 * network that carries every message through the MessagePack codec (so what a core sends is what
 * the wire can carry) with a latency, per-link cuts and per-node extra answer delays. Nothing is
 * real time: a run of minutes takes milliseconds and repeats exactly for a given seed.
 *
 * Messages go in the wire forms of `swim-wire.ts`, as the gossip bridge sends them: packed updates
 * between nodes that both read them ({@link SimNode.packs}, the default), the map form to and from
 * a node that does not (an older Bun node), answers packed when the request asked for it.
 */
import { decode, encode } from "../../src/wire/codec.ts";
import { TimerHeap } from "../../bench/sim/timer-heap.ts";
import { SwimCore } from "../../src/membership/swim.ts";
import { PackedUpdate, readMessage, toWire, wantsLean, wantsPacked } from "../../src/membership/swim-wire.ts";
import { seededRandom, type MemberUpdate, type SwimConfig, type SwimMessage, type SwimPorts, type SwimState, type SwimTarget } from "../../src/membership/swim-types.ts";

/** What a send to a node that {@link SimNode.refuses} rejects with. */
export const REFUSED = new Error("connection refused (simulated)");

/**
 * What a send on a connection that a killed node's crash closed rejects with (see
 * {@link SimNetwork.kill}): neither refused nor timed out.
 */
export const RESET = new Error("connection closed before the response (simulated)");

/** What every send of a node that {@link SimNode.starved} rejects with: it could not be made at all (its process out of file descriptors). */
export const UNSENT = Object.assign(new Error("out of file descriptors (simulated)"), { code: "EMFILE" });

/** A send that had no answer within its timeout, with {@link SimNetwork.honourTimeouts}. */
export const TIMED_OUT = new Error("no answer within the timeout (simulated)");

/** Members a gossip round goes to in the tests of its pace: memberlist's 3, the default until Dec 3 (s33), so their counts are in rounds of 3. */
export const PACE_FANOUT = 3;

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** A virtual clock: timers run in time order, each followed by every promise it settled. */
export class SimClock {
  now = 0;
  #seq = 0;
  readonly #heap = new TimerHeap<Timer>();

  schedule(delay: number, fn: () => void): () => void {
    const timer: Timer = { at: this.now + Math.max(0, delay), seq: ++this.#seq, fn, cancelled: false };
    this.#heap.push(timer);
    return () => {
      timer.cancelled = true;
    };
  }

  /** Run every timer due up to `until` (virtual seconds), at most `maxEvents`. */
  async runUntil(until: number, maxEvents = 5_000_000): Promise<void> {
    for (let i = 0; i < maxEvents; i++) {
      const top = this.#heap.peek();
      if (!top || top.at > until) break;
      this.#heap.pop();
      if (top.cancelled) continue;
      this.now = top.at;
      top.fn();
      // Let the promise chains the timer settled run before the next timer (as an event loop
      // would). Draining microtasks is much cheaper than a macrotask turn; the core's chains are
      // a few links deep, and one left over would only run with the next timer.
      for (let k = 0; k < 32; k++) await null;
    }
    this.now = Math.max(this.now, until);
  }

  /** Run `seconds` more. */
  run(seconds: number): Promise<void> {
    return this.runUntil(this.now + seconds);
  }
}

/** One simulated node: its core, whether it is up, and the state changes it saw. */
export interface SimNode {
  id: string;
  port: number;
  core: SwimCore;
  up: boolean;
  /** Extra seconds before this node's answers leave (a slow node). */
  answerDelay: number;
  /** Down with nothing listening at its port: a send to it is refused (after one latency), not lost. */
  refuses: boolean;
  /** Every send of this node fails at once with {@link UNSENT}, as in a process out of file descriptors (it still answers what it receives). */
  starved: boolean;
  /** Ids of nodes this node's sends to fail at once with {@link UNSENT} (a shortage while connecting to them only). */
  unsentTo: Set<string>;
  /** Nodes whose next send to this (killed) node fails with {@link RESET}: their connection to it was closed by its crash. */
  resets: Set<string>;
  /** What the node's `stalled` port answers: seconds its event loop was blocked (a running total). */
  stalled: number;
  /** Every change this node's core reported: `[member id, new state]`. */
  changes: Array<[string, SwimState]>;
  /** Reads and writes packed updates (default true); false: the map form only, as an older Bun node. */
  packs: boolean;
  /** Reads and writes lean deaths (default true, with {@link packs}); false: as a Bun node before `swim_lean`. */
  leans: boolean;
}

/**
 * A message as received (either wire form) with every update read whole, for a test to look at
 * what was said; null when malformed. A lean death (no address or port on the wire) reads with
 * the address {@link LEAN_ADDRESS} and port 0.
 */
export function readWholeMessage(raw: unknown): SwimMessage | null {
  const whole = (list: Array<MemberUpdate | PackedUpdate>) => list.map((u) => (u instanceof PackedUpdate ? u.read(undefined, { id: u.id, address: LEAN_ADDRESS, port: 0 }) : u)).filter((u) => u !== null);
  const message = readMessage(raw)?.message;
  if (!message || message.kind === "ack" || message.kind === "nack") return null;
  return message.kind === "push_pull" ? { ...message, members: whole(message.members) } : { ...message, updates: whole(message.updates) };
}

/** The address {@link readWholeMessage} gives a lean death, which carries none. */
export const LEAN_ADDRESS = "(lean)";

/** Two nodes with the same extra ports, the second joined through the first, run until both see each other (at most 10 virtual seconds). */
export async function joinedPair(extra: Partial<SwimPorts>): Promise<{ net: SimNetwork; a: SimNode; b: SimNode }> {
  const net = new SimNetwork();
  const a = net.add(extra);
  const b = net.add(extra);
  void b.core.join({ address: "10.0.0.1", port: a.port });
  await net.runUntil(() => net.converged(), 10);
  return { net, a, b };
}

/**
 * `count` nodes of `net` (default: a new network) joined through the first, run until all see all
 * alive (at most 120 virtual seconds; throws if they do not).
 */
export async function convergedSwarm(count: number, net = new SimNetwork()): Promise<SimNetwork> {
  const first = net.add();
  for (let i = 1; i < count; i++) void net.add().core.join({ id: first.id, address: "10.0.0.1", port: first.port });
  await net.runUntil(() => net.converged(), 120);
  if (!net.converged()) throw new Error(`${count} simulated nodes did not converge in 120 virtual seconds`);
  return net;
}

/** True when a message as received holds a packed update. */
function holdsPacked(raw: unknown): boolean {
  const m = raw as { updates?: unknown; members?: unknown } | null;
  const list = m && typeof m === "object" ? (Array.isArray(m.updates) ? m.updates : m.members) : undefined;
  return Array.isArray(list) && list.some((u) => u instanceof Uint8Array);
}

/** True when a message as received holds a lean death (`swim-wire.ts`: a `bin` holding a fixarray of two). */
function holdsLean(raw: unknown): boolean {
  const m = raw as { updates?: unknown } | null;
  return m !== null && typeof m === "object" && Array.isArray(m.updates) && m.updates.some((u) => u instanceof Uint8Array && u[0] === 0x92);
}

/** A fake network of SWIM cores on one virtual clock. */
export class SimNetwork {
  readonly clock = new SimClock();
  readonly nodes: SimNode[] = [];
  readonly #byPort = new Map<number, SimNode>();
  /** Cut links, as "from>to" keys (one direction each). */
  readonly #cut = new Set<string>();
  readonly #random: () => number;
  /** Messages sent, by kind. */
  readonly sent = new Map<string, number>();
  /**
   * As the gossip bridge does: a node that receives a message tells its core it heard from the
   * sender (`heardFrom`), which makes another node's verdict of the sender's death doubtful there
   * for a while. Default false (the core hears from a member only by its acks).
   */
  bridge = false;
  /** Messages and answers received holding packed updates; of those, received by a node that does not read them (must stay 0). */
  packedReceived = 0;
  packedToOld = 0;
  /** Messages and answers received holding lean deaths; of those, received by a node that does not read them (must stay 0). */
  leanReceived = 0;
  leanToOld = 0;
  /** Member records carried by push-pull requests and answers (what full-state exchanges cost). */
  pushPullRecords = 0;
  /**
   * A send that has no answer within its timeout fails then, and a later answer is lost, as with
   * the pool (default false: a late answer is still taken, as the core's own wait has ended anyway).
   */
  honourTimeouts = false;

  constructor(
    private readonly config: Partial<SwimConfig> = {},
    seed = 1,
    /** One-way latency in seconds. */
    private readonly latency = 0.005,
    /**
     * Carry messages through the MessagePack codec (default), as the wire would; false passes them
     * by reference (the core never changes a message it sent or received), about twice as fast.
     */
    private readonly codec = true,
  ) {
    this.#random = seededRandom(seed);
  }

  /** Add a node (started) and return it. */
  add(extra: Partial<SwimPorts> = {}, config: Partial<SwimConfig> = {}): SimNode {
    const index = this.nodes.length;
    const port = 10_000 + index;
    const id = `n${index}`;
    const node = { id, port, up: true, answerDelay: 0, refuses: false, starved: false, unsentTo: new Set(), resets: new Set(), stalled: 0, changes: [], packs: true, leans: true } as unknown as SimNode;
    const ports: SwimPorts = {
      now: () => this.clock.now,
      schedule: (delay, fn) => this.clock.schedule(delay, fn),
      send: (to, message, timeout) => this.#send(node, to, message, timeout),
      random: seededRandom(Math.floor(this.#random() * 2 ** 32)),
      stalled: () => node.stalled,
      onChange: (member) => node.changes.push([member.id, member.state]),
      isRefused: (error) => error === REFUSED,
      isLocal: (error) => error === UNSENT,
      // As the bridge: a node that reads lean deaths, to a peer that offered them (one that does not, an older Bun node, offers nothing).
      readsLean: (to) => this.#leans(node) && this.#leans(this.#byPort.get(to.port)),
      ...extra,
    };
    node.core = new SwimCore({ id, address: "10.0.0.1", port, meta: { name: id } }, ports, { ...this.config, ...config });
    this.nodes.push(node);
    this.#byPort.set(port, node);
    node.core.start();
    return node;
  }

  /** Cut (or with `cut` false, heal) the links between `a` and `b`, both ways. */
  link(a: SimNode, b: SimNode, cut: boolean): void {
    for (const key of [`${a.id}>${b.id}`, `${b.id}>${a.id}`]) {
      if (cut) this.#cut.add(key);
      else this.#cut.delete(key);
    }
  }

  /**
   * Stop a node as a crash would: its core stops, and it answers nothing any more. With `refuse`,
   * as a killed process: nothing listens at its port, so a send to it is refused. With `reset`
   * seconds too, each other node's first send to it within that time fails as one on a connection
   * the crash closed, before the sender noticed the close ({@link RESET}); the next is refused.
   */
  kill(node: SimNode, refuse = false, reset = 0): void {
    node.up = false;
    node.refuses = refuse;
    if (reset > 0) {
      for (const other of this.nodes) if (other !== node) node.resets.add(other.id);
      this.clock.schedule(reset, () => node.resets.clear());
    }
    node.core.stop();
  }

  /** How node `viewer` sees `subject` (undefined: unknown). */
  view(viewer: SimNode, subject: SimNode): SwimState | undefined {
    return viewer.core.member(subject.id)?.state;
  }

  /** True when every up node sees every other up node alive. */
  converged(): boolean {
    const up = this.nodes.filter((n) => n.up);
    return up.every((a) => up.every((b) => a === b || this.view(a, b) === "alive"));
  }

  /** Run until `done()` or `limit` virtual seconds passed, checking every `step`; the virtual seconds it took. */
  async runUntil(done: () => boolean, limit: number, step = 0.1): Promise<number> {
    const start = this.clock.now;
    while (!done() && this.clock.now - start < limit) await this.clock.run(step);
    return this.clock.now - start;
  }

  #send(from: SimNode, to: SwimTarget, message: SwimMessage, timeout?: number): Promise<unknown> {
    this.sent.set(message.kind, (this.sent.get(message.kind) ?? 0) + 1);
    if (message.kind === "push_pull") this.pushPullRecords += message.members.length;
    const wire = this.codec ? { to: encode, from: decode } : { to: (v: unknown) => v, from: (v: unknown) => v };
    const target = this.#byPort.get(to.port);
    // As the gossip bridge: packed only to a node that reads it; every request of a new node asks for packed answers.
    const sent = wire.to(toWire(message, { pack: from.packs && target?.packs === true, lean: this.#leans(from) && this.#leans(target), reads: from.packs, readsLean: this.#leans(from) }));
    return new Promise((resolve, reject) => {
      if (this.honourTimeouts && timeout !== undefined && timeout > 0) this.clock.schedule(timeout, () => reject(TIMED_OUT));
      if (from.up && (from.starved || (target !== undefined && from.unsentTo.has(target.id)))) return void this.clock.schedule(0, () => reject(UNSENT));
      if (from.up && target?.resets.delete(from.id)) return void this.clock.schedule(this.latency, () => reject(RESET));
      if (from.up && target?.refuses) return void this.clock.schedule(this.latency, () => reject(REFUSED));
      // A lost message is never answered: the sender's own timeouts decide, as with a silent peer.
      if (!from.up || !target || this.#cut.has(`${from.id}>${target.id}`)) return;
      this.clock.schedule(this.latency, () => {
        if (!target.up) return;
        const received = this.#receive(target, wire.from(sent as Uint8Array));
        if (this.bridge) target.core.heardFrom(from.id);
        void target.core.handle(received).then((answer) => {
          if (answer === null) return;
          if (answer.kind === "push_pull") this.pushPullRecords += answer.members.length;
          const back = wire.to(toWire(answer, { pack: target.packs && wantsPacked(received), lean: this.#leans(target) && wantsLean(received), reads: false }));
          this.clock.schedule(this.latency + target.answerDelay, () => {
            if (target.up && from.up && !this.#cut.has(`${target.id}>${from.id}`)) resolve(this.#receive(from, wire.from(back as Uint8Array)));
          });
        });
      });
    });
  }

  /** True when `node` reads and writes lean deaths (and so the packed form). */
  #leans(node: SimNode | undefined): boolean {
    return node !== undefined && node.packs && node.leans;
  }

  /** Count a message `node` receives that holds packed updates, or lean deaths. */
  #receive(node: SimNode, raw: unknown): unknown {
    if (holdsPacked(raw)) {
      this.packedReceived++;
      if (!node.packs) this.packedToOld++;
    }
    if (holdsLean(raw)) {
      this.leanReceived++;
      if (!this.#leans(node)) this.leanToOld++;
    }
    return raw;
  }
}

/**
 * The gossip rounds in which `node` sends a message in the next `seconds` of the network's clock,
 * run in steps of 10 ms (rounds are gossipInterval apart or more): rounds rather than messages, as
 * a node whose local health is degraded gossips to one member a round, a healthy one to gossipNodes.
 */
export async function gossipRounds(net: SimNetwork, node: SimNode, seconds: number): Promise<number> {
  let rounds = 0;
  const end = net.clock.now + seconds;
  while (net.clock.now < end - 1e-9) {
    const before = node.core.stats().gossipSent;
    await net.clock.run(Math.min(0.01, end - net.clock.now));
    if (node.core.stats().gossipSent > before) rounds++;
  }
  return rounds;
}

/**
 * Slow every answer down (0.6 s) and block `node`'s loop now and then until its local-health
 * score reaches `score`; then its loop runs on time again (and, with `restore`, the answers too).
 */
export async function lateUntilAware(net: SimNetwork, node: SimNode, score: number, restore = false): Promise<void> {
  for (const n of net.nodes) n.answerDelay = 0.6;
  let ticking = true;
  const tick = (): void => {
    if (!ticking) return;
    node.stalled += 0.05;
    net.clock.schedule(0.1, tick);
  };
  tick();
  await net.runUntil(() => node.core.stats().awareness >= score, 60, 0.1);
  ticking = false;
  if (restore) for (const n of net.nodes) n.answerDelay = 0;
}
