/**
 * The analyst: wades into trading conversations with a lightweight paper analysis of the price it
 * is given (up since the last scan: bullish; down: bearish; no earlier price: neutral). It only
 * works when asked, and the trader only asks while the market is open. Runs until Ctrl+C.
 *
 *     bun examples/stock_trading_team/analyst.ts [--seed 127.0.0.1:9100]
 */
import { Node } from "../../src/index.ts";
import { publishAgentCard } from "../_shared/agent-card.ts";
import { announceReady, nodeArgs, stopOnSignal } from "../_shared/node-process.ts";
import { DEFAULT_SEED, SWARM } from "./common.ts";

const args = nodeArgs("analyst.ts", { port: 0, seed: DEFAULT_SEED });
const node = new Node({ name: "analyst", role: "market analyst", swarm: SWARM, capabilities: ["technical-analysis", "risk"], bind: "127.0.0.1", port: args.port, seeds: args.seeds });
publishAgentCard(node, "Wades into trading conversations with lightweight paper analysis.");

node.ask(async (_task, context) => {
  const symbol = String(context.symbol ?? "NVDA");
  const price = Number(context.price);
  const previous = typeof context.previous === "number" ? context.previous : null;
  const signal = previous === null || price === previous ? "neutral" : price > previous ? "bullish" : "bearish";
  const answer = previous === null ? `At $${price}, ${symbol} has no trend yet; wait for the next scan.` : `At $${price} (from $${previous}), ${symbol} looks ${signal}; keep position size small.`;
  console.log(`analysed ${symbol} at ${price}: ${signal}`);
  return { from: node.name, symbol, answer, signal, confidence: signal === "neutral" ? 0.5 : 0.62 };
});

await node.join();
console.log(`analyst online at 127.0.0.1:${node.port}`);
announceReady(node);
await stopOnSignal("analyst", () => node.stop());
