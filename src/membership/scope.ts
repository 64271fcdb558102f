/**
 * Who may be a member: the swarm/team check a node applies to every peer it learns of, with the
 * Python wording of the refusal (peers and tests read it).
 *
 * @module
 */
import { EndpointError, ErrorCode } from "../errors.ts";
import type { Peer } from "../types.ts";

/** Refusal text of a joining peer whose swarm differs (Python's wording). */
export const DIFFERENT_SWARM = "peer requested a different swarm";
/** Refusal text of a joining peer whose team differs (Python's wording). */
export const DIFFERENT_TEAM = "peer requested a different team";

/** Which swarm and team a node belongs to; `null` accepts any. */
export interface MembershipScope {
  readonly swarm: string | null;
  readonly team: string | null;
}

/**
 * Why `peer` may not join a node of `scope`, or `null` when it may. A node whose swarm (team) is
 * null accepts any swarm (team); otherwise the peer's must be equal, and nil is refused.
 */
export function membershipRefusal(scope: MembershipScope, peer: Pick<Peer, "swarm" | "team">): string | null {
  if (scope.swarm !== null && peer.swarm !== scope.swarm) return DIFFERENT_SWARM;
  if (scope.team !== null && peer.team !== scope.team) return DIFFERENT_TEAM;
  return null;
}

/**
 * Throw the `bad_request` a Python node answers when `peer` is not of this node's swarm and team.
 *
 * @throws {EndpointError} `bad_request` "peer requested a different swarm" / "... different team".
 */
export function checkMembership(scope: MembershipScope, peer: Pick<Peer, "swarm" | "team">): void {
  const refusal = membershipRefusal(scope, peer);
  if (refusal) throw new EndpointError(ErrorCode.BadRequest, refusal);
}
