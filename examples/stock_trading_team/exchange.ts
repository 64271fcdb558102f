/**
 * The paper exchange: a small HTTP API (Bun.serve) with quotes, paper orders and the market's
 * status, and a bootstrap Synapse node, the team's seed, that tells the agents where the API is.
 * It does not trade: it exposes data and accepts orders while the market is open. Runs until Ctrl+C.
 *
 *     bun examples/stock_trading_team/exchange.ts [--port 9100] [--http-port 8100] [--session real|CLOSED:OPEN]
 *
 * HTTP API (JSON):
 *     GET  /market           {open, time, session}
 *     GET  /quote/SYMBOL     {symbol, price, time}
 *     POST /orders           {symbol, side: "buy"|"sell", quantity, by} → 201 the filled order; 409 while closed
 *     GET  /orders           every order so far
 */
import { Node } from "../../src/index.ts";
import { publishAgentCard } from "../_shared/agent-card.ts";
import { announceReady, nodeArgs, stopOnSignal } from "../_shared/node-process.ts";
import { SWARM, type MarketStatus, type Quote } from "./common.ts";
import { parseSession, type MarketClock } from "./market.ts";

const args = nodeArgs("exchange.ts", { port: 9100 }, ["http-port", "session"]);
let clock: MarketClock;
try {
  clock = parseSession(args.extra.session ?? "real");
} catch (error) {
  console.error(`exchange.ts: ${(error as Error).message}`);
  process.exit(2);
}

// Prices follow a fixed path, one step per quote, so that every run trades the same way.
const BASE: Record<string, number> = { NVDA: 128.4, AAPL: 212.1, TSLA: 177.2 };
const STEPS = [0.8, 0.7, -1.9, 1.2, -0.6, 0.9, -1.4, 1.1];
const quoted = new Map<string, number>(); // quotes given per symbol
const last = new Map<string, number>(); // the last price quoted per symbol: orders fill at it
type Order = { id: number; symbol: string; side: "buy" | "sell"; quantity: number; price: number; by: string; time: string };
const orders: Order[] = [];

function status(): MarketStatus {
  const now = new Date();
  return { open: clock.isOpen(now), time: now.toISOString(), session: clock.describe() };
}

function quote(symbol: string): Quote | null {
  const base = BASE[symbol];
  if (base === undefined) return null;
  const n = quoted.get(symbol) ?? 0;
  quoted.set(symbol, n + 1);
  const price = Math.round((base + STEPS.slice(0, n % (STEPS.length + 1)).reduce((sum, step) => sum + step, 0)) * 100) / 100;
  last.set(symbol, price);
  return { symbol, price, time: new Date().toISOString() };
}

async function placeOrder(request: Request): Promise<Response> {
  if (!clock.isOpen(new Date())) return Response.json({ error: "market closed" }, { status: 409 });
  const body = (await request.json().catch(() => null)) as Partial<Order> | null;
  const side = body?.side;
  const quantity = body?.quantity;
  const price = typeof body?.symbol === "string" ? (last.get(body.symbol) ?? null) : null;
  if (!body || (side !== "buy" && side !== "sell") || typeof quantity !== "number" || !(quantity > 0) || price === null) {
    return Response.json({ error: "want {symbol (quoted before), side: buy|sell, quantity > 0, by}" }, { status: 400 });
  }
  const order: Order = { id: orders.length + 1, symbol: body.symbol!, side, quantity, price, by: String(body.by ?? "someone"), time: new Date().toISOString() };
  orders.push(order);
  console.log(`order #${order.id} filled: ${order.by} ${side}s ${quantity} ${order.symbol} at ${price.toFixed(2)}`);
  return Response.json(order, { status: 201 });
}

const http = Bun.serve({
  hostname: "127.0.0.1",
  port: Number(args.extra["http-port"] ?? 8100),
  async fetch(request) {
    clock.begin?.(new Date());
    const { pathname } = new URL(request.url);
    if (request.method === "GET" && pathname === "/market") return Response.json(status());
    if (request.method === "GET" && pathname.startsWith("/quote/")) {
      const found = quote(pathname.slice("/quote/".length).toUpperCase());
      return found ? Response.json(found) : Response.json({ error: "unknown symbol" }, { status: 404 });
    }
    if (request.method === "POST" && pathname === "/orders") return placeOrder(request);
    if (request.method === "GET" && pathname === "/orders") return Response.json(orders);
    return Response.json({ error: "not found" }, { status: 404 });
  },
});
const api = `http://127.0.0.1:${http.port}`;

const node = new Node({ name: "paper-exchange", kind: "bootstrap", role: "exchange api", swarm: SWARM, capabilities: ["quotes", "paper-orders", "market-status"], bind: "127.0.0.1", port: args.port });
publishAgentCard(node, "Dumb paper exchange API. It exposes data and accepts orders; it does not trade.");
node.endpoint("exchange.api_url", { description: "The paper exchange's HTTP API" }, () => api);
node.endpoint("exchange.market_status", { description: "Return paper market status" }, () => status());
node.on("peer.joined", (peer) => console.log(`joined: ${peer.name} at ${peer.address}:${peer.port}`));

await node.start();
console.log(`paper exchange: HTTP API on ${api}, node on 127.0.0.1:${node.port}; market ${clock.describe()}`);
announceReady(node, { http: api });
await stopOnSignal("exchange", async () => {
  await node.stop();
  await http.stop(true);
  console.log(`${orders.length} paper orders today`);
});
