/**
 * The SWIM configuration the simulation runs: the node's own (`swimConfig`, what a `Node` in gossip
 * mode gives its core) at the real-node bench's settings, heartbeat interval 1 s and peer timeout
 * 4 s, with room for 20,000 members (a 10,000-node deployment raises `maxPeers` so).
 *
 * @module
 */
import { swimConfig } from "../../src/membership/gossip.ts";
import { membershipTiming } from "../../src/membership/options.ts";
import { DEFAULT_SWIM_CONFIG, type SwimConfig } from "../../src/membership/swim-types.ts";

/** Heartbeat interval and peer timeout of the simulated nodes, seconds. */
export const HEARTBEAT_INTERVAL = 1;
export const PEER_TIMEOUT = 4;

const timing = membershipTiming({ heartbeatInterval: HEARTBEAT_INTERVAL, peerTimeout: PEER_TIMEOUT });

/** Every field, as the core sees it. */
export const SIM_CONFIG: Readonly<SwimConfig> = Object.freeze({
  ...DEFAULT_SWIM_CONFIG,
  ...swimConfig({ heartbeatInterval: HEARTBEAT_INTERVAL, heartbeatTimeout: timing.heartbeatTimeout, peerTimeout: PEER_TIMEOUT, maxPeers: 20_000 }),
});
