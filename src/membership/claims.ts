/**
 * Membership claims (docs/security.md): what a join or heartbeat record claims about its sender,
 * and when a claim would move a known peer's entry. A known peer's address or port changes only by
 * its owner's claim, signed when the owner is known to sign (`SignedRecords.claimRefusal`): news
 * of a move from anyone else (a peer list, mDNS) is not believed then.
 *
 * @module
 */
import { isWildcard } from "../address.ts";
import { createLogger } from "../log.ts";
import type { MemberClaim } from "../security/records.ts";
import type { Peer } from "../types.ts";
import type { PeerSource, PeerTable } from "./peer-table.ts";
import { plainAddress } from "./peer-table.ts";

const log = createLogger("membership");

/**
 * What a join or heartbeat record claims about its sender (what its signature covers). Its
 * `last_seen`, the time the sender made the record, is the claim's incarnation: a replayed older
 * claim cannot move the sender back to an old address.
 */
export function claimOf(peer: Peer): MemberClaim {
  return { id: peer.id, address: peer.address, port: peer.port, swarm: peer.swarm, team: peer.team, incarnation: peer.last_seen };
}

/** True when believing `peer`'s record would move its known entry to another address or port. */
export function moves(table: PeerTable, peer: Peer, remoteAddress?: string): boolean {
  const old = table.get(peer.id);
  if (!old) return false;
  let address = plainAddress(peer.address);
  if ((address === "" || isWildcard(address)) && remoteAddress) address = plainAddress(remoteAddress);
  return old.peer.address !== address || old.peer.port !== peer.port;
}

/**
 * True when second-hand news (a peer list, mDNS) would move a known peer that must sign its own
 * moves: the news is then not believed, and the peer's next signed heartbeat or join moves it. A
 * join or heartbeat is the owner's own claim, checked where it is received.
 */
export function secondHandMove(
  host: { claimRefusal?(claim: MemberClaim, sig: unknown, changes: boolean): string | null },
  table: PeerTable,
  peer: Peer,
  source: PeerSource,
  remoteAddress?: string,
): boolean {
  if (source === "join" || source === "heartbeat" || !moves(table, peer, remoteAddress)) return false;
  const refusal = host.claimRefusal?.(claimOf(peer), null, true) ?? null;
  if (refusal) log.debug(`not moving ${peer.id.slice(0, 8)} on news from ${source}: ${refusal}`);
  return refusal !== null;
}
