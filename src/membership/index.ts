/**
 * Swarm membership: seeds and peer exchange, heartbeats and offline detection, mDNS discovery.
 *
 * ```ts
 * const node = new Node({ swarm: "lab", seeds: ["10.0.0.5:9999"], mdns: true });
 * node.on("peer.joined", (peer) => console.log("hello", peer.name));
 * node.on("peer.offline", (peer) => console.log("bye", peer.name));
 * await node.start();
 * await node.join({ wait: 2 });
 * console.log([...node.peers.values()].map((p) => p.name));
 * ```
 *
 * @module
 */
export {
  Membership,
  type JoinOptions,
  type MembershipEvents,
  type MembershipHost,
  type MembershipOptions,
  type MembershipStats,
  type SeedStatus,
} from "./membership.ts";
export { Liveness } from "./heartbeat.ts";
export { PeerTable, dialTarget, plainAddress, type PeerEntry, type PeerSource, type UpsertResult } from "./peer-table.ts";
export {
  PEER_KEYS,
  DIFFERENT_SWARM,
  DIFFERENT_TEAM,
  checkMembership,
  membershipRefusal,
  parsePeer,
  readInfo,
  type MembershipScope,
} from "./peer-record.ts";
export { DEFAULT_SEED_PORT, parseSeed, parseSeeds, type Seed, type SeedLike } from "./seeds.ts";
export {
  DEFAULT_QUERY_SCHEDULE,
  MDNS_EXTENSIONS,
  MdnsDiscovery,
  SERVICE_TYPE,
  buildTxt,
  instanceName,
  parseTxt,
  resolveInterface,
  txtCapabilities,
  type MdnsOptions,
  type TxtFields,
  type TxtProperties,
} from "./mdns.ts";
