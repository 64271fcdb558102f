/**
 * The dashboard's HTTP side on `Bun.serve`: the page (plain HTML, CSS and JS served from the
 * package, embedded by `bun build --compile`; nothing fetched from elsewhere), the JSON API and a
 * WebSocket that pushes every change of the {@link DashboardModel}.
 *
 * - `GET /api/peers`, `/api/peers/:id`, `/api/peers/:id/card`, `/api/peers/:id/artifacts/:name`
 * - `GET /api/conversations` (`?limit=N`), `/api/conversations/:id`
 * - `GET /api/metrics`
 * - `GET /ws`: a WebSocket; first a `snapshot` message, then `changes` batches (see docs/dashboard.md).
 *
 * Everything is read-only. There is no login, so two checks keep other web pages out: a request
 * whose `Host` is not this server's (DNS rebinding) is refused, and so is a WebSocket whose
 * `Origin` is not this server's own (browsers let any page open a WebSocket anywhere).
 *
 * @module
 */
import type { Server, ServerWebSocket } from "bun";
import type { Change, DashboardModel, PeerView } from "./model.ts";
import type { Observer } from "./observer.ts";
import html from "./assets/index.html" with { type: "file" };
import script from "./assets/app.js" with { type: "file" };
import css from "./assets/style.css" with { type: "file" };
import { errorMessage } from "../util/guards.ts";

/** Who the dashboard is in the swarm (its observer node). */
export interface SelfView {
  id: string;
  name: string;
  swarm: string | null;
  team: string | null;
  address: string;
  port: number;
}

/** Options of {@link DashboardServer}. Times in seconds. */
export interface DashboardServerOptions {
  model: DashboardModel;
  observer: Observer;
  self: SelfView;
  /** Address to listen on. Default `127.0.0.1`. */
  hostname?: string;
  /** Port; 0 picks a free one. Default 8080. */
  port?: number;
  /** Seconds between pushes of the changes gathered meanwhile. Default 0.2. */
  flushInterval?: number;
  /** The wall clock, Unix seconds. */
  now?: () => number;
}

/** At most this many conversations in a snapshot or a list (the page pages through no more). */
const LIST_LIMIT = 1000;
/** Seconds of counters in a snapshot and in `/api/metrics`. */
const SERIES_SECONDS = 120;

const ASSETS: Record<string, { path: string; type: string }> = {
  "/": { path: html, type: "text/html; charset=utf-8" },
  "/index.html": { path: html, type: "text/html; charset=utf-8" },
  "/app.js": { path: script, type: "text/javascript; charset=utf-8" },
  "/style.css": { path: css, type: "text/css; charset=utf-8" },
};

const HEADERS = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  // Only this server's own script, styles and socket; no inline script, nothing from elsewhere.
  "content-security-policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
};

/**
 * JSON of values that came off the wire: MessagePack integers beyond 2^53 arrive as BigInt, which
 * JSON.stringify refuses; they are written as strings rather than failing the answer.
 */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
}

function json(value: unknown, status = 200): Response {
  return new Response(jsonText(value), { status, headers: { ...HEADERS, "content-type": "application/json; charset=utf-8" } });
}

function notFound(what: string): Response {
  return json({ error: `${what} not found` }, 404);
}

/** The host part of a `Host` header or an origin's authority, lower-case, without brackets and port. */
function hostOf(authority: string): string {
  const a = authority.toLowerCase();
  if (a.startsWith("[")) return a.slice(1, a.indexOf("]"));
  const colon = a.lastIndexOf(":");
  return colon < 0 ? a : a.slice(0, colon);
}

/** The dashboard's web server. */
export class DashboardServer {
  private server: Server<undefined> | null = null;
  private readonly pending: Change[] = [];
  private readonly timers: Array<ReturnType<typeof setInterval>> = [];
  private offChange: (() => void) | null = null;
  private readonly sockets = new Set<ServerWebSocket<undefined>>();
  private readonly now: () => number;
  private readonly hostname: string;

  constructor(private readonly options: DashboardServerOptions) {
    this.now = options.now ?? (() => Date.now() / 1000);
    this.hostname = options.hostname ?? "127.0.0.1";
  }

  /** The page's address, once started. */
  get url(): string {
    if (!this.server) throw new Error("the dashboard is not started");
    const host = this.hostname.includes(":") ? `[${this.hostname}]` : this.hostname;
    return `http://${host === "0.0.0.0" || host === "[::]" ? "127.0.0.1" : host}:${this.server.port}/`;
  }

  /** The port listened on, once started. */
  get port(): number {
    return this.server?.port ?? 0;
  }

  /** Pages connected right now. */
  get clients(): number {
    return this.sockets.size;
  }

  /** Listen, and start pushing changes. Throws when the address is taken. */
  start(): this {
    const { model } = this.options;
    this.server = Bun.serve<undefined>({
      hostname: this.hostname,
      port: this.options.port ?? 8080,
      fetch: (req, server) => this.handle(req, server),
      websocket: {
        // A page that stops reading is cut off rather than buffered without end; it reconnects
        // and starts again from a snapshot.
        backpressureLimit: 8 * 1024 * 1024,
        closeOnBackpressureLimit: true,
        open: (ws) => {
          this.sockets.add(ws);
          ws.send(jsonText(this.snapshot()));
        },
        close: (ws) => {
          this.sockets.delete(ws);
        },
        message: () => {}, // the page sends nothing; whatever arrives is ignored
      },
    });
    this.offChange = model.onChange((change) => this.pending.push(change));
    this.timers.push(setInterval(() => model.tick(this.now()), 1000));
    this.timers.push(setInterval(() => this.flush(), (this.options.flushInterval ?? 0.2) * 1000));
    return this;
  }

  /** Stop listening; connected pages see the socket close (and try to reconnect). */
  async stop(): Promise<void> {
    for (const t of this.timers.splice(0)) clearInterval(t);
    this.offChange?.();
    this.offChange = null;
    this.pending.length = 0;
    const server = this.server;
    this.server = null;
    for (const ws of this.sockets) ws.close(1001, "dashboard stopping");
    this.sockets.clear();
    await server?.stop(true);
  }

  /** Push the changes gathered since the last push, as one message. */
  private flush(): void {
    if (this.pending.length === 0) return;
    const changes = this.pending.splice(0);
    if (this.sockets.size === 0) return;
    const message = jsonText({ type: "changes", changes });
    for (const ws of this.sockets) ws.send(message);
  }

  /** What a page gets when it connects: everything it shows. */
  snapshot(): Record<string, unknown> {
    const now = this.now();
    const { model } = this.options;
    return {
      type: "snapshot",
      time: now,
      self: this.options.self,
      peers: model.peers(now),
      conversations: model.conversations(LIST_LIMIT),
      series: model.series(now, SERIES_SECONDS),
      edges: model.edges(now),
    };
  }

  /** Refuse requests from another site: a `Host` that is not this server's, a foreign `Origin` on the socket. */
  private foreign(req: Request): string | null {
    const host = req.headers.get("host");
    const url = new URL(req.url);
    const allowed = new Set(["localhost", "127.0.0.1", "::1", this.hostname.toLowerCase()]);
    if (host !== null && !allowed.has(hostOf(host)) && this.hostname !== "0.0.0.0" && this.hostname !== "::") return `unexpected Host ${host}`;
    const origin = req.headers.get("origin");
    if (url.pathname === "/ws" && origin !== null) {
      let originHost: string;
      try {
        originHost = new URL(origin).host;
      } catch {
        return `unexpected Origin ${origin}`;
      }
      if (host === null || originHost.toLowerCase() !== host.toLowerCase()) return `unexpected Origin ${origin}`;
    }
    return null;
  }

  private async handle(req: Request, server: Server<undefined>): Promise<Response | undefined> {
    const refused = this.foreign(req);
    if (refused) return json({ error: refused }, 403);
    if (req.method !== "GET" && req.method !== "HEAD") return json({ error: "read-only: GET only" }, 405);
    const url = new URL(req.url);
    const path = url.pathname;
    if (path === "/ws") {
      if (server.upgrade(req)) return undefined;
      return json({ error: "expected a WebSocket upgrade" }, 400);
    }
    const asset = ASSETS[path];
    if (asset) return new Response(Bun.file(asset.path), { headers: { ...HEADERS, "content-type": asset.type } });
    if (path.startsWith("/api/")) {
      let parts: string[];
      try {
        parts = path.slice(5).split("/").map(decodeURIComponent);
      } catch {
        return json({ error: `malformed path ${path}` }, 400);
      }
      return this.api(parts, url);
    }
    return notFound(path);
  }

  private async api(parts: string[], url: URL): Promise<Response> {
    const { model, observer } = this.options;
    const now = this.now();
    const [what, id, sub, name] = parts;
    if (what === "peers") {
      if (id === undefined || id === "") return json({ self: this.options.self, peers: model.peers(now) });
      const peer: PeerView | undefined = model.peer(id, now);
      if (!peer) return notFound(`peer ${id}`);
      if (sub === undefined) return json(peer);
      if (sub === "card" && parts.length === 3) return json(await observer.card(peer));
      if (sub === "artifacts" && name !== undefined && parts.length === 4) {
        try {
          return json(await observer.artifact(peer, name));
        } catch (error) {
          return json({ error: errorMessage(error) }, 502);
        }
      }
      return notFound(url.pathname);
    }
    if (what === "conversations") {
      if (id === undefined || id === "") {
        const limit = Number(url.searchParams.get("limit") ?? LIST_LIMIT);
        return json(model.conversations(Number.isFinite(limit) && limit >= 0 ? Math.floor(limit) : LIST_LIMIT));
      }
      const conversation = model.conversation(id);
      return conversation && parts.length === 2 ? json(conversation) : notFound(`conversation ${id}`);
    }
    if (what === "metrics" && parts.length === 1) {
      const peers = model.peers(now);
      const statuses: Record<string, number> = { fresh: 0, online: 0, stale: 0, offline: 0 };
      for (const p of peers) statuses[p.status] = (statuses[p.status] ?? 0) + 1;
      const series = model.series(now, SERIES_SECONDS);
      const last = series.slice(-10);
      const rate = (key: "calls" | "events" | "beats") => (last.length === 0 ? 0 : last.reduce((sum, s) => sum + s[key], 0) / last.length);
      return json({
        time: now,
        peers: statuses,
        conversations: model.conversations().length,
        rates: { calls: rate("calls"), events: rate("events"), beats: rate("beats") },
        series,
        dashboard: { clients: this.sockets.size },
        nodes: Object.fromEntries(peers.filter((p) => p.metrics !== null).map((p) => [p.id, p.metrics])),
      });
    }
    return notFound(url.pathname);
  }
}
