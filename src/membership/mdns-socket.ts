/**
 * The seam between mDNS discovery and the network: the few methods it uses of a `multicast-dns`
 * instance, and the opener of the real UDP socket. Tests open an in-memory network instead.
 *
 * @module
 */
import dgram from "node:dgram";
import makeMdns from "multicast-dns";

/** Where a packet came from. */
export interface PacketSource {
  address: string;
}

/** What discovery uses of a `multicast-dns` instance. */
export interface MdnsSocket {
  on(event: "query", listener: (packet: makeMdns.QueryPacket, rinfo: PacketSource) => void): unknown;
  on(event: "response", listener: (packet: makeMdns.ResponsePacket, rinfo: PacketSource) => void): unknown;
  on(event: "error" | "warning", listener: (error: Error) => void): unknown;
  query(packet: makeMdns.QueryOutgoingPacket, callback: (error: Error | null) => void): void;
  respond(packet: makeMdns.ResponseOutgoingPacket, callback: (error: Error | null) => void): void;
  destroy(callback?: () => void): void;
}

/** How to open the socket: UDP port, IPv4 address of the interface (null: every one). */
export interface MdnsSocketConfig {
  port: number;
  interface: string | null;
  /** Called with any error of the underlying socket (installed before anything can fail). */
  onSocketError: (error: unknown) => void;
}

/** Opens the multicast socket; may throw (the discovery then disables itself with a warning). */
export type MdnsOpener = (config: MdnsSocketConfig) => MdnsSocket;

/** The real opener: a UDP socket on the mDNS group through `multicast-dns`. */
export const openMulticast: MdnsOpener = (config) => {
  const socket = dgram.createSocket({ type: "udp4", reuseAddr: true });
  // First thing: a socket error (EADDRINUSE on 5353, ENODEV...) must never go unhandled.
  socket.on("error", config.onSocketError);
  return makeMdns({
    socket,
    port: config.port,
    // With an interface, still bind the wildcard: a socket bound to a unicast address
    // receives no multicast on Linux.
    bind: "0.0.0.0",
    interface: config.interface ?? undefined,
    loopback: true,
    ttl: 255,
  });
};
