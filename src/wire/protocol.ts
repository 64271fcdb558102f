/**
 * Protocol facts both sides of a connection share, beyond framing and the message shapes: this
 * implementation's connection negotiation (the hello and the going-away) and how a response names
 * its call in its first bytes.
 *
 * @module
 */
import { ErrorCode, extensionReason } from "../errors.ts";

/** The extension endpoint a Bun node answers and a Python node refuses harmlessly. */
export const HELLO_ENDPOINT = "_synapse.hello";

/**
 * Features this implementation offers in the hello: `multiplex` (many calls on one connection) and
 * `leave` (it answers {@link LEAVE_ENDPOINT}).
 */
export const HELLO_FEATURES = ["multiplex", "leave"] as const;

/**
 * The hello feature of a Bun node that pages `_synapse.conversation.sync` and `.list` when asked
 * with the `page` keyword argument (docs/protocol.md). A node sends `page` only to peers whose hello
 * answer carried it: a Python node would refuse the unknown keyword. It is offered in the hello
 * answer only: the hello request's `features` list (HELLO_FEATURES) stays as it was, so its bytes do
 * not grow for a peer with a small `maxUploadSize`.
 */
export const SYNC_PAGES_FEATURE = "sync_pages";

/**
 * The hello feature of a Bun node that runs gossip (SWIM) membership (docs/membership.md): it
 * answers the `_synapse.swim.*` endpoints ({@link SWIM_ENDPOINTS}), and peers that both offered it
 * stop heartbeating each other and probe by SWIM instead. Offered in the hello answer only (as
 * {@link SYNC_PAGES_FEATURE}); a Python node never offers it, so it keeps its direct heartbeats.
 */
export const SWIM_FEATURE = "swim";

/**
 * The hello feature of a Bun node that reads SWIM member updates in the packed form: each update
 * one MessagePack `bin` holding the update's map with `id`, `incarnation` and `state` first, so that
 * a receiver skips old news without decoding its meta and signature (docs/membership.md). A node
 * sends packed updates in a request only to a peer whose hello answer carried it, and in an answer
 * only to a request that said `packed: true`; everyone reads both forms. Offered in the hello answer
 * only, beside {@link SWIM_FEATURE}.
 */
export const SWIM_PACKED_FEATURE = "swim_packed";

/**
 * The hello feature of a Bun node that answers a SWIM push-pull carrying a `digest` (of the asker's
 * members) with only what the asker lacks or holds older, and a `want` list of what it lacks itself
 * (docs/membership.md). A node sends a push-pull with the digest alone (not its whole state) only
 * to a peer whose hello answer carried it; to any other Bun peer the digest goes beside the whole
 * state (an older Bun node ignores it). Offered in the hello answer only, beside {@link SWIM_FEATURE}.
 */
export const SWIM_DIGEST_FEATURE = "swim_digest";

/**
 * The hello feature of a Bun node that reads a SWIM death in the lean form: one MessagePack `bin`
 * holding the array `[id, incarnation]` (about 70 bytes where a packed death is about 195: no
 * address, port or author, which a receiver does not need, since a death is news only about a
 * member it holds). A node sends lean deaths in a request only to a peer whose hello answer carried
 * it and {@link SWIM_PACKED_FEATURE}, and in an answer only to a request that said `lean: true`
 * (docs/membership.md). Offered in the hello answer only, beside {@link SWIM_FEATURE}.
 */
export const SWIM_LEAN_FEATURE = "swim_lean";

/**
 * The hello feature of a Bun node that reads a membership checksum (`sum`, an unsigned 32-bit
 * integer: the ids of the members its sender holds live, `membership/swim-sum.ts`) on SWIM's
 * pings, ping-reqs and gossip, and answers a ping or gossip that carried one with
 * an ack carrying its own (docs/membership.md). A node puts its checksum on a request only to a peer
 * whose hello answer carried it, and on an ack only when the request had one. Offered in the hello
 * answer only, beside {@link SWIM_FEATURE}.
 */
export const SWIM_SUM_FEATURE = "swim_sum";

/** The unpublished endpoints of gossip membership, by SWIM message kind (each takes one `message` map). */
export const SWIM_ENDPOINTS = {
  ping: "_synapse.swim.ping",
  ping_req: "_synapse.swim.ping_req",
  push_pull: "_synapse.swim.push_pull",
  gossip: "_synapse.swim.gossip",
} as const;

/**
 * The hello feature of a Bun node that takes `_synapse.conversation.batch` (many conversation
 * events and replies in one call; docs/protocol.md). Offered in the hello answer only, as
 * {@link SYNC_PAGES_FEATURE}; a node batches only towards peers whose answer carried it, so a
 * Python peer, which answers no hello, only ever gets the per-event calls.
 */
export const BATCH_FEATURE = "batch";

/**
 * The hello feature of a Bun node that takes broadcast replies by reference in
 * `_synapse.conversation.batch`: `{reply: {nonce, peer_id, result, sig?, mac?}}`, the replier's id
 * instead of its whole Peer record, the receiver filing the reply with its own record of the replier
 * (docs/protocol.md). A node sends such items in a request only to a peer whose hello answer carried
 * it, and in an answer only to a request that said `refs: true`; everyone who offers it reads both
 * forms. Offered in the hello answer only, as {@link BATCH_FEATURE}.
 */
export const REPLY_REF_FEATURE = "reply_ref";

/**
 * The hello feature of a Bun node that takes the items of `_synapse.conversation.batch` as bytes:
 * one MessagePack `bin` holding the items' encodings back to back (the same maps as the `items`
 * list), which relays send on as they came (docs/protocol.md). A node sends its items so only to a
 * peer whose hello answer carried it, and answers so exactly the requests that came so. Offered in
 * the hello answer only, as {@link BATCH_FEATURE}.
 */
export const ITEM_BYTES_FEATURE = "item_bytes";

/**
 * The hello feature of a Bun node that takes windowed digests in `_synapse.conversation.batch`:
 * `window: <seconds>` says that `have` lists only the items the caller learnt within that many
 * seconds, and the receiver answers only with items it learnt within about as long (docs/protocol.md).
 * A node sends `window` only to a peer whose hello answer carried it. Offered in the hello answer
 * only, as {@link BATCH_FEATURE}.
 */
export const HAVE_WINDOW_FEATURE = "have_window";

/**
 * The hello feature of a Bun node that sends the replies to its broadcasts on down a reply tree and
 * takes tree calls: `_synapse.conversation.batch` with `tree: [node ids]`, whose receiver files the
 * items, sends them on to those peers the same way, and answers no items (docs/protocol.md). A
 * replier whose broadcast's origin offered it sends its reply to the origin alone; a node sends a
 * tree call only to a peer that offered it (and `item_bytes` and `reply_ref`). Offered in the hello
 * answer only, as {@link BATCH_FEATURE}, by a node that batches and has the reply tree on.
 */
export const REPLY_TREE_FEATURE = "reply_tree";

/**
 * The built-in endpoints of the original protocol (`../shared/PROTOCOL.md`, "Built-in endpoints"),
 * which a Python node answers, each with its parameters' names in order: a Python node binds a
 * call's arguments to them as a Python function does, so it takes at most that many positional
 * arguments and no keyword outside them. Every other `_synapse.*` endpoint but the hello is an
 * extension of this implementation ({@link isExtensionEndpoint}).
 */
export const ORIGINAL_BUILTINS: ReadonlyMap<string, readonly string[]> = new Map<string, readonly string[]>([
  ["_synapse.ping", []],
  ["_synapse.info", []],
  ["_synapse.methods", []],
  ["_synapse.peers", []],
  ["_synapse.join", ["peer"]],
  ["_synapse.heartbeat", ["peer"]],
  ["_synapse.broadcast.reply", ["nonce", "peer", "result"]],
  ["_synapse.conversation.event", ["event"]],
  ["_synapse.conversation.sync", ["conversation_id", "since"]],
  ["_synapse.conversation.list", []],
  ["_synapse.artifacts", []],
  ["_synapse.artifact.get", ["name"]],
]);

/**
 * True for an endpoint only Bun nodes answer: a `_synapse.*` endpoint that is neither one of the
 * original protocol's built-ins ({@link ORIGINAL_BUILTINS}) nor the hello, which is sent to every
 * peer to tell them apart (`_synapse.swim.*`, `_synapse.conversation.batch`, `_synapse.leave`,
 * `_synapse.metrics`...). The connection pool never sends one to a peer that refused the hello (a
 * Python node): the call fails with an `UnsupportedError` (errors.ts) before any byte of it is written.
 */
export function isExtensionEndpoint(endpoint: string): boolean {
  return endpoint.startsWith("_synapse.") && endpoint !== HELLO_ENDPOINT && !ORIGINAL_BUILTINS.has(endpoint);
}

/**
 * Why a node of the original protocol would not take this call, or null when it would (as far as
 * the endpoint's name and arguments tell): an extension endpoint ({@link isExtensionEndpoint}), or
 * a built-in given more positional arguments than it has parameters, or a keyword argument it has
 * no parameter for (`sig`, `page`...: Bun extensions a layer adds for Bun peers only). User
 * endpoints and `_node.*` are the application's: null.
 */
export function originalRefusal(endpoint: string, args: readonly unknown[], kwargs: Readonly<Record<string, unknown>>): string | null {
  if (isExtensionEndpoint(endpoint)) return extensionReason(endpoint);
  const params = ORIGINAL_BUILTINS.get(endpoint);
  if (params === undefined) return null; // the hello, or the application's
  if (args.length > params.length) return `${endpoint} takes ${params.length} positional argument${params.length === 1 ? "" : "s"} there, not ${args.length}`;
  for (const key in kwargs) if (!params.includes(key)) return `${endpoint} takes no keyword argument ${key} there`;
  return null;
}

/**
 * The extension endpoint a stopping Bun node calls on the Bun peers that offered the `leave`
 * feature (in their hello answer, or the mDNS `ext` key): "I am leaving, drop me now" rather than
 * after the peer timeout. Never called on a Python node, which would answer it `bad_request`.
 */
export const LEAVE_ENDPOINT = "_synapse.leave";

/**
 * The wire error code a Bun server sends (with id "") to a client that said hello, before it
 * closes a connection gracefully (idle, or stopping). It promises that every request it received
 * before has been answered and that nothing after it will run, so the client resends whatever is
 * still unanswered on a fresh connection: nothing is lost and nothing runs twice.
 */
export const GOING_AWAY = ErrorCode.GoingAway;

/** Who is at the other end of a connection, as its socket reports it. */
export interface RemoteAddress {
  address: string;
  port: number;
}

/**
 * Bytes of an oversize response worth reading to find which call it answers: a map header, the
 * key "id" and an id of up to 64 characters (Python's) with its string header fit.
 */
export const RESPONSE_ID_PEEK = 128;

const utf8 = new TextDecoder();

/**
 * The id of a response from its first bytes, when the map's first key is "id" with a string value
 * wholly inside `head` (as Python and Bun peers write responses); otherwise null.
 */
export function peekResponseId(head: Uint8Array): string | null {
  let at: number;
  const b = head[0];
  if (b === undefined) return null;
  if (b >= 0x80 && b <= 0x8f) at = 1;
  else if (b === 0xde) at = 3;
  else if (b === 0xdf) at = 5;
  else return null;
  if (head[at] !== 0xa2 || head[at + 1] !== 0x69 || head[at + 2] !== 0x64) return null; // "id"
  at += 3;
  const t = head[at];
  let len: number;
  if (t === undefined) return null;
  if (t >= 0xa0 && t <= 0xbf) {
    len = t & 0x1f;
    at += 1;
  } else if (t === 0xd9 && at + 1 < head.length) {
    len = head[at + 1]!;
    at += 2;
  } else if (t === 0xda && at + 2 < head.length) {
    len = (head[at + 1]! << 8) | head[at + 2]!;
    at += 3;
  } else return null;
  if (at + len > head.length) return null;
  return utf8.decode(head.subarray(at, at + len));
}
