/**
 * The built-in endpoints of the conversation layer (PROTOCOL.md): broadcast replies, conversation
 * events, sync and list, artifacts, and the ask flow (`_node.ask`, `synapse.ask`). All unpublished.
 *
 * @module
 */
import type { EndpointRegistry } from "../rpc/endpoints.ts";
import type { ArtifactStore } from "./artifacts.ts";
import type { Conversations } from "./conversations.ts";
import { ConversationEndpoint } from "./contracts.ts";
import { EndpointError, ErrorCode } from "../errors.ts";

/** Register the conversation, artifact and ask endpoints, and the broadcast observer. */
export function registerConversationEndpoints(registry: EndpointRegistry, conversations: Conversations, artifacts: ArtifactStore): void {
  registry.builtin(ConversationEndpoint.Reply, "Record and forward a broadcast reply", ["nonce", "peer", "result"], ([nonce, peer, result]) =>
    conversations.receiveReply(nonce, peer, result),
  );
  registry.builtin(ConversationEndpoint.Event, "Store and gossip a conversation event", ["event"], ([event]) =>
    conversations.receiveEvent(event),
  );
  registry.builtin(ConversationEndpoint.Sync, "Events of a conversation after a time", ["conversation_id", "since"], async ([id, since]) => {
    if (typeof id !== "string" || id.length === 0) throw new EndpointError(ErrorCode.BadRequest, "conversation_id must be a non-empty string");
    if (since !== undefined && since !== null && (typeof since !== "number" || Number.isNaN(since))) {
      throw new EndpointError(ErrorCode.BadRequest, "since must be a number");
    }
    return { events: await conversations.conversation(id, (since as number | null | undefined) ?? 0) };
  });
  registry.builtin(ConversationEndpoint.List, "Known conversation ids", [], () => conversations.list());

  registry.builtin("_synapse.artifacts", "Artifact descriptors", [], () => artifacts.list());
  registry.builtin("_synapse.artifact.get", "One artifact with its content", ["name"], ([name]) =>
    artifacts.get(String(name)),
  );

  registry.builtin("_node.ask", "Run the node's ask handler", ["task", "context"], ([task, context]) =>
    conversations.asks.direct(task, context),
  );
  registry.builtin("synapse.ask", "Ask, directly or as part of a broadcast (deferred reply)", ["task", "context"], ([task, context], ctx) =>
    ctx.broadcast ? conversations.asks.inBroadcast(task, context, ctx.broadcast) : conversations.asks.direct(task, context),
  );

  registry.onBroadcast = (broadcast, request, kwargs) => conversations.observe(broadcast, request.endpoint, request.args, kwargs);
}
