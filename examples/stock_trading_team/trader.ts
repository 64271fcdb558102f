/**
 * The trader: a periodic market scan. While the paper market is closed it does nothing; while it
 * is open, each scan takes a quote from the exchange's HTTP API, asks the team with `synapse.ask`
 * (the analyst and the news observer ACK and reply in the shared conversation), decides, and
 * places a paper order over HTTP. With `--until-close` it ends when the market closes after a
 * session of scans; otherwise it runs until Ctrl+C.
 *
 *     bun examples/stock_trading_team/trader.ts [--seed 127.0.0.1:9100] [--scan-every SECONDS] [--symbol NVDA] [--until-close]
 */
import { Node, every, kw, type BroadcastReply } from "../../src/index.ts";
import { fetchAgentCard, publishAgentCard } from "../_shared/agent-card.ts";
import { announceReady, nodeArgs, stopOnSignal } from "../_shared/node-process.ts";
import { names, say } from "../_shared/narrate.ts";
import { DEFAULT_SEED, SWARM, exchangeApi, getJson, type MarketStatus, type Quote } from "./common.ts";

const args = nodeArgs("trader.ts", { port: 0, seed: DEFAULT_SEED }, ["scan-every", "symbol"], ["until-close"]);
const untilClose = args.switches["until-close"] === true;
const symbol = (args.extra.symbol ?? "NVDA").toUpperCase();
const scanEvery = Number(args.extra["scan-every"] ?? 5);

const node = new Node({ name: "trader", role: "paper trader", swarm: SWARM, capabilities: ["trade-decision", "coordination"], bind: "127.0.0.1", port: args.port, seeds: args.seeds });
publishAgentCard(node, "Coordinates analyst/news replies during market hours and places paper orders.");
node.on("conversation.ack", (event) => say(`ACK: ${event.peer.name} entered …${event.conversation_id.slice(-8)}`));

const peers = await node.join();
say(`trader joined; peers: ${names(peers)}`);
for (const peer of peers) {
  const card = await fetchAgentCard(peer);
  if (card) say(`card: ${card.name} (${card.role}): ${card.capabilities.join(", ")}`);
}
const api = await exchangeApi(node);
say(`paper exchange API at ${api}`);
const advisers = [...node.peers.values()].filter((p) => p.capabilities.includes("technical-analysis") || p.capabilities.includes("sentiment"));

type Advice = { from: string; answer: string; signal?: string; sentiment?: string };
let wasOpen: boolean | null = null;
let scans = 0;
let previous: number | null = null;
const filled: string[] = [];

node.periodic(every({ seconds: scanEvery }), async function marketScan() {
  const market = await getJson<MarketStatus>(api, "/market");
  if (market.open !== wasOpen) say(market.open ? `market open (${market.session}): scanning every ${scanEvery} s` : "market closed: no scans until it opens");
  const closedAfterSession = !market.open && wasOpen === true;
  wasOpen = market.open;
  if (!market.open) {
    if (closedAfterSession && untilClose) await finish();
    return;
  }

  const quote = await getJson<Quote>(api, `/quote/${symbol}`);
  const scan = ++scans;
  say(`scan #${scan}: ${symbol} at ${quote.price.toFixed(2)}`);
  const question = await node.broadcast("synapse.ask", `Should we trade ${symbol}?`, kw({ context: { symbol, price: quote.price, previous } }));
  previous = quote.price;
  const replies = await repliesFrom(question.nonce, advisers.length, 5);
  const advice = replies.map((r) => r.result as Advice);
  for (const a of advice) say(`reply from ${a.from}: ${a.answer}`);
  const signal = advice.find((a) => a.signal)?.signal ?? "neutral";
  const sentiment = advice.find((a) => a.sentiment)?.sentiment ?? "neutral";
  // The analyst's signal decides; the news can veto a trade against it.
  const side = signal === "bullish" && sentiment !== "negative" ? "buy" : signal === "bearish" && sentiment !== "positive" ? "sell" : null;
  say(`decision #${scan}: ${side ?? "hold"} (analyst ${signal}, news ${sentiment})`);
  if (!side) return;
  const response = await fetch(`${api}/orders`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ symbol, side, quantity: 10, by: node.name }) });
  const body = (await response.json()) as { id?: number; price?: number; error?: string };
  if (response.status === 201) {
    filled.push(`#${body.id} ${side}`);
    say(`order #${body.id} filled: ${side} 10 ${symbol} at ${body.price!.toFixed(2)}`);
  } else say(`order refused: ${body.error}`);
}, { skipIfRunning: true });

/** The replies of a conversation once `count` are in, or whatever came within `seconds`. */
async function repliesFrom(nonce: string, count: number, seconds: number): Promise<BroadcastReply[]> {
  const deadline = Date.now() + seconds * 1000;
  let replies = await node.replies(nonce);
  while (replies.length < count && Date.now() < deadline) {
    await Bun.sleep(20);
    replies = await node.replies(nonce);
  }
  return replies;
}

/** The session is over: print what happened and end. */
async function finish(): Promise<void> {
  say(`session over: ${scans} scans, ${filled.length} orders (${filled.join(", ") || "none"})`);
  await node.stop();
  process.exit(0);
}

announceReady(node);
await stopOnSignal("trader", () => node.stop());
