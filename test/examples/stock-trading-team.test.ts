import { afterEach, expect, test } from "bun:test";
import { runScript } from "../helpers/examples.ts";
import { ExampleProcess } from "./processes.ts";

const started: ExampleProcess[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((p) => (p.child.exitCode === null ? p.stop("SIGKILL", 5) : 0)));
});

/** The trader's lines, without the prefix and timestamp. */
function traderLines(out: string): string[] {
  return out
    .split("\n")
    .filter((line) => line.startsWith("trader   │ "))
    .map((line) => line.replace(/^trader\s+│ (\[\s*\d+\.\d+s\] )?/, ""));
}

test("examples - stock_trading_team: four processes; the trader scans, asks and trades only while the paper market is open", async () => {
  const { code, out, err } = await runScript("examples/stock_trading_team/launch.ts", 60_000);
  if (code !== 0) console.error(out, err);
  expect(err).toBe("");
  expect(code).toBe(0);
  expect(out).toMatch(/exchange │ ready name=paper-exchange address=127\.0\.0\.1:\d+ http=http:\/\/127\.0\.0\.1:\d+/);
  expect(out).toContain("card: paper-exchange (exchange api): quotes, paper-orders, market-status");
  expect(out).toContain("card: analyst (market analyst): technical-analysis, risk");
  expect(out).toContain("card: news-observer (news observer): news, sentiment");

  // The session: closed first (no scan), then open (scans), then closed again: the trader ends.
  const lines = traderLines(out);
  const opened = lines.findIndex((l) => l.startsWith("market open (simulated: closed 2 s, then open 5 s, repeating)"));
  const closedBefore = lines.indexOf("market closed: no scans until it opens");
  const closedAfter = lines.lastIndexOf("market closed: no scans until it opens");
  expect(closedBefore).toBeGreaterThanOrEqual(0);
  expect(opened).toBeGreaterThan(closedBefore);
  expect(closedAfter).toBeGreaterThan(opened);
  const scanAt = lines.map((l, i) => (l.startsWith("scan #") ? i : -1)).filter((i) => i >= 0);
  expect(scanAt.length).toBeGreaterThanOrEqual(1);
  for (const i of scanAt) expect(i > opened && i < closedAfter).toBe(true);
  expect(lines[0]).toBe("trader joined; peers: analyst, news-observer, paper-exchange");
  expect(lines.at(-1)).toMatch(/^session over: \d+ scans, \d+ orders/);

  // Every scan is a synapse.ask: both advisers ACK and reply; each decision names both.
  expect(lines.some((l) => /^ACK: analyst entered …[0-9a-f]{8}$/.test(l))).toBe(true);
  expect(lines.some((l) => /^ACK: news-observer entered …[0-9a-f]{8}$/.test(l))).toBe(true);
  expect(lines).toContain("scan #1: NVDA at 128.40");
  expect(lines).toContain("reply from analyst: At $128.4, NVDA has no trend yet; wait for the next scan.");
  expect(lines).toContain("decision #1: hold (analyst neutral, news positive)");
  // A trade decision is followed by an order the exchange filled (or refused, had the market just closed).
  const trades = lines.filter((l) => /^decision #\d+: (buy|sell)/.test(l)).length;
  const fills = lines.filter((l) => /^order #\d+ filled: (buy|sell) 10 NVDA at \d+\.\d\d$/.test(l)).length;
  const refused = lines.filter((l) => l === "order refused: market closed").length;
  expect(fills + refused).toBe(trades);
  expect(out.split("\n").filter((l) => /^exchange │ order #\d+ filled: trader (buys|sells) 10 NVDA/.test(l)).length).toBe(fills);
  expect(out).toContain(`exchange │ ${fills} paper orders today`);
  expect(out.trimEnd()).toMatch(/launch: every node stopped$/);
}, 90_000);

test("examples - stock_trading_team: Ctrl+C in the terminal of the launcher (--forever) stops every node cleanly", async () => {
  // In a process group of its own: Ctrl+C reaches the launcher and every node at once, as in a terminal.
  const launcher = new ExampleProcess("examples/stock_trading_team/launch.ts", ["--forever", "--session", "0:60"], {}, true);
  started.push(launcher);
  await launcher.waitFor(/trader\s+│ \[\s*\d+\.\d+s\] decision #1/, 30);
  expect(await launcher.interruptGroup(20)).toBe(0);
  expect(launcher.out).toContain("launch: SIGINT, stopping every node");
  for (const node of ["trader", "news", "analyst", "exchange"]) expect(launcher.out).toContain(`${node}: SIGINT, stopping`);
  expect(launcher.out).not.toContain("session over");
  expect(launcher.out.trimEnd()).toMatch(/launch: every node stopped$/);
  expect(launcher.err).toBe("");
}, 60_000);

test("examples - stock_trading_team: the paper exchange's HTTP API alone", async () => {
  const open = new ExampleProcess("examples/stock_trading_team/exchange.ts", ["--port", "0", "--http-port", "0", "--session", "0:3600"]);
  const closed = new ExampleProcess("examples/stock_trading_team/exchange.ts", ["--port", "0", "--http-port", "0", "--session", "3600:1"]);
  started.push(open, closed);
  const [, api] = await open.waitFor(/http=(\S+)/, 15);
  const [, closedApi] = await closed.waitFor(/http=(\S+)/, 15);
  const market = (await (await fetch(`${api}/market`)).json()) as { open: boolean; session: string };
  expect(market).toMatchObject({ open: true, session: "simulated: closed 0 s, then open 3600 s, repeating" });
  expect(await (await fetch(`${api}/quote/nvda`)).json()).toMatchObject({ symbol: "NVDA", price: 128.4 });
  expect(await (await fetch(`${api}/quote/NVDA`)).json()).toMatchObject({ price: 129.2 });
  expect((await fetch(`${api}/quote/XYZ`)).status).toBe(404);
  const order = (body: unknown, base = api!) => fetch(`${base}/orders`, { method: "POST", body: JSON.stringify(body) });
  expect((await order({ symbol: "NVDA", side: "hold", quantity: 1 })).status).toBe(400);
  expect((await order({ symbol: "AAPL", side: "buy", quantity: 1 })).status).toBe(400); // never quoted
  const filled = await order({ symbol: "NVDA", side: "buy", quantity: 5, by: "test" });
  expect(filled.status).toBe(201);
  expect(await filled.json()).toMatchObject({ id: 1, symbol: "NVDA", side: "buy", quantity: 5, price: 129.2, by: "test" });
  expect(await (await fetch(`${api}/orders`)).json()).toHaveLength(1);
  expect(await (await fetch(`${closedApi}/market`)).json()).toMatchObject({ open: false });
  const refused = await order({ symbol: "NVDA", side: "buy", quantity: 1 }, closedApi);
  expect(refused.status).toBe(409);
  expect(await refused.json()).toEqual({ error: "market closed" });
  expect(await open.stop("SIGTERM")).toBe(0);
  expect(open.out).toContain("1 paper orders today");
  expect(await closed.stop()).toBe(0);
}, 60_000);

test("examples - stock_trading_team: a bad --session is refused with status 2", async () => {
  const { code, err } = await runScript("examples/stock_trading_team/exchange.ts", 10_000, {}, ["--session", "soon"]);
  expect(code).toBe(2);
  expect(err).toContain('--session must be "real" or CLOSED:OPEN seconds such as 2:5, got "soon"');
});
