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
  type CallTarget,
  type MembershipEvents,
  type MembershipHost,
  type MembershipStats,
} from "./membership.ts";
export { claimOf } from "./claims.ts";
export { membershipTiming, poolCapacity, type JoinOptions, type MembershipOptions, type MembershipTiming, type StopOptions } from "./options.ts";
export { registerMembershipEndpoints } from "./endpoints.ts";
export { LEAVE_FEATURE, LEAVE_TIMEOUT, leaveRefusal, sendLeave, speaksLeave, type LeaveHost } from "./leave.ts";
export type { AdmitOptions, Discovery, DiscoveryHost, IntroduceResult, TaskScheduler } from "./discovery.ts";
export { Admission, PeerCap, ChannelReleases, DEFAULT_MAX_PEERS, MAX_LISTED_PEERS, MAX_PENDING_PROBES, UNVERIFIED_PER_SOURCE, UNVERIFIED_WINDOW, PROBES_PER_HOST, FAILED_PROBES_PER_HOST, maxPeersOption, type AdmissionCounts, type AdmissionHost } from "./bounds.ts";
export { discoveriesFromOptions, type DiscoveryFactory, type MembershipDiscoveries } from "./discoveries.ts";
export { SeedDiscovery, type SeedHost, type SeedStatus, type SeedTiming } from "./seed-discovery.ts";
export { Liveness, type HeartbeatCounts, type HeartbeatTarget, type LivenessHost, type LivenessTiming } from "./liveness.ts";
export { PeerTable, dialTarget, fromPeerAddress, plainAddress, type PeerEntry, type PeerSource, type UpsertResult } from "./peer-table.ts";
export { DIFFERENT_SWARM, DIFFERENT_TEAM, checkMembership, membershipRefusal, type MembershipScope } from "./scope.ts";
export { DEFAULT_SEED_PORT, parseSeed, parseSeeds, type Seed, type SeedLike } from "./seeds.ts";
export {
  DEFAULT_QUERY_SCHEDULE,
  MdnsDiscovery,
  SERVICE_TYPE,
  type MdnsHost,
  type MdnsOptions,
} from "./mdns.ts";
export { openMulticast, type MdnsOpener, type MdnsSocket, type MdnsSocketConfig, type PacketSource } from "./mdns-socket.ts";
export {
  MDNS_EXTENSIONS,
  buildTxt,
  instanceName,
  parseTxt,
  txtCapabilities,
  txtPeer,
  type TxtFields,
  type TxtOrigin,
  type TxtPeer,
  type TxtProperties,
} from "./mdns-txt.ts";
export { SwimCore, type SwimMember, type SwimSelf } from "./swim.ts";
export { readUpdate as readSwimUpdate } from "./swim-read.ts";
export {
  DEFAULT_SWIM_CONFIG,
  SWIM_STATES,
  seededRandom,
  type MemberUpdate,
  type SwimAck,
  type SwimAnswer,
  type SwimClaim,
  type SwimClaims,
  type SwimConfig,
  type SwimGossip,
  type SwimMessage,
  type SwimNack,
  type SwimPing,
  type SwimPingReq,
  type SwimPorts,
  type SwimPushPull,
  type SwimState,
  type SwimStats,
  type SwimTarget,
} from "./swim-types.ts";
export {
  PackedUpdate,
  packUpdate,
  readMessage as readSwimMessage,
  toWire as swimToWire,
  type InboundMessage as SwimInboundMessage,
  type InboundUpdate as SwimInboundUpdate,
} from "./swim-wire.ts";
