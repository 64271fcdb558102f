/**
 * The built-in endpoints of membership (PROTOCOL.md): `_synapse.join`, `_synapse.peers` and
 * `_synapse.heartbeat`, and this implementation's `_synapse.leave` (see `leave.ts`) and, in gossip
 * mode, `_synapse.swim.*` (see `gossip.ts`). All unpublished. A malformed peer record or a peer of another swarm/team
 * is answered with `bad_request` in the Python wording. Join answers and peer lists name at most
 * {@link MAX_LISTED_PEERS} peers (a random sample when more are known).
 *
 * @module
 */
import { EndpointError, ErrorCode } from "../errors.ts";
import type { EndpointRegistry } from "../rpc/endpoints.ts";
import type { Peer } from "../types.ts";
import { readPeer } from "../wire/peer.ts";
import { LEAVE_ENDPOINT, SWIM_ENDPOINTS } from "../wire/protocol.ts";
import { MAX_LISTED_PEERS } from "./bounds.ts";
import type { Membership } from "./membership.ts";
import { checkMembership, type MembershipScope } from "./scope.ts";

/** Register the membership endpoints of `membership` on `registry`. */
export function registerMembershipEndpoints(registry: EndpointRegistry, membership: Membership): void {
  const host = membership.host;
  registry.builtin("_synapse.join", "Join the swarm; answers this node and its peers", ["peer"], (args, ctx) => {
    const peer = peerArgument(host, "_synapse.join", args);
    membership.called(peer, "join", ctx.remote.address);
    // A sample of at most MAX_LISTED_PEERS: an answer never nears the frame limit, whatever the table holds.
    return { accepted: true, self: host.self(), peers: membership.table.sample(MAX_LISTED_PEERS) };
  });
  registry.builtin("_synapse.peers", "Known peers (a sample of at most 256)", [], () => membership.table.sample(MAX_LISTED_PEERS));
  // A Bun extension (sent only to peers whose hello or mDNS `ext` offered `leave`): the caller
  // stops and asks to be dropped now. Believed only from the peer's own address.
  registry.builtin(LEAVE_ENDPOINT, "Leave the swarm now (Bun extension)", ["peer"], (args, ctx) => {
    const peer = peerArgument(host, LEAVE_ENDPOINT, args);
    return { ok: true, removed: membership.left(peer, ctx.remote.address) };
  });
  // Gossip membership among Bun peers (sent only to peers whose hello offered `swim`).
  const gossip = membership.gossip;
  if (gossip) {
    for (const [kind, name] of Object.entries(SWIM_ENDPOINTS) as Array<[keyof typeof SWIM_ENDPOINTS, string]>) {
      registry.builtin(name, `Gossip membership: ${kind} (Bun extension)`, ["message"], (args, ctx) => gossip.receive(kind, args[0], ctx.remote.address));
    }
  }
  registry.builtin("_synapse.heartbeat", "Liveness: record the caller, answer this node's info", ["peer"], (args, ctx) => {
    const peer = peerArgument(host, "_synapse.heartbeat", args);
    membership.called(peer, "heartbeat", ctx.remote.address);
    return { ok: true, self: host.info() };
  });
}

/**
 * The one `peer` argument of a membership endpoint, read strictly and checked against this
 * node's swarm and team.
 *
 * @throws {EndpointError} `bad_request` (Python's wording) for a wrong argument count, a malformed
 * record or another swarm/team.
 */
function peerArgument(scope: MembershipScope, endpoint: string, given: unknown[]): Peer {
  if (given.length === 0) throw new EndpointError(ErrorCode.BadRequest, `${endpoint}() missing required argument: 'peer'`);
  if (given.length > 1) throw new EndpointError(ErrorCode.BadRequest, `${endpoint}() takes 1 argument (peer) but ${given.length} were given`);
  const peer = readPeer(given[0], { mode: "strict" });
  checkMembership(scope, peer);
  return peer;
}
