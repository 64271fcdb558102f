/**
 * The news observer: a periodic task picks up the next (mock) headline, but only while the market
 * is open (it asks the exchange node with `exchange.market_status`); asked during a trading
 * conversation, it shares the latest headline's sentiment. Runs until Ctrl+C.
 *
 *     bun examples/stock_trading_team/news.ts [--seed 127.0.0.1:9100] [--every SECONDS]
 */
import { Client, Node, every } from "../../src/index.ts";
import { publishAgentCard } from "../_shared/agent-card.ts";
import { announceReady, nodeArgs, stopOnSignal } from "../_shared/node-process.ts";
import { DEFAULT_SEED, SWARM, type MarketStatus } from "./common.ts";

const HEADLINES = [
  { headline: "Nvidia data-center demand remains strong, analysts say", sentiment: "positive", confidence: 0.67 },
  { headline: "Cloud buyers are reportedly negotiating harder on GPU pricing", sentiment: "neutral", confidence: 0.51 },
  { headline: "Major hyperscaler announces expanded Nvidia accelerator deployment", sentiment: "positive", confidence: 0.72 },
  { headline: "New export restrictions could pressure Nvidia's China revenue", sentiment: "negative", confidence: 0.61 },
  { headline: "Semiconductor supply chain checks look stable for the quarter", sentiment: "positive", confidence: 0.56 },
];

const args = nodeArgs("news.ts", { port: 0, seed: DEFAULT_SEED }, ["every"]);
const node = new Node({ name: "news-observer", role: "news observer", swarm: SWARM, capabilities: ["news", "sentiment"], bind: "127.0.0.1", port: args.port, seeds: args.seeds });
publishAgentCard(node, "Periodically watches mock Nvidia headlines and shares sentiment.");

let latest = HEADLINES[0]!;
let ticks = 0;
node.periodic(
  every({ seconds: Number(args.extra.every ?? 15) }),
  async function watchNews() {
    const exchange = [...node.peers.values()].find((peer) => peer.capabilities.includes("market-status"));
    if (!exchange) return;
    const market = await Client.fromPeer(exchange, { timeout: 5 }).call<MarketStatus>("exchange.market_status");
    if (!market.open) return; // no news desk outside market hours
    latest = HEADLINES[ticks++ % HEADLINES.length]!;
    console.log(`news tick: ${latest.headline} (${latest.sentiment}, confidence=${latest.confidence})`);
  },
  { skipIfRunning: true },
);

node.ask(async (_task, context) => {
  const symbol = String(context.symbol ?? "NVDA");
  if (symbol !== "NVDA") return { from: node.name, symbol, answer: `No news feed for ${symbol}.`, sentiment: "neutral", confidence: 0 };
  return { from: node.name, symbol, answer: `Latest: ${latest.headline}`, sentiment: latest.sentiment, confidence: latest.confidence };
});

await node.join();
console.log(`news observer online at 127.0.0.1:${node.port}`);
announceReady(node);
await stopOnSignal("news", () => node.stop());
