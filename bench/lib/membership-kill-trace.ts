/**
 * What each surviving node of a membership-bench worker received and sent after the kill
 * (`BENCH_TRACE_KILL=1`; never in the default run: it reads every update a node gets a second
 * time). For the worker's latest (survivor, killed node) pairs it tells whether the survivor got
 * no copy of the death (none was sent to it) or got copies it did not take, and at what pace it
 * heard from the swarm meanwhile.
 *
 * Per node, in buckets of a second from the kill: SWIM messages received (`in`: its `handle`,
 * with their updates ignored when the bridge refused their sender: `stripped`), answers to its own
 * requests (`acks`), the copies of a killed node's death or suspicion they carried (`deaths`) and
 * of those the ones about killed nodes the node still held alive (`fresh`), its gossip messages and
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

/** Start tracing `nodes` after a kill of `killed` (epoch ms `killAt`). */
export function traceKill(nodes: Node[], killed: Set<string>, killAt: number): KillTrace {
  const traces = new Map<string, NodeTrace>();
  const undo: Array<() => void> = [];
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
        const read = readInbound(u);
        if (!read || !killed.has(read.id) || (read.state !== "dead" && read.state !== "suspect" && read.state !== "left")) continue;
        b.deaths++;
        const list = trace.copies.get(read.id) ?? [];
        list.push((Date.now() - killAt) / 1000);
        trace.copies.set(read.id, list);
        if (core.member(read.id)?.state === "alive") b.fresh++;
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
