/**
 * The built-in endpoints of the conversation layer (PROTOCOL.md): broadcast replies, conversation
 * events, sync and list, artifacts, and the ask flow (`_node.ask`, `synapse.ask`). All unpublished.
 *
 * @module
 */
import type { CallContext, EndpointRegistry } from "../rpc/endpoints.ts";
import type { ArtifactStore } from "./artifacts.ts";
import { ConversationEndpoint, type Conversations } from "./conversations.ts";
import { EndpointError } from "../errors.ts";

/** Split a handler's arguments into the positional values and the trailing {@link CallContext}. */
function split(args: unknown[]): [unknown[], CallContext] {
  return [args.slice(0, -1), args[args.length - 1] as CallContext];
}

/** Register the conversation, artifact and ask endpoints, and the broadcast observer. */
export function registerConversationEndpoints(registry: EndpointRegistry, conversations: Conversations, artifacts: ArtifactStore): void {
  const hidden = (description: string, params: string[]) => ({ publish: false, description, params });

  registry.register(ConversationEndpoint.Reply, hidden("Record and forward a broadcast reply", ["nonce", "peer", "result"]), (...args: unknown[]) => {
    const [[nonce, peer, result]] = split(args);
    return conversations.receiveReply(nonce, peer, result);
  });
  registry.register(ConversationEndpoint.Event, hidden("Store and gossip a conversation event", ["event"]), (...args: unknown[]) => {
    const [[event]] = split(args);
    return conversations.receiveEvent(event);
  });
  registry.register(ConversationEndpoint.Sync, hidden("Events of a conversation after a time", ["conversation_id", "since"]), async (...args: unknown[]) => {
    const [[id, since]] = split(args);
    if (typeof id !== "string" || id.length === 0) throw new EndpointError("bad_request", "conversation_id must be a non-empty string");
    if (since !== undefined && since !== null && (typeof since !== "number" || Number.isNaN(since))) {
      throw new EndpointError("bad_request", "since must be a number");
    }
    return { events: await conversations.conversation(id, (since as number | null | undefined) ?? 0) };
  });
  registry.register(ConversationEndpoint.List, hidden("Known conversation ids", []), () => conversations.list());

  registry.register("_synapse.artifacts", hidden("Artifact descriptors", []), () => artifacts.list());
  registry.register("_synapse.artifact.get", hidden("One artifact with its content", ["name"]), (...args: unknown[]) => {
    const [[name]] = split(args);
    return artifacts.get(String(name));
  });

  registry.register("_node.ask", hidden("Run the node's ask handler", ["task", "context"]), (...args: unknown[]) => {
    const [[task, context]] = split(args);
    return conversations.askDirect(task, context);
  });
  registry.register("synapse.ask", hidden("Ask, directly or as part of a broadcast (deferred reply)", ["task", "context"]), (...args: unknown[]) => {
    const [[task, context], ctx] = split(args);
    return ctx.broadcast ? conversations.askBroadcast(task, context, ctx.broadcast) : conversations.askDirect(task, context);
  });

  registry.onBroadcast = (broadcast, request, kwargs) => conversations.observe(broadcast, request.endpoint, request.args, kwargs);
}
