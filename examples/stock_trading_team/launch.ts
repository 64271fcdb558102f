/**
 * Start the trading team, one process per node: the paper exchange (HTTP API and seed, on free
 * ports, with a fast simulated session: closed 2 s, open 5 s), the analyst and the news observer,
 * then the trader (the driver), which scans every second while the market is open and ends when it
 * closes. `--forever` keeps everything running, session after session, until Ctrl+C; `--session
 * real` uses New York exchange hours instead (scans every 60 s).
 *
 *     bun examples/stock_trading_team/launch.ts [--forever] [--session real|CLOSED:OPEN]
 */
import { parseArgs } from "node:util";
import { launch } from "../_shared/launcher.ts";

const { values } = parseArgs({ options: { forever: { type: "boolean" }, session: { type: "string" } } });
const session = values.session ?? "2:5";
const scanEvery = session === "real" ? "60" : "1";
const seed = (ready: Map<string, Record<string, string>>) => ["--seed", ready.get("exchange")!.address!];
process.exit(
  await launch("launch", import.meta.dir, [
    { name: "exchange", script: "exchange.ts", args: () => ["--port", "0", "--http-port", "0", "--session", session] },
    { name: "analyst", script: "analyst.ts", args: seed },
    { name: "news", script: "news.ts", args: (ready) => [...seed(ready), "--every", scanEvery === "1" ? "2" : "300"] },
    { name: "trader", script: "trader.ts", args: (ready) => [...seed(ready), "--scan-every", scanEvery, ...(values.forever ? [] : ["--until-close"])], driver: true },
  ]),
);
