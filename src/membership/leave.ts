/**
 * Leaving the swarm gracefully: a stopping node calls `_synapse.leave(peer)` on each peer known to
 * answer it, so those peers drop it at once instead of after their peer timeout; and the check a
 * receiver makes before it believes a leave.
 *
 * Only Bun peers are told: a peer counts as one when its hello answer offered the `leave` feature
 * (on a connection this node opened) or its mDNS `ext` key lists `leave`. A Python node is never
 * sent the endpoint (it would answer `bad_request`, harmlessly, but the wire contract is to send it
 * nothing it does not know). A peer whose kind is unknown (it called this node but was never
 * called back) is not told: it drops this node after its peer timeout, as before.
 *
 * The whole leave is best-effort and bounded by {@link LEAVE_TIMEOUT}: `stop()` never waits longer
 * for it, and a peer that does not answer in time is simply left to its timeout.
 *
 * @module
 */
import { createLogger } from "../log.ts";
import type { Peer } from "../types.ts";
import { errorMessage } from "../util/guards.ts";
import { LEAVE_ENDPOINT } from "../wire/protocol.ts";
import { fromPeerAddress, plainAddress, type PeerEntry } from "./peer-table.ts";

const log = createLogger("membership");

/** Seconds a stopping node gives its leave calls, all of them together. */
export const LEAVE_TIMEOUT = 0.5;

/** The hello feature and the mDNS extension that say "this peer answers `_synapse.leave`". */
export const LEAVE_FEATURE = "leave";

/** What sending the leave needs of membership. */
export interface LeaveHost {
  /** This node's record (the leave's one argument). */
  self(): Peer;
  /** The known peers. */
  entries(): PeerEntry[];
  /**
   * What the peer at `host:port` answered to this node's hello, or null when no multiplexed
   * connection to it was ever negotiated (a Python peer, or one never called).
   */
  features(host: string, port: number): Readonly<Record<string, unknown>> | null;
  /** Call `endpoint` on a known peer, waiting at most `timeout` seconds. */
  call(entry: PeerEntry, endpoint: string, args: unknown[], timeout: number): Promise<unknown>;
}

/** True when `entry` is known to answer `_synapse.leave` (its hello or its mDNS `ext` said so). */
export function speaksLeave(entry: PeerEntry, features: LeaveHost["features"]): boolean {
  if (entry.extensions.includes(LEAVE_FEATURE)) return true;
  for (const host of [entry.dialHost, entry.fallbackHost]) {
    if (host !== null && features(host, entry.peer.port)?.[LEAVE_FEATURE] === true) return true;
  }
  return false;
}

/**
 * Tell every known peer that speaks the extension that this node leaves, concurrently, and
 * resolve after all answered or `timeout` seconds, whichever comes first. Never rejects.
 *
 * @returns the ids of the peers that acknowledged the leave.
 */
export async function sendLeave(host: LeaveHost, timeout: number = LEAVE_TIMEOUT): Promise<string[]> {
  const targets = host.entries().filter((entry) => speaksLeave(entry, host.features));
  if (targets.length === 0 || timeout <= 0) return [];
  const self = host.self();
  const told: string[] = [];
  const calls = targets.map(async (entry) => {
    try {
      await host.call(entry, LEAVE_ENDPOINT, [self], timeout);
      told.push(entry.peer.id);
    } catch (error) {
      log.debug(`leave to ${entry.peer.name || entry.peer.id.slice(0, 8)} failed: ${errorMessage(error)}`);
    }
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const budget = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeout * 1000);
  });
  await Promise.race([Promise.all(calls), budget]);
  clearTimeout(timer);
  return [...told];
}

/**
 * Why a leave for `entry`, received from `remoteAddress`, is not believed; null when it is.
 *
 * The open protocol has no signatures, so the one check available is where the call came from:
 * the caller's address must be the peer's own (its advertised address, or any address of this
 * host when the peer runs on this host). A node elsewhere cannot make another node leave; a process
 * on the peer's own host (or one that can forge its address) still can, as it could already
 * answer heartbeats in its name.
 */
export function leaveRefusal(entry: PeerEntry, remoteAddress: string): string | null {
  if (fromPeerAddress({ address: entry.peer.address, dialHost: entry.dialHost, fallbackHost: entry.fallbackHost }, remoteAddress)) return null;
  return `the leave for ${entry.peer.id.slice(0, 8)} came from ${plainAddress(remoteAddress)}, not from that peer's address`;
}
