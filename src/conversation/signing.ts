/**
 * The conversation layer's side of signed records (`security/records.ts`, docs/security.md): which
 * peers take the Bun-only `sig` keyword argument, and the keyword arguments a reply or a broadcast
 * call carries to each peer. The signing and checking themselves are {@link SignedRecords}'.
 *
 * A signature in a keyword argument goes only to a peer known to take it: in a closed swarm every
 * peer (all are Bun nodes), in an open one a peer whose hello answer offered the `signed` feature.
 * A Python node would refuse the unknown keyword, so it is never sent one; an event's signature
 * travels in its `metadata`, which Python passes through, to everyone.
 *
 * @module
 */
import type { ConversationEvent, Peer } from "../types.ts";
import type { Kwargs } from "../wire/messages.ts";
import { SIG_KEY, SignedRecords, eventBytes, replyBytes, signatureBytes } from "../security/records.ts";
import type { ConversationHost } from "./contracts.ts";
import type { RecordMacs } from "../security/record-macs.ts";
import { keptVector } from "../security/mac-vector.ts";

/** A non-signing, open-swarm checker: what a conversation layer without `host.records` uses. */
export function openRecords(): SignedRecords {
  return new SignedRecords({ identity: null, closed: false });
}

/**
 * Whether a peer's hello answered `feature` (null when the node has no connection to it yet), and
 * when not yet known, a ping first: it opens the connection, whose hello tells. A failed ping only
 * means "not known": the caller then sends the plain call every peer takes.
 */
export async function peerOffers(
  host: Pick<ConversationHost, "call">,
  offers: ((peer: Pick<Peer, "address" | "port">) => boolean | null) | undefined,
  peer: Pick<Peer, "address" | "port">,
): Promise<boolean> {
  if (!offers) return false;
  let known = offers(peer);
  if (known === null) {
    await host.call(peer, "_synapse.ping", [], {}).catch(() => undefined);
    known = offers(peer);
  }
  return known === true;
}

/** Keyword arguments that depend on the peer (a promise only while the peer's features are unknown). */
export type PerPeerKwargs = (peer: Peer) => Kwargs | Promise<Kwargs>;

/** Which peers take a signature as a keyword argument, and the keyword arguments each gets. */
export class SignatureRoutes {
  /** The MAC recipients listed last, and the host's {@link ConversationHost.peersVersion} they were listed at. */
  private recipients: { version: number; ids: readonly string[] } | null = null;

  constructor(
    private readonly host: Pick<ConversationHost, "call" | "signs" | "peers" | "peerCount" | "peerIds" | "peersVersion" | "macs">,
    readonly records: SignedRecords,
  ) {}

  /**
   * True when `peer` takes the `sig` keyword argument (always in a closed swarm); a promise only
   * while it is not known yet (see {@link peerOffers}), so that the hot path stays synchronous.
   */
  takesSignature(peer: Peer): boolean | Promise<boolean> {
    if (this.records.closed) return true;
    if (!this.host.signs) return false;
    const known = this.host.signs(peer);
    return known === null ? peerOffers(this.host, this.host.signs.bind(this.host), peer) : known;
  }

  /**
   * The keyword arguments of a call for each peer: `kwargs`, plus `signed` for the peers that take
   * a signature (nothing extra when there is no signature), and `withMacs` (`signed` with the
   * record's MACs) instead for those whose hello offered `mac`.
   */
  perPeer(kwargs: Kwargs, signed: Kwargs | null, withMacs: Kwargs | null = null): Kwargs | PerPeerKwargs {
    if (signed === null) return kwargs;
    const choose = (yes: boolean, peer: Peer) => (!yes ? kwargs : withMacs && this.host.macs?.(peer) === true ? withMacs : signed);
    return (peer) => {
      const takes = this.takesSignature(peer);
      return typeof takes === "boolean" ? choose(takes, peer) : takes.then((yes) => choose(yes, peer));
    };
  }

  /**
   * The keyword arguments of `_synapse.broadcast.reply` for each peer: `result`, `sig` for those
   * that take it, and `mac` (the replier's record MACs, relayed as they came) for those that take MACs.
   */
  replyKwargs(result: unknown, sig: unknown, mac?: Uint8Array | null): Kwargs | PerPeerKwargs {
    const kwargs = { result: result ?? null };
    const bytes = signatureBytes(sig);
    const signed = bytes ? { ...kwargs, sig: bytes } : null;
    return this.perPeer(kwargs, signed, signed && mac ? { ...signed, mac } : null);
  }

  /**
   * The ids record MACs are made for: the known peers (those with a bound MAC key get one,
   * record-macs.ts); null past the recipient cap (no MACs: the peers are counted, not listed). The
   * list is kept while the host's peers stay the same ones (no record copied per signed record),
   * and shared: read-only.
   */
  private macRecipients(macs: RecordMacs): readonly string[] | null {
    if (this.host.peerCount && this.host.peerCount() > macs.maxRecipients) return null;
    const version = this.host.peersVersion?.();
    let ids = version !== undefined && this.recipients?.version === version ? this.recipients.ids : null;
    if (ids === null) {
      ids = this.host.peerIds ? this.host.peerIds() : this.host.peers().map((p) => p.id);
      this.recipients = version === undefined ? null : { version, ids };
    }
    return ids.length > macs.maxRecipients ? null : ids;
  }

  /** The MAC vector of this node's signed event, or null (no MACs, no peer with a bound key). */
  eventMacs(event: ConversationEvent): Uint8Array | null {
    const macs = this.records.macs;
    const sig = macs && signatureBytes(event.metadata[SIG_KEY]);
    const to = sig && this.macRecipients(macs!);
    return to ? macs!.tags(eventBytes(event), sig!, to) : null;
  }

  /** The MAC vector of this node's reply to `nonce` signed as `sig`, or null (as {@link eventMacs}). */
  replyMacs(nonce: string, result: unknown, sig: unknown): Uint8Array | null {
    const macs = this.records.macs;
    const bytes = macs && signatureBytes(sig);
    const to = bytes && this.macRecipients(macs!);
    return to ? macs!.tags(replyBytes(nonce, macs!.id, result), bytes!, to) : null;
  }

  /**
   * The keyword arguments of a broadcast call for each peer: the opening message's signature rides
   * in the broadcast map (a Bun-only key `sig`) to the peers that take it, and its record MACs (key
   * `mac`) to those that take MACs.
   */
  broadcastKwargs(plain: Kwargs, message: ConversationEvent): Kwargs | PerPeerKwargs {
    const sig = signatureBytes(message.metadata[SIG_KEY]);
    if (!sig) return plain;
    const mac = this.eventMacs(message);
    const signed = { ...plain, broadcast: { ...(plain.broadcast as object), sig } };
    return this.perPeer(plain, signed, mac ? { ...plain, broadcast: { ...(plain.broadcast as object), sig, mac } } : null);
  }
}

/** The record MACs a broadcast map carries (its Bun-only `mac` key), kept when well-formed, else null. */
export function broadcastMacs(map: unknown): Uint8Array | null {
  return map !== null && typeof map === "object" ? keptVector((map as Record<string, unknown>).mac) : null;
}

/** The signature a broadcast map carries (its Bun-only `sig` key), or undefined. */
export function broadcastSignature(map: unknown): unknown {
  return map !== null && typeof map === "object" ? (map as Record<string, unknown>).sig : undefined;
}
