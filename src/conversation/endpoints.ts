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
import { broadcastMacs, broadcastSignature } from "./signing.ts";
import { keptVector } from "../security/mac-vector.ts";
import { EndpointError, ErrorCode } from "../errors.ts";
import { below, listPage, plainListAnswer, plainSyncAnswer, readListPage, readSyncPage, syncPage } from "./paging.ts";

/** Register the conversation, artifact and ask endpoints, and the broadcast observer. */
export function registerConversationEndpoints(registry: EndpointRegistry, conversations: Conversations, artifacts: ArtifactStore): void {
  // `sig` is the Bun extension of signed records (hello feature `signed`, docs/security.md), `mac`
  // that of record MACs (hello feature `mac`, docs/security.md#record-macs).
  registry.builtin(ConversationEndpoint.Reply, "Record and forward a broadcast reply", ["nonce", "peer", "result", "sig", "mac"], ([nonce, peer, result, sig, mac]) =>
    conversations.receiveReply(nonce, peer, result, sig, keptVector(mac)),
  );
  registry.builtin(ConversationEndpoint.Event, "Store and gossip a conversation event", ["event"], ([event]) =>
    conversations.receiveEvent(event),
  );
  // Bun extension (hello feature `batch`, docs/protocol.md): only Bun peers that saw this node offer
  // it call it; `from` is the caller's node id, `have` the digest of what it holds (dissemination.ts).
  // `refs: true` asks for replies by reference in the answer (hello feature `reply_ref`); `window`
  // says that `have` lists the caller's items of the last that many seconds (hello feature `have_window`);
  // `tree` makes it a call down a reply tree, the ids of the group to send the items on to (hello feature `reply_tree`).
  registry.builtin(ConversationEndpoint.Batch, "Store and disseminate a batch of events and replies", ["items", "from", "have", "refs", "window", "tree"], ([items, from, have, refs, window, tree]) =>
    conversations.serveBatch(items, from, have, refs, window, tree),
  );
  // `page` is the Bun extension (hello feature `sync_pages`, docs/protocol.md); a Python caller
  // never sends it and gets the plain answer, trimmed to fit in one frame.
  registry.builtin(ConversationEndpoint.Sync, "Events of a conversation after a time", ["conversation_id", "since", "page"], async ([id, since, page]) => {
    if (typeof id !== "string" || id.length === 0) throw new EndpointError(ErrorCode.BadRequest, "conversation_id must be a non-empty string");
    if (since !== undefined && since !== null && (typeof since !== "number" || Number.isNaN(since))) {
      throw new EndpointError(ErrorCode.BadRequest, "since must be a number");
    }
    const after = (since as number | null | undefined) ?? 0;
    if (page === undefined || page === null) return plainSyncAnswer(id, await conversations.conversation(id, after));
    const request = readSyncPage(page);
    const from = request.cursor ? Math.max(after, below(request.cursor[0])) : after;
    return syncPage(id, await conversations.conversation(id, from), request);
  });
  registry.builtin(ConversationEndpoint.List, "Known conversation ids", ["page"], async ([page]) => {
    const ids = await conversations.list();
    return page === undefined || page === null ? plainListAnswer(ids) : listPage(ids, readListPage(page));
  });

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

  registry.onBroadcast = (broadcast, request, kwargs) =>
    conversations.observe(broadcast, request.endpoint, request.args, kwargs, broadcastSignature(request.kwargs.broadcast), broadcastMacs(request.kwargs.broadcast));
}
