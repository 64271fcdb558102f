/**
 * The reply tree (hello feature `reply_tree`, Bun peers only; docs/conversations.md#the-reply-tree):
 * a broadcast's origin, which every replier calls directly anyway, sends the replies it got on to
 * the swarm down a tree, instead of each reply spreading from its replier by the push-pull rounds.
 * Each round the origin splits the Bun peers that offered the feature into at most
 * {@link TREE_FANOUT} groups and makes one `_synapse.conversation.batch` call to the first peer of
 * each group, carrying the round's new replies and `tree`: the ids of the rest of the group. A peer
 * that gets such a call files the replies and sends the same bytes on to its group the same way
 * (split again when it holds more than {@link TREE_FANOUT}), before it answers; it answers nothing,
 * and the replies it got so are not pushed on by its rounds. A call that fails sends the group on
 * from the caller, its next peer first: no peer of a group is lost with its head.
 *
 * So every reply crosses each link once (no copies), a node makes at most {@link TREE_FANOUT} calls
 * for a round's replies (more only to send a failed call's group on), and every node holds them two
 * calls after the origin's round up to 272 peers (three up to 4,368). The push-pull rounds stay the
 * repair: a node pulls 12 and 25 rounds after its last news, and a replier keeps its reply
 * remembered for pulls.
 *
 * @module
 */
import type { Peer } from "../types.ts";
import { EndpointError, ErrorCode } from "../errors.ts";
import { createLogger } from "../log.ts";
import { errorMessage } from "../util/guards.ts";
import { MAX_ID_LENGTH } from "../wire/peer.ts";
import { BinParts } from "../wire/bin-parts.ts";
import { encodeOwn } from "../wire/codec.ts";
import { binHeaderSize, writeBinHeader } from "../wire/fast-codec.ts";
import { toRefWire, withoutMac } from "./batch-items.ts";
import type { Entry } from "./item-memory.ts";
import { ENTRY_BYTES, entriesByHint, hintOf, vectorOf } from "../security/mac-vector.ts";
import { ConversationEndpoint, type ConversationHost } from "./contracts.ts";
import type { DisseminationStats } from "./dissemination-ports.ts";
import type { PeerView } from "./peer-view.ts";

const log = createLogger("conversation");

/** Calls a node makes for one round's replies down the tree, at most: the groups it splits its peers into. */
export const TREE_FANOUT = 16;
/** Ids a `tree` list may hold, at most (a longer one is refused with `bad_request`). */
export const MAX_TREE_IDS = 65_536;

/** `members` split into at most `fanout` groups of consecutive peers: each group's first peer (`head`) and the rest. */
export function groups<T>(members: readonly T[], fanout = TREE_FANOUT): Array<{ head: T; rest: T[] }> {
  const size = Math.ceil(members.length / fanout);
  const out: Array<{ head: T; rest: T[] }> = [];
  for (let at = 0; at < members.length; at += size) out.push({ head: members[at]!, rest: members.slice(at + 1, at + size) });
  return out;
}

/**
 * The `tree` keyword argument of a batch call as ids: a list of non-empty strings of at most 256
 * characters (node ids), at most {@link MAX_TREE_IDS}.
 *
 * @throws {EndpointError} `bad_request` for anything else.
 */
export function readTreeIds(tree: unknown): string[] {
  if (!Array.isArray(tree) || tree.length > MAX_TREE_IDS) throw new EndpointError(ErrorCode.BadRequest, `invalid conversation batch: tree must be a list of at most ${MAX_TREE_IDS} node ids`);
  for (const id of tree) {
    if (typeof id !== "string" || id.length === 0 || id.length > MAX_ID_LENGTH) throw new EndpointError(ErrorCode.BadRequest, "invalid conversation batch: tree must hold node ids (non-empty strings)");
  }
  return tree as string[];
}

/** Shuffle `peers` in place (Fisher-Yates): each round's tree has other heads, so no peer relays every round. */
export function shuffle<T>(peers: T[]): T[] {
  for (let i = peers.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    const t = peers[i]!;
    peers[i] = peers[j]!;
    peers[j] = t;
  }
  return peers;
}

/** An item's bytes split before its MAC vector's `bin` (its last value): the bytes up to it, the vector, where its entries are by hint. */
interface AtMacs {
  head: Uint8Array;
  vector: Uint8Array;
  entries: Map<number, number>;
}

/** Where {@link splitAtMacs} writes the header it looks for (read at once). */
const expectedHeader = new Uint8Array(5);

/**
 * `bytes` (an item's) split before `vector` when the item ends with it, as every item this node
 * encodes does (its `mac` is the last key written: {@link toRefWire}); null otherwise (its bytes came
 * from elsewhere in another order, or two of its entries share a hint): the item then goes whole.
 */
function splitAtMacs(bytes: Uint8Array, vector: Uint8Array | null | undefined): AtMacs | null {
  const entries = vector ? entriesByHint(vector) : null;
  if (!vector || !entries) return null;
  const at = bytes.length - vector.length;
  const h = writeBinHeader(expectedHeader, 0, vector.length);
  if (at - h < 0) return null;
  for (let i = 0; i < h; i++) if (bytes[at - h + i] !== expectedHeader[i]) return null;
  for (let i = 0; i < vector.length; i++) if (bytes[at + i] !== vector[i]) return null;
  return { head: bytes.subarray(0, at - h), vector, entries };
}

/**
 * The round's items (`entries`, as bytes in `parts`: those of {@link packFor}, in their order,
 * ref and MAC form) for each group of a tree: every item's MAC vector cut to the entries of the
 * group's members ({@link vectorOf}), since nobody else reads them on that path (at 50 peers a
 * reply's kilobyte of tags becomes at most 81 bytes for a group of four); an item none of whose tags
 * is for the group goes without `mac`. Null when no item carries a vector to cut.
 */
export function cutPerGroup(entries: readonly Entry[], parts: readonly Uint8Array[]): ((group: readonly Peer[]) => BinParts) | null {
  const split = parts.map((bytes, i) => splitAtMacs(bytes, entries[i]!.item.mac));
  if (split.every((s) => s === null)) return null;
  const bare: Array<Uint8Array | undefined> = [];
  return (group) => {
    const hints = group.map((peer) => hintOf(peer.id));
    const out: Uint8Array[] = [];
    for (let i = 0; i < parts.length; i++) {
      const s = split[i];
      if (!s) {
        out.push(parts[i]!);
        continue;
      }
      const offsets: number[] = [];
      for (const hint of hints) {
        const at = s.entries.get(hint);
        if (at !== undefined) offsets.push(at);
      }
      if (offsets.length === 0) {
        // Not a vector of no entry (a receiver reads that as a malformed one): the item without MACs, encoded once a round.
        out.push((bare[i] ??= encodeOwn(withoutMac(toRefWire(entries[i]!.item)))));
        continue;
      }
      // The vector's bin header and its cut entries in one array.
      const length = 1 + offsets.length * ENTRY_BYTES;
      const cut = vectorOf(s.vector, offsets, binHeaderSize(length));
      writeBinHeader(cut, 0, length);
      out.push(s.head, cut);
    }
    return new BinParts(out);
  };
}

/** How {@link ReplyTree.send} sends. */
export interface SendOptions {
  /**
   * What to do when a lone peer's call fails (a peer that was not connected when the round began:
   * it is then sent the items by a batch call).
   */
  refused?: (peer: Peer) => void;
  /** The items for a group, when they are cut to it ({@link cutPerGroup}); a failed call's group is sent on with its own. */
  cut?: ((group: readonly Peer[]) => BinParts) | null;
  /**
   * Ids of a tree call's group that this node does not know: named behind the first group it calls,
   * whose head may know them (a relay's view of the swarm may lag the origin's), not dropped here:
   * should that call fail they go with its group sent on from here or, a lone head, to the next head
   * called that answers.
   */
  passOn?: readonly string[];
}

/** What a peer view's peers are to the tree, for items with MACs or without: worked out once per view and split. */
interface ViewLook {
  view: PeerView;
  splitAt: number;
  macs: boolean;
  /** The Bun peers that take tree calls, in the view's order. */
  members: Peer[];
  /** The Bun peers of the view (batching, or not connected yet) that do not take them. */
  others: Peer[];
  /** Ids of the peers known not to take them. */
  refusing: Set<string>;
}

/** One node's calls down reply trees: as the origin of a round's replies, and as a relay of another's. */
export class ReplyTree {
  /** Tree calls not answered yet (a flush waits for them). */
  inFlight = 0;
  /** The last view looked at (the features are the pool's to tell, each a lookup: not made per round and peer). */
  private look: ViewLook | null = null;

  constructor(
    private readonly host: Pick<ConversationHost, "call" | "replyTree" | "itemBytes" | "replyRefs" | "macs">,
    private readonly selfId: () => string,
    private readonly track: (work: Promise<unknown>) => void,
    private readonly stats: Pick<DisseminationStats, "batchesSent" | "eventsForwarded">,
  ) {}

  /**
   * Whether `peer` takes tree calls in the form this node sends them: true when it offered
   * `reply_tree`, `item_bytes` and `reply_ref` (and `mac` when the items carry MACs, `macs`), false
   * when its hello lacked one of them, null while this node has no connection to it.
   */
  takes(peer: Peer, macs: boolean): boolean | null {
    // Feature by feature, the first one known to be lacking decides: no array nor closure per peer.
    const h = this.host;
    const tree = h.replyTree?.(peer);
    if (tree === false) return false;
    const bytes = h.itemBytes?.(peer);
    if (bytes === false) return false;
    const refs = h.replyRefs?.(peer);
    if (refs === false) return false;
    const mac = macs ? h.macs?.(peer) : true;
    if (mac === false) return false;
    return tree === true && bytes === true && refs === true && mac === true ? true : null;
  }

  /**
   * The peers of `view` that take tree calls ({@link takes}), its other Bun peers, and the ids of
   * those known not to take them: worked out again only when the view is another or was split
   * again (a peer connected), or for the other form.
   */
  lookAt(view: PeerView, macs: boolean): ViewLook {
    const l = this.look;
    if (l !== null && l.view === view && l.splitAt === view.splitAt && l.macs === macs) return l;
    const members: Peer[] = [];
    const others: Peer[] = [];
    const refusing = new Set<string>();
    for (const list of [view.batch, view.unknown, view.plain]) {
      for (const peer of list) {
        const takes = this.takes(peer, macs);
        if (takes === true) members.push(peer);
        else {
          if (list !== view.plain) others.push(peer);
          if (takes === false) refusing.add(peer.id);
        }
      }
    }
    const look = { view, splitAt: view.splitAt, macs, members, others, refusing };
    this.look = look;
    return look;
  }

  /**
   * Send `items` (`count` of them, as bytes) to every peer of `members` down a tree: one call to the
   * head of each of at most {@link TREE_FANOUT} groups, with the rest of its group (see
   * {@link SendOptions}).
   */
  send(items: BinParts | Uint8Array, count: number, members: readonly Peer[], options: SendOptions = {}): void {
    const { cut, passOn } = options;
    const split = groups(members);
    for (let i = 0; i < split.length; i++) {
      const { head, rest } = split[i]!;
      const group = cut ? cut(rest.length === 0 ? [head] : [head, ...rest]) : items;
      // Ids passed on ride with the first group alone: each goes on in one call. Should that group be
      // a lone peer whose call fails, the other heads are the ones to hand them to.
      if (i === 0 && passOn !== undefined && passOn.length > 0) {
        const spare = split.slice(1).map((g) => g.head);
        this.call(head, rest, group, count, options.refused, { ids: passOn, spare, items, cut: cut ?? null });
      } else this.call(head, rest, group, count, options.refused);
    }
  }

  /**
   * The tree call to `head`, the ids of `passing` named behind its group. Failed: its group goes on
   * from here (with those ids); a lone head's ids go to the first of `passing.spare` that answers,
   * each in a call of its own with no group of its own (it has the items already, or gets them).
   */
  private call(head: Peer, rest: Peer[], items: BinParts | Uint8Array, count: number, refused?: (peer: Peer) => void, passing?: Passing): void {
    this.stats.batchesSent++;
    this.stats.eventsForwarded += count;
    this.inFlight++;
    const tree: string[] = new Array(rest.length);
    for (let i = 0; i < rest.length; i++) tree[i] = rest[i]!.id;
    if (passing) for (const id of passing.ids) tree.push(id);
    const work = this.host
      .call(head, ConversationEndpoint.Batch, [items], { from: this.selfId(), refs: true, tree })
      .then(undefined, (error) => {
        log.debug(`reply tree call to ${head.name || head.id.slice(0, 8)} failed (${rest.length} behind it sent on from here): ${errorMessage(error)}`);
        if (rest.length > 0) this.send(items, count, rest, { refused, passOn: passing?.ids });
        else {
          refused?.(head);
          if (passing) this.handOn(passing, count);
        }
      })
      .finally(() => this.inFlight--);
    this.track(work);
  }

  /** Ids a failed lone head was to pass on: named to the next spare head, or left to their pulls when none is left. */
  private handOn(passing: Passing, count: number): void {
    const [next, ...spare] = passing.spare;
    if (next === undefined) {
      log.debug(`reply tree: ${passing.ids.length} peers unknown here not passed on (no head left to name them to; they pull the replies)`);
      return;
    }
    this.call(next, [], passing.cut ? passing.cut([next]) : passing.items, count, undefined, { ...passing, spare });
  }
}

/** Ids a tree call names behind its group for a node further down to send on ({@link SendOptions.passOn}), and where they go should that call fail. */
interface Passing {
  ids: readonly string[];
  /** Heads of the send's other groups, in order: a failed lone head's ids are handed to the first that answers. */
  spare: readonly Peer[];
  /** The send's items, and its cut per group (null: every group gets them whole). */
  items: BinParts | Uint8Array;
  cut: ((group: readonly Peer[]) => BinParts) | null;
}
