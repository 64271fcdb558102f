/**
 * What the dashboard knows about a swarm, kept apart from the network and the HTTP server: the
 * peers (their liveness through `sn watch`'s {@link WatchModel}, plus what probing them told: the
 * implementation, the agent card's role and description, metrics), the conversations as threads,
 * recent traffic between peers (the graph's edges) and per-second counters. Every history is
 * bounded (ring buffers), so hours of a busy swarm cost a fixed amount of memory.
 *
 * Pure state: every method takes the time, so it is tested without a clock. Each change is
 * reported to the listeners as a {@link Change}, which the server pushes over its WebSocket.
 *
 * @module
 */
import type { ConversationEvent, Peer } from "../index.ts";
import type { Change, ConversationSummary, ConversationView, Edge, PeerDetails, PeerView, Sample, ThreadEvent } from "./views.ts";
import { WatchModel, type PeerStatus, type WatchedPeer } from "../cli/watch-model.ts";

export type * from "./views.ts";

/** Options of {@link DashboardModel}. Times in seconds. */
export interface DashboardModelOptions {
  /** Seconds between heartbeats (a peer silent for two of them is `stale`). */
  heartbeat: number;
  /** Conversations kept (the oldest are let go). Default 1000. */
  maxConversations?: number;
  /** Events kept per conversation (the opening is always kept). Default 300. */
  maxThreadEvents?: number;
  /** Seconds of counters kept. Default 300. */
  history?: number;
  /** Seconds an edge stays after its last traffic. Default 60. */
  edgeWindow?: number;
  /** Seconds an offline peer stays listed. Default 180. */
  keepOffline?: number;
}

interface Thread {
  summary: ConversationSummary;
  events: ThreadEvent[];
  ids: Set<string>;
}

const NO_DETAILS: PeerDetails = { implementation: "unknown", version: null, role: null, description: null, metrics: null };

/** Cut strings inside a payload, so one huge event does not fill the page or the socket. */
function trimPayload(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return value.length > 2000 ? `${value.slice(0, 2000)}…` : value;
  if (typeof value === "bigint") return value.toString(); // JSON has no BigInt
  if (value instanceof Uint8Array) return `<${value.byteLength} bytes>`;
  if (depth > 6 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.slice(0, 50).map((v) => trimPayload(v, depth + 1));
  if (value instanceof Map) return trimPayload(Object.fromEntries([...value].slice(0, 50).map(([k, v]) => [String(k), v])), depth);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value).slice(0, 50)) out[k] = trimPayload(v, depth + 1);
  return out;
}

/** A value in one line of at most `max` characters. */
function line(value: unknown, max = 160): string {
  let text: string;
  if (typeof value === "string") text = value;
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  text = text.replace(/\s+/g, " ").trim();
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** The title of a conversation from its opening message's payload (`{endpoint, args, kwargs}`). */
function titleOf(payload: Record<string, unknown>): { endpoint: string | null; title: string } {
  const endpoint = typeof payload.endpoint === "string" ? payload.endpoint : null;
  const args = Array.isArray(payload.args) ? payload.args : [];
  const kwargs = payload.kwargs !== null && typeof payload.kwargs === "object" ? (payload.kwargs as Record<string, unknown>) : {};
  if (endpoint === "synapse.ask") return { endpoint, title: line(args[0] ?? kwargs.task ?? "") };
  if (endpoint === "synapse.message") return { endpoint, title: line(args[0] ?? kwargs.message ?? "") };
  const parts = [...args.map((a) => line(a, 40)), ...Object.entries(kwargs).map(([k, v]) => `${k}=${line(v, 40)}`)];
  return { endpoint, title: `${endpoint ?? "?"}(${parts.join(", ")})` };
}

/** The dashboard's state. */
export class DashboardModel {
  private readonly watch: WatchModel;
  private readonly details = new Map<string, PeerDetails>();
  /** Conversations, least recently opened first (a Map keeps insertion order: the ring's order). */
  private readonly threads = new Map<string, Thread>();
  private readonly edgeMap = new Map<string, Edge>();
  /** Counters, one slot per second of `history`, indexed by whole second modulo its length. */
  private readonly samples: Sample[];
  /** Each peer's status as last reported, to report only changes on a tick. */
  private readonly reported = new Map<string, string>();
  private readonly listeners = new Set<(change: Change) => void>();
  private readonly maxConversations: number;
  private readonly maxThreadEvents: number;
  private readonly edgeWindow: number;

  constructor(options: DashboardModelOptions) {
    this.watch = new WatchModel({ heartbeat: options.heartbeat, keepOffline: options.keepOffline ?? 180 });
    this.maxConversations = options.maxConversations ?? 1000;
    this.maxThreadEvents = options.maxThreadEvents ?? 300;
    this.edgeWindow = options.edgeWindow ?? 60;
    this.samples = Array.from({ length: Math.max(2, Math.floor(options.history ?? 300)) }, () => ({ time: 0, calls: 0, events: 0, beats: 0 }));
  }

  /** Call `listener` with every change; returns the unsubscribe function. */
  onChange(listener: (change: Change) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(change: Change): void {
    for (const listener of this.listeners) listener(change);
  }

  // --- peers ---

  /** A peer joined (or came back). */
  joined(peer: Peer, now: number): void {
    this.watch.joined(peer, now);
    this.emitPeer(peer.id, now);
  }

  /** A heartbeat with a peer. */
  heartbeat(peer: Peer, now: number): void {
    this.watch.seen(peer, now);
    this.count(now, "beats");
  }

  /** A peer went offline (kept, marked, for `keepOffline` seconds). */
  offline(peer: Peer, now: number): void {
    this.watch.offline(peer, now);
    this.emitPeer(peer.id, now);
  }

  /** What probing a peer told; merged into what is known. */
  setDetails(id: string, details: Partial<PeerDetails>, now: number): void {
    const merged = { ...(this.details.get(id) ?? NO_DETAILS), ...details };
    if (details.metrics) merged.metrics = trimPayload(details.metrics) as Record<string, unknown>;
    this.details.set(id, merged);
    this.watch.setRole(id, this.details.get(id)!.role);
    this.emitPeer(id, now);
  }

  /** What is known of a peer's implementation and card. */
  detailsOf(id: string): PeerDetails {
    return this.details.get(id) ?? NO_DETAILS;
  }

  /** The peers at `now`: online first, then offline, each by name. */
  peers(now: number): PeerView[] {
    const list = this.watch.list(now);
    const ids = new Set(list.map((p) => p.peer.id));
    for (const id of this.details.keys()) if (!ids.has(id)) this.details.delete(id);
    return list.map((entry) => this.view(entry));
  }

  /** One peer at `now`, or undefined. */
  peer(id: string, now: number): PeerView | undefined {
    const entry = this.watch.get(id);
    return entry && this.view({ ...entry, status: this.watch.status(entry, now) });
  }

  private view(entry: WatchedPeer & { status: PeerStatus }): PeerView {
    const { peer } = entry;
    const d = this.detailsOf(peer.id);
    return {
      id: peer.id,
      name: peer.name,
      address: peer.address,
      port: peer.port,
      kind: peer.kind,
      swarm: peer.swarm,
      team: peer.team,
      capabilities: [...peer.capabilities],
      status: entry.status,
      joinedAt: entry.joinedAt,
      lastSeen: entry.lastSeen,
      offlineAt: entry.offlineAt,
      implementation: d.implementation,
      version: d.version,
      role: entry.role ?? d.role,
      description: d.description,
      metrics: d.metrics,
    };
  }

  private emitPeer(id: string, now: number): void {
    const view = this.peer(id, now);
    if (!view) return;
    this.reported.set(id, view.status);
    this.emit({ type: "peer", peer: view });
  }

  // --- conversations ---

  /** A conversation event (any kind) arrived. Replies come through {@link reply} instead. */
  event(event: ConversationEvent, now: number): void {
    const payload = (trimPayload(event.payload) ?? {}) as Record<string, unknown>;
    this.addEvent(event.conversation_id, {
      event_id: event.event_id,
      kind: event.kind,
      peer: { id: event.peer.id, name: event.peer.name },
      created_at: event.created_at,
      parent_id: event.parent_id,
      payload,
    }, now);
  }

  /** A reply to a broadcast (once per nonce and replier). */
  reply(nonce: string, peer: Pick<Peer, "id" | "name">, result: unknown, now: number): void {
    this.addEvent(nonce, { event_id: `reply:${peer.id}`, kind: "reply", peer: { id: peer.id, name: peer.name }, created_at: now, parent_id: nonce, payload: { result: trimPayload(result) } }, now);
  }

  private addEvent(id: string, event: ThreadEvent, now: number): void {
    let thread = this.threads.get(id);
    if (!thread) {
      thread = { summary: { id, origin: null, endpoint: null, title: "(opening not seen yet)", startedAt: event.created_at, updatedAt: event.created_at, counts: {}, task: null, size: 0, dropped: 0 }, events: [], ids: new Set() };
      this.threads.set(id, thread);
      while (this.threads.size > this.maxConversations) {
        const oldest = this.threads.keys().next().value as string;
        this.threads.delete(oldest);
        this.emit({ type: "conversation.removed", id: oldest });
      }
    }
    if (thread.ids.has(event.event_id)) return;
    thread.ids.add(event.event_id);
    const s = thread.summary;
    const opening = event.kind === "message" && event.event_id === id;
    if (opening) {
      s.origin = event.peer;
      Object.assign(s, titleOf(event.payload));
      // Events that came before the opening told who asked are traffic to the asker too.
      for (const e of thread.events) if (e.peer.id !== event.peer.id) this.traffic(e.peer.id, event.peer.id, now);
      this.count(now, "calls");
    } else {
      if (event.kind.startsWith("task.")) this.taskState(s, event);
      s.counts[event.kind] = (s.counts[event.kind] ?? 0) + 1;
      this.count(now, "events");
      if (event.kind === "reply") this.count(now, "calls");
      if (s.origin && s.origin.id !== event.peer.id) this.traffic(event.peer.id, s.origin.id, now);
    }
    s.startedAt = Math.min(s.startedAt, event.created_at);
    s.updatedAt = Math.max(s.updatedAt, event.created_at);
    // Kept in time order; the opening first even when it was fetched after the events it opened.
    const hasOpening = thread.events[0]?.event_id === id;
    const at = opening ? -1 : Math.max(thread.events.findLastIndex((e) => e.created_at <= event.created_at), hasOpening ? 0 : -1);
    thread.events.splice(at + 1, 0, event);
    if (thread.events.length > this.maxThreadEvents) {
      const drop = thread.events[0]!.event_id === id ? 1 : 0; // the opening stays
      const [gone] = thread.events.splice(drop, 1);
      thread.ids.delete(gone!.event_id);
      s.dropped++;
    }
    s.size = thread.events.length;
    this.emit({ type: "conversation", conversation: { ...s, counts: { ...s.counts } }, event });
  }

  /**
   * A team task is its own conversation, opened by `task.offer` rather than a broadcast: the offer
   * names it; the state follows the latest event, except that `done` or `failed` is final.
   */
  private taskState(s: ConversationSummary, event: ThreadEvent): void {
    const state = event.kind.slice("task.".length);
    if (state === "offer" && s.origin === null) {
      s.origin = event.peer;
      const { title, task_id } = event.payload;
      s.title = `task: ${line(title ?? task_id ?? "?")}`;
    }
    const final = s.task === "done" || s.task === "failed";
    if (!final && (state === "done" || state === "failed" || event.created_at >= s.updatedAt)) s.task = state;
  }

  /** Whether a conversation is known (its opening may not be). */
  hasConversation(id: string): boolean {
    return this.threads.has(id);
  }

  /** Whether a conversation's opening message is known. */
  hasOpening(id: string): boolean {
    return this.threads.get(id)?.summary.origin != null;
  }

  /** The conversations, most recently active first, at most `limit`. */
  conversations(limit = Infinity): ConversationSummary[] {
    return [...this.threads.values()]
      .map((t) => t.summary)
      .sort((a, b) => b.updatedAt - a.updatedAt)
      .slice(0, limit)
      .map((s) => ({ ...s, counts: { ...s.counts } }));
  }

  /** One conversation with its thread, or undefined. */
  conversation(id: string): ConversationView | undefined {
    const t = this.threads.get(id);
    return t && { ...t.summary, counts: { ...t.summary.counts }, events: [...t.events] };
  }

  // --- traffic and counters ---

  private traffic(from: string, to: string, now: number): void {
    const key = `${from}>${to}`;
    const edge = this.edgeMap.get(key) ?? { from, to, count: 0, last: now };
    edge.count++;
    edge.last = now;
    this.edgeMap.set(key, edge);
  }

  /** Edges with traffic in the last `edgeWindow` seconds. */
  edges(now: number): Edge[] {
    for (const [key, edge] of this.edgeMap) if (now - edge.last > this.edgeWindow) this.edgeMap.delete(key);
    return [...this.edgeMap.values()].map((e) => ({ ...e }));
  }

  private slot(second: number): Sample {
    const s = this.samples[second % this.samples.length]!;
    if (s.time !== second) Object.assign(s, { time: second, calls: 0, events: 0, beats: 0 });
    return s;
  }

  private count(now: number, what: "calls" | "events" | "beats"): void {
    this.slot(Math.floor(now))[what]++;
  }

  /** The counters of the last `seconds` whole seconds before `now` (the current one excluded: it is not over), oldest first. */
  series(now: number, seconds = this.samples.length - 1): Sample[] {
    const current = Math.floor(now);
    const out: Sample[] = [];
    for (let t = current - Math.min(seconds, this.samples.length - 1); t < current; t++) {
      const s = this.samples[t % this.samples.length]!;
      out.push(s.time === t ? { ...s } : { time: t, calls: 0, events: 0, beats: 0 });
    }
    return out;
  }

  /**
   * Once a second: report the peers whose status changed with time alone (fresh → online → stale)
   * or who were forgotten, then the second just ended and the current edges.
   */
  tick(now: number): void {
    const views = this.peers(now);
    const present = new Set<string>();
    for (const view of views) {
      present.add(view.id);
      if (this.reported.get(view.id) !== view.status) {
        this.reported.set(view.id, view.status);
        this.emit({ type: "peer", peer: view });
      }
    }
    for (const id of [...this.reported.keys()]) {
      if (!present.has(id)) {
        this.reported.delete(id);
        this.emit({ type: "peer.removed", id });
      }
    }
    const last = this.series(now, 1)[0]!;
    this.emit({ type: "tick", time: now, sample: last, edges: this.edges(now) });
  }
}
