/** What the nodes of stock_trading_team share. */
import { Client, type Node, type Peer } from "../../src/index.ts";

/** The swarm of the team (a Python node joins it with `swarm="paper-trading"`). */
export const SWARM = "paper-trading";

/** The exchange node's default address when a node is started on its own. */
export const DEFAULT_SEED = "127.0.0.1:9100";

/** What `GET /market` answers. */
export interface MarketStatus {
  open: boolean;
  time: string;
  session: string;
}

/** What `GET /quote/SYMBOL` answers. */
export interface Quote {
  symbol: string;
  price: number;
  time: string;
}

/**
 * The paper exchange's HTTP address, asked from the exchange node of the swarm (the peer with the
 * `paper-orders` capability), so that nobody needs it on the command line.
 */
export async function exchangeApi(node: Node): Promise<string> {
  const exchange = [...node.peers.values()].find((peer: Peer) => peer.capabilities.includes("paper-orders"));
  if (!exchange) throw new Error("no paper exchange in the swarm");
  return Client.fromPeer(exchange, { timeout: 5 }).call<string>("exchange.api_url");
}

/** GET `path` from the exchange API and decode its JSON. */
export async function getJson<T>(api: string, path: string): Promise<T> {
  const response = await fetch(`${api}${path}`);
  if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}
