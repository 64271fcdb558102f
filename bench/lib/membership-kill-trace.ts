/**
 * What each surviving node of a membership-bench worker received and sent after the kill
 * (`BENCH_TRACE_KILL=1`; never in the default run: it looks at every update a node gets a second
 * time). For the worker's latest (survivor, killed node) pairs it tells whether the survivor got
 * no copy of the death (none was sent to it) or got copies it did not take, and at what pace it
 * heard from the swarm meanwhile.
 *
 * Per node, in buckets of a second from the kill: SWIM messages received (`in`: its `handle`,
 * with their updates ignored when the bridge refused their sender: `stripped`), answers to its own
 * requests (`acks`), the updates about killed nodes they carried (`deaths`: nearly all deaths, after
 * the kill) and of those the deaths and suspicions of killed nodes the node had not yet seen
 * offline (`fresh`), its gossip messages and
 * probes sent, its queue's length and its local health at the bucket's end.
 *
 * @module
 */
import type { Node } from "../../src/index.ts";
import { readInbound } from "../../src/membership/swim-wire.ts";

/** One second of one node's trace. */
export interface TraceBucket {
  in: number;
  stripped: number;
  acks: number;
  deaths: number;
  fresh: number;
  gossip: number;
  probes: number;
  queued: number;
  awareness: number;
}

/** A latest pair's trace: the survivor's buckets, and the copies of this pair's death it got before its offline. */
export interface PairTrace {
  buckets: TraceBucket[];
  /** Copies of this killed node's death (or suspicion) that reached the survivor before it saw it offline, and when the first came (s from the kill). */
  copiesBefore: number;
  firstCopy: number | null;
}

interface NodeTrace {
  buckets: TraceBucket[];
  /** Per killed id: seconds from the kill of each copy received. */
  copies: Map<string, number[]>;
}

/** What a traced worker offers: a pair's copies (at its offline), a node's buckets (at the end), and a stop. */
export interface KillTrace {
  copies(node: string, id: string): Pick<PairTrace, "copiesBefore" | "firstCopy"> | null;
  buckets(node: string): TraceBucket[];
  /** Every traced node's buckets, averaged (to set a late survivor beside). */
  mean(): TraceBucket[];
  stop(): void;
}

/** A number from 6 characters (bytes) of an id from `at`: enough to tell the killed ids apart from the rest, mostly (a match is checked in full). */
function keyOf(b: ArrayLike<number>, at: number): number {
  let k = 0;
  for (let i = at; i < at + 6; i++) k = k * 256 + (b[i] ?? 0);
  return k;
}

/** Where the id starts in a packed update (`swim-wire.ts`: a fixmap, the key "id", then a str; or a lean death: a fixarray of two, then a str), or -1. */
function idStart(b: Uint8Array): number {
  if (b[0] === 0x92 && b.length >= 8) return b[1]! >= 0xa0 && b[1]! < 0xc0 ? 2 : b[1] === 0xd9 ? 3 : -1;
  if (b.length < 12 || (b[0]! & 0xf0) !== 0x80 || b[1] !== 0xa2 || b[2] !== 0x69 || b[3] !== 0x64) return -1;
  const t = b[4]!;
  return t >= 0xa0 && t < 0xc0 ? 5 : t === 0xd9 ? 6 : -1;
}

/**
 * Start tracing `nodes` after a kill of `killed` (epoch ms `killAt`). `waiting(node, id)`: the node
 * has not seen that killed node offline yet. Cheap on purpose (a bench's event loops are loaded
 * already): an update is matched on a few bytes of its id, and read only when it is about a killed
 * node its receiver still waits for.
 */
export function traceKill(nodes: Node[], killed: Set<string>, killAt: number, waiting: (node: string, id: string) => boolean): KillTrace {
  const traces = new Map<string, NodeTrace>();
  const undo: Array<() => void> = [];
  const byKey = new Map<number, string>();
  for (const id of killed) byKey.set(keyOf([...id].map((c) => c.charCodeAt(0)), 0), id);
  const bucketAt = (node: NodeTrace): TraceBucket => {
    const i = Math.max(0, Math.floor((Date.now() - killAt) / 1000));
    while (node.buckets.length <= i) node.buckets.push({ in: 0, stripped: 0, acks: 0, deaths: 0, fresh: 0, gossip: 0, probes: 0, queued: 0, awareness: 0 });
    return node.buckets[i]!;
  };
  for (const node of nodes) {
    const core = node.membership.gossip?.core;
    if (!core) continue;
    const trace: NodeTrace = { buckets: [], copies: new Map() };
    traces.set(node.id, trace);
    const count = (raw: unknown, field: "in" | "acks"): void => {
      if (typeof raw !== "object" || raw === null) return;
      const msg = raw as Record<string, unknown>;
      const updates = Array.isArray(msg.updates) ? msg.updates : Array.isArray(msg.members) ? msg.members : [];
      const b = bucketAt(trace);
      b[field]++;
      if (field === "in" && updates.length === 0) b.stripped++;
      for (const u of updates) {
        let id: string | undefined;
        if (u instanceof Uint8Array) {
          const at = idStart(u);
          id = at < 0 ? undefined : byKey.get(keyOf(u, at));
        } else if (typeof u === "object" && u !== null) id = byKey.has(keyOf([...String((u as { id?: unknown }).id ?? "")].map((c) => c.charCodeAt(0)), 0)) ? String((u as { id?: unknown }).id) : undefined;
        if (id === undefined) continue;
        b.deaths++;
        if (!waiting(node.id, id)) continue;
        const read = readInbound(u);
        if (!read || read.id !== id || read.state === "alive") continue;
        b.fresh++;
        const list = trace.copies.get(id) ?? [];
        list.push((Date.now() - killAt) / 1000);
        trace.copies.set(id, list);
      }
    };
    const handle = core.handle.bind(core);
    core.handle = (raw: unknown) => {
      count(raw, "in");
      return handle(raw);
    };
    undo.push(() => void (core.handle = handle));
    // The bridge's host: every SWIM request goes out through its `call`, the answer comes back from it.
    const host = (node.membership.gossip as unknown as { host: { call: (...args: unknown[]) => Promise<unknown> } }).host;
    const call = host.call;
    host.call = (...args: unknown[]) =>
      call(...args).then((answer) => {
        if (typeof args[1] === "string" && args[1].startsWith("_synapse.swim")) count(answer, "acks");
        return answer;
      });
    undo.push(() => void (host.call = call));
  }
  // Each node's sends, queue and health, sampled as the buckets go.
  const last = new Map<string, { gossip: number; probes: number }>();
  const sample = (): void => {
    for (const node of nodes) {
      const trace = traces.get(node.id);
      const stats = node.membership.gossip?.core?.stats();
      if (!trace || !stats) continue;
      const b = bucketAt(trace);
      const before = last.get(node.id) ?? { gossip: stats.gossipSent, probes: stats.probesSent };
      b.gossip += stats.gossipSent - before.gossip;
      b.probes += stats.probesSent - before.probes;
      b.queued = stats.queued;
      b.awareness = stats.awareness;
      last.set(node.id, { gossip: stats.gossipSent, probes: stats.probesSent });
    }
  };
  sample();
  const timer = setInterval(sample, 250);
  return {
    copies(node, id) {
      const trace = traces.get(node);
      if (!trace) return null;
      const copies = trace.copies.get(id) ?? [];
      return { copiesBefore: copies.length, firstCopy: copies[0] === undefined ? null : Math.round(copies[0] * 1000) / 1000 };
    },
    buckets(node) {
      return (traces.get(node)?.buckets ?? []).map((b) => ({ ...b }));
    },
    mean() {
      const out: TraceBucket[] = [];
      for (const t of traces.values()) {
        t.buckets.forEach((b, i) => {
          out[i] ??= { in: 0, stripped: 0, acks: 0, deaths: 0, fresh: 0, gossip: 0, probes: 0, queued: 0, awareness: 0 };
          for (const k of Object.keys(b) as Array<keyof TraceBucket>) out[i]![k] += b[k] / traces.size;
        });
      }
      return out.map((b) => Object.fromEntries(Object.entries(b).map(([k, v]) => [k, Math.round(v * 10) / 10])) as unknown as TraceBucket);
    },
    stop() {
      clearInterval(timer);
      for (const u of undo) u();
    },
  };
}
