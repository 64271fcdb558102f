/**
 * The dashboard's eyes on the swarm: a quiet observer {@link Node}'s events fed into a
 * {@link DashboardModel}, and the peers probed for what events do not tell.
 *
 * - Membership events give who is there and who is alive.
 * - Conversation events and broadcast replies give the threads. A conversation first learned of
 *   through an ACK, reply or custom event (the observer serves no user endpoint, so a broadcast of
 *   one does not record its opening here) is fetched from that event's author, once.
 * - Each peer that joins is asked `_synapse.hello` (a Bun peer answers with its implementation and
 *   version; a Python peer refuses the unknown endpoint with `bad_request`), `_synapse.info` (role
 *   and description) and {@link METRICS_ENDPOINT} (a peer that serves metrics is asked again every
 *   `metricsInterval` seconds). Every probe is bounded by a timeout, and a failure only leaves the
 *   column empty.
 *
 * @module
 */
import { Client, RemoteError, checkArtifact, type BroadcastReply, type ConversationEvent, type Node, type Peer } from "../index.ts";
import type { DashboardModel } from "./model.ts";
import { errorMessage } from "../util/guards.ts";

/** The unpublished endpoint a peer serves its counters on, where it does. */
export const METRICS_ENDPOINT = "_synapse.metrics";

/** The Bun negotiation endpoint, asked to tell the implementations apart (the public API does not export its name). */
const HELLO = "_synapse.hello";

/** Options of {@link Observer}. Times in seconds. */
export interface ObserverOptions {
  /** Seconds a probe or a card request waits. Default 3. */
  timeout?: number;
  /** Seconds between metrics requests to a peer that serves them. Default 5. */
  metricsInterval?: number;
  /** The wall clock, Unix seconds (replaceable in tests). */
  now?: () => number;
}

/** A peer's agent card as the page shows it: `_synapse.info`, `_node.capabilities`, `_synapse.artifacts`. */
export interface AgentCard {
  info: unknown;
  capabilities: unknown;
  artifacts: unknown;
  /** Why a part is missing (a Python peer may lack one), by part. */
  errors: Record<string, string>;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function text(value: unknown): string | null {
  return typeof value === "string" && value !== "" ? value : null;
}


/** Feeds a node's view of the swarm into a model. */
export class Observer {
  private readonly timeout: number;
  private readonly metricsInterval: number;
  private readonly now: () => number;
  /** Conversations whose opening was asked for (once each). */
  private readonly fetched = new Set<string>();
  /** Peers that serve metrics, by id. */
  private readonly metered = new Map<string, Peer>();
  private readonly unsubscribe: Array<() => void> = [];
  private metricsTimer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly node: Node,
    private readonly model: DashboardModel,
    options: ObserverOptions = {},
  ) {
    this.timeout = options.timeout ?? 3;
    this.metricsInterval = options.metricsInterval ?? 5;
    this.now = options.now ?? (() => Date.now() / 1000);
  }

  /** Subscribe to the node's events (call before it joins, so that no peer is missed). */
  attach(): this {
    const n = this.node;
    this.unsubscribe.push(
      n.on("peer.joined", (peer: Peer) => {
        this.model.joined(peer, this.now());
        void this.probe(peer);
      }),
      n.on("peer.heartbeat", (peer: Peer) => this.model.heartbeat(peer, this.now())),
      n.on("peer.offline", (peer: Peer) => {
        this.metered.delete(peer.id);
        this.model.offline(peer, this.now());
      }),
      n.on("conversation.event", (event: ConversationEvent) => this.onEvent(event)),
      n.on("broadcast.reply", (reply: BroadcastReply) => this.model.reply(reply.nonce, reply.peer, reply.result, this.now())),
    );
    this.metricsTimer = setInterval(() => {
      for (const peer of this.metered.values()) void this.readMetrics(peer);
    }, this.metricsInterval * 1000);
    return this;
  }

  /** Stop listening and probing. */
  detach(): void {
    for (const off of this.unsubscribe.splice(0)) off();
    if (this.metricsTimer) clearInterval(this.metricsTimer);
    this.metricsTimer = null;
  }

  private onEvent(event: ConversationEvent): void {
    if (event.kind === "reply") return; // filed once per replier through broadcast.reply
    this.model.event(event, this.now());
    const id = event.conversation_id;
    if (this.model.hasOpening(id) || this.fetched.has(id)) return;
    this.fetched.add(id);
    if (this.fetched.size > 10_000) this.fetched.delete(this.fetched.values().next().value as string);
    // A failed fetch only leaves the thread without its opening line; its events are shown.
    this.node.syncConversation(event.peer, id).catch(() => {});
  }

  private client(peer: Pick<Peer, "address" | "port">): Client {
    return new Client(peer.address, peer.port, { timeout: this.timeout });
  }

  /** Ask a peer what it runs, its card, and whether it serves metrics. */
  async probe(peer: Peer): Promise<void> {
    const client = this.client(peer);
    try {
      // The pool negotiated with a hello already, but keeps what it learned to itself; one more
      // call is harmless to a Python node (it answers an unknown endpoint like any other).
      const hello = await client.call(HELLO);
      const h = isMap(hello) ? hello : {};
      const version = [text(h.implementation), text(h.version)].filter((x) => x !== null).join(" ");
      this.model.setDetails(peer.id, { implementation: "bun", version: version || null }, this.now());
    } catch (error) {
      // The Python original has no hello: it refuses the unknown endpoint with bad_request.
      if (error instanceof RemoteError && error.code === "bad_request") this.model.setDetails(peer.id, { implementation: "python" }, this.now());
    }
    try {
      const info = await client.info();
      this.model.setDetails(peer.id, { role: info.role ?? null, description: info.description ?? null }, this.now());
    } catch {
      // No card: the role column stays empty.
    }
    if (await this.readMetrics(peer)) this.metered.set(peer.id, peer);
  }

  private async readMetrics(peer: Peer): Promise<boolean> {
    try {
      const metrics = await this.client(peer).call(METRICS_ENDPOINT);
      if (!isMap(metrics)) return false;
      this.model.setDetails(peer.id, { metrics }, this.now());
      return true;
    } catch {
      return false;
    }
  }

  /** A peer's agent card, asked now. Parts a peer cannot give are named in `errors`. */
  async card(peer: Pick<Peer, "address" | "port">): Promise<AgentCard> {
    const client = this.client(peer);
    const card: AgentCard = { info: null, capabilities: null, artifacts: null, errors: {} };
    const parts = [
      ["info", () => client.call("_synapse.info")],
      ["capabilities", () => client.call("_node.capabilities")],
      ["artifacts", () => client.call("_synapse.artifacts")],
    ] as const;
    await Promise.all(
      parts.map(async ([part, ask]) => {
        try {
          card[part] = await ask();
        } catch (error) {
          card.errors[part] = errorMessage(error);
        }
      }),
    );
    return card;
  }

  /**
   * One artifact of a peer, with its content (`_synapse.artifact.get`) and, under `signature`, what
   * its check found (`checkArtifact`: signed, unsigned, or tampered with and why).
   */
  async artifact(peer: Pick<Peer, "id" | "address" | "port">, name: string): Promise<unknown> {
    const doc = await this.client(peer).call("_synapse.artifact.get", name);
    return isMap(doc) ? { ...doc, signature: checkArtifact(doc, peer.id) } : doc;
  }
}

