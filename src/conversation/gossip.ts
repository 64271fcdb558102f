/**
 * Who a conversation message goes to, and sending it there: the author sends to every peer it
 * knows; a relay goes to every other peer (flooding, as Python nodes do) or to a random
 * `gossipFanout` of them, which keeps traffic linear in the swarm size.
 *
 * @module
 */
import type { Peer } from "../types.ts";
import type { Kwargs } from "../wire/messages.ts";
import { createLogger } from "../log.ts";
import { errorMessage } from "../util/guards.ts";
import { sample } from "../util/random.ts";
import { ConversationEndpoint, type ConversationHost } from "./contracts.ts";
import type { Item } from "./batch-items.ts";
import type { DisseminationLayer } from "./dissemination-ports.ts";

const log = createLogger("conversation");

/** The targets and the fan-out of one node's conversation traffic. */
export class Gossip {
  constructor(
    private readonly host: Pick<ConversationHost, "self" | "peers" | "call">,
    /** Relay fan-out (Infinity: every peer). */
    readonly fanout: number,
  ) {}

  /** Every known peer but this node and those in `exclude`. */
  others(exclude: ReadonlySet<string> = new Set()): Peer[] {
    const self = this.host.self().id;
    return this.host.peers().filter((p) => p.id !== self && !exclude.has(p.id));
  }

  /** Peers a relay goes to: every other peer, or a random `fanout` of them. */
  relayTargets(exclude: ReadonlySet<string>): Peer[] {
    const peers = this.others(exclude);
    return peers.length <= this.fanout ? peers : sample(peers, this.fanout);
  }

  /**
   * The peers an item goes to by per-event call when some peers batch (`batch`, `plain`, `unknown`:
   * the known peers split by whether they batch, see peer-view.ts). The author calls every peer that
   * does not batch, and every peer not yet connected (its call opens the connection: from then on a
   * Bun peer batches). A relay calls the peers known not to batch (Python peers), as relays without
   * batching do (all of them, or `fanout` at random); a peer not yet connected is left to the author.
   */
  perEventTargets(view: { plain: Peer[]; unknown: Peer[] }, author: string, self: string, known: ReadonlySet<string>): Peer[] {
    if (author === self) return [...view.plain, ...view.unknown].filter((p) => !known.has(p.id));
    const eligible = view.plain.filter((p) => p.id !== author && !known.has(p.id));
    return eligible.length <= this.fanout ? eligible : sample(eligible, this.fanout);
  }

  /**
   * The peers an item goes to by per-event call when it does not go in batches (batching off, or
   * the item too big for a batch): every other peer from its author, a relay's targets otherwise.
   */
  unbatchedTargets(author: string, self: string, known: ReadonlySet<string>): Peer[] {
    const exclude = new Set([...known, author]);
    return author === self ? this.others(exclude) : this.relayTargets(exclude);
  }

  /** Send an item to `targets` by per-event call (`_synapse.conversation.event`, `_synapse.broadcast.reply`). */
  sendItem(targets: Peer[], item: Item, layer: Pick<DisseminationLayer, "replyKwargs">): Promise<number> {
    return item.kind === "event"
      ? this.fanOut(targets, ConversationEndpoint.Event, [item.event], {})
      : this.fanOut(targets, ConversationEndpoint.Reply, [item.nonce, item.peer], layer.replyKwargs(item.result, item.sig, item.mac));
  }

  /**
   * Call every target concurrently; failures are logged, never thrown. Resolves to the number that
   * answered. `kwargs` may depend on the target (a Bun-only keyword argument for the peers that
   * take it: see `signing.ts`).
   */
  async fanOut(targets: Peer[], endpoint: string, args: unknown[], kwargs: Kwargs | ((peer: Peer) => Kwargs | Promise<Kwargs>)): Promise<number> {
    const send = (p: Peer, k: Kwargs) => this.host.call(p, endpoint, args, k);
    const call =
      typeof kwargs === "function"
        ? (p: Peer) => {
            const k = kwargs(p);
            return k instanceof Promise ? k.then((resolved) => send(p, resolved)) : send(p, k);
          }
        : (p: Peer) => send(p, kwargs);
    const results = await Promise.allSettled(targets.map(call));
    let ok = 0;
    results.forEach((r, i) => {
      if (r.status === "fulfilled") ok++;
      else log.debug(`${endpoint} to ${targets[i]!.name || targets[i]!.id.slice(0, 8)} failed: ${errorMessage(r.reason)}`);
    });
    return ok;
  }
}
