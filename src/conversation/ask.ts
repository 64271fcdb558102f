/**
 * The ask flow (PROTOCOL.md): a node's default task handler, served directly (`_node.ask`, and
 * `synapse.ask` outside a broadcast) and as part of a broadcast (`synapse.ask` with a broadcast:
 * ACK first, answer "deferred", run the handler in the background, then reply or emit an error).
 *
 * It reaches the rest of the conversation layer through the narrow {@link AskPort}.
 *
 * @module
 */
import type { Broadcast, BroadcastReply, Peer } from "../types.ts";
import { ConfigError, EndpointError, ErrorCode } from "../errors.ts";
import { errorMessage, isMap } from "../util/guards.ts";
import { EventKind } from "./events.ts";
import type { AskHandler, ConversationHost } from "./contracts.ts";
import { readPeer } from "../wire/peer.ts";

/** What the ask flow needs from the conversation layer. */
export interface AskPort {
  /**
   * Author an event of `kind` in conversation `nonce` (parent id = the nonce), store it and send it
   * to the swarm; resolves once `origin` (reached even when it is not a known peer) has answered.
   */
  publishTo(origin: Peer, nonce: string, kind: string, payload: Record<string, unknown>): Promise<void>;
  /** Reply to the broadcast (recorded here and sent to the swarm, origin first). */
  reply(broadcast: Broadcast, result: unknown): Promise<BroadcastReply>;
  /** Run background work, tracked so that `flush()` waits for it and a failure is logged. */
  track(work: Promise<unknown>): void;
  /**
   * Why the node must not send the ACK and the result to this origin (another swarm or team, or an
   * address that does not answer as that node), or null when it may.
   */
  checkOrigin(origin: Peer): Promise<string | null>;
}

/** A node's ask handler and the two ways it is served. */
export class AskFlow {
  private handler: AskHandler | null = null;

  constructor(private readonly port: AskPort) {}

  /** Set (or clear with null) the default task handler. */
  setHandler(handler: AskHandler | null): void {
    if (handler !== null && typeof handler !== "function") throw new ConfigError("the ask handler must be a function");
    this.handler = handler;
  }

  /** True when an ask handler is set. */
  get hasHandler(): boolean {
    return this.handler !== null;
  }

  /**
   * Serve `_node.ask` (and `synapse.ask` outside a broadcast): the handler's result.
   *
   * @throws {EndpointError} `internal_error` "node has no ask handler", as a Python node answers.
   */
  async direct(task: unknown, context: unknown): Promise<unknown> {
    const handler = this.requireHandler();
    const [t, c] = askArguments(task, context);
    return handler(t, c, { broadcast: null });
  }

  /**
   * Serve `synapse.ask` as part of a broadcast: ACK (delivered to the origin before answering),
   * answer `{accepted: true, deferred: true}`, run the handler in the background, then reply with its
   * result, or emit an `error` event `{task, error}` when it throws.
   */
  async inBroadcast(task: unknown, context: unknown, broadcast: Broadcast): Promise<{ accepted: true; deferred: true }> {
    const handler = this.requireHandler();
    const [t, c] = askArguments(task, context);
    // The ACK and the result go to the origin the caller names: never to one outside the swarm,
    // or to an address that is not that node (the handler does not run for them either).
    const refusal = await this.port.checkOrigin(broadcast.origin);
    if (refusal) throw new EndpointError(ErrorCode.BadRequest, refusal);
    const nonce = broadcast.nonce;
    await this.port.publishTo(broadcast.origin, nonce, EventKind.Ack, {});
    this.port.track(
      (async () => {
        let result: unknown;
        try {
          result = await handler(t, c, { broadcast });
        } catch (error) {
          // Like the ACK and the reply, the error reaches the origin even when it is not a known peer.
          await this.port.publishTo(broadcast.origin, nonce, EventKind.Error, { task: t, error: errorMessage(error) });
          return;
        }
        await this.port.reply(broadcast, result);
      })(),
    );
    return { accepted: true, deferred: true };
  }

  private requireHandler(): AskHandler {
    if (!this.handler) throw new EndpointError(ErrorCode.InternalError, "node has no ask handler");
    return this.handler;
  }
}

/** The checked `task` and `context` arguments of an ask. */
function askArguments(task: unknown, context: unknown): [string, Record<string, unknown>] {
  if (typeof task !== "string") throw new EndpointError(ErrorCode.BadRequest, "task must be a string");
  if (context !== undefined && context !== null && !isMap(context)) throw new EndpointError(ErrorCode.BadRequest, "context must be a map");
  return [task, (context as Record<string, unknown> | null | undefined) ?? {}];
}

/**
 * Whether an ask's results may go to `origin`: it must be of this node's swarm and team, and either
 * this node, a known peer at that address, or an address that answers `_synapse.info` with that id.
 * Returns why not, or null.
 */
export async function checkOrigin(host: Pick<ConversationHost, "self" | "peers" | "admit" | "call">, origin: Peer): Promise<string | null> {
  let peer: Peer;
  try {
    peer = readPeer(origin, { mode: "lenient", what: "broadcast origin" });
  } catch (error) {
    return errorMessage(error);
  }
  const refusal = host.admit(peer);
  if (refusal) return `broadcast origin refused: ${refusal}`;
  if (peer.id === host.self().id) return null;
  if (host.peers().some((p) => p.id === peer.id && p.address === peer.address && p.port === peer.port)) return null;
  try {
    const info = await host.call(peer, "_synapse.info", [], {});
    if (isMap(info) && info.id === peer.id) return null;
  } catch (error) {
    return `broadcast origin ${peer.address}:${peer.port} did not answer: ${errorMessage(error)}`;
  }
  return `broadcast origin ${peer.address}:${peer.port} is not node ${peer.id.slice(0, 8)}`;
}
