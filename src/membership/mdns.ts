/**
 * mDNS discovery (on the `multicast-dns` package): the node advertises itself as
 * `_synapse._tcp.local.` with the instance name and TXT keys of the Python implementation (see
 * `mdns-txt.ts`), browses the same type, and admits the peers it finds; a goodbye (TTL 0) makes
 * membership forget the peer at once.
 *
 * Survival rules: an error handler is on the UDP socket before anything can fail (a clash on port
 * 5353 must not crash the process); a host without multicast (no route, ENODEV) gets one clear
 * warning and the node carries on with its seeds.
 *
 * The socket is opened through an `MdnsOpener` (see `mdns-socket.ts`), so tests can put the
 * discovery on an in-memory network instead of UDP.
 *
 * @module
 */
import { hostname } from "node:os";
import type makeMdns from "multicast-dns";
import type { Answer, StringAnswer, SrvAnswer, TxtAnswer } from "dns-packet";
import { resolveInterface } from "../address.ts";
import { createLogger } from "../log.ts";
import type { Peer } from "../types.ts";
import { nowSeconds } from "../util/time.ts";
import { errorMessage } from "../util/guards.ts";
import type { Discovery, DiscoveryHost } from "./discovery.ts";
import { openMulticast, type MdnsOpener, type MdnsSocket, type PacketSource } from "./mdns-socket.ts";
import { CLOSED_EXTENSION, MDNS_EXTENSIONS, buildTxt, instanceName, parseTxt, txtPeer, type TxtProperties } from "./mdns-txt.ts";

const log = createLogger("mdns");

/** The service type, without the trailing dot (as `multicast-dns` writes names). */
export const SERVICE_TYPE = "_synapse._tcp.local";
/** The DNS-SD meta query that lists service types. */
const SERVICES_META = "_services._dns-sd._udp.local";
/** Seconds between queries at start (and after a peer went offline): quick first, then sparse. */
export const DEFAULT_QUERY_SCHEDULE = [0, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60] as const;

const TTL_PTR = 4500;
const TTL_HOST = 120;
/** Errors that mean "no multicast here". */
const NO_MULTICAST = new Set(["ENETUNREACH", "ENODEV", "EHOSTUNREACH", "EADDRNOTAVAIL", "ENETDOWN", "EPERM"]);

/** Options of mDNS discovery (`mdns: { ... }` in the node options). */
export interface MdnsOptions {
  /** Network interface to use: a name (`"eth0"`) or its IPv4 address. Default: every interface. */
  interface?: string;
  /** Host name put in the TXT `host` key (default: the machine's); peers on the same host dial loopback. */
  hostName?: string;
  /** UDP port (default 5353; other values are for tests). */
  port?: number;
  /** Delays in seconds between the queries sent at start; the last one repeats. */
  querySchedule?: readonly number[];
  /** This node is in a closed swarm: advertise only what discovery needs (set by the node). */
  closed?: boolean;
}

/** What mDNS discovery needs of membership. */
export type MdnsHost = Pick<DiscoveryHost, "self" | "running" | "knows" | "admit" | "introduce" | "forget">;

function errorCode(error: unknown): string {
  return String((error as { code?: unknown })?.code ?? "");
}

interface Resolved {
  srv?: { port: number; target: string };
  txt?: TxtProperties;
  expires: number;
}

/** mDNS advertising and browsing for one node. */
export class MdnsDiscovery implements Discovery {
  readonly name = "mdns";
  /** Answers to a query arrive over the next moments: `join()` waits 2 s for them by default. */
  readonly settleTime = 2;

  private mdns: MdnsSocket | null = null;
  private readonly hostName: string;
  private readonly port: number;
  private readonly closed: boolean;
  private readonly schedule: readonly number[];
  private readonly ifaceName: string | undefined;
  private queryTimer: ReturnType<typeof setTimeout> | null = null;
  private announceTimer: ReturnType<typeof setTimeout> | null = null;
  private queryStep = 0;
  private warned = false;
  /** Records learned per instance or host name. */
  private readonly records = new Map<string, Resolved>();
  private readonly addresses = new Map<string, { address: string; expires: number }>();
  /** Instance name → peer id, for goodbyes. */
  private readonly instances = new Map<string, string>();
  /** Instances asked about recently (ms), to avoid query storms. */
  private readonly asked = new Map<string, number>();

  constructor(
    private readonly host: MdnsHost,
    options: MdnsOptions,
    private readonly open: MdnsOpener = openMulticast,
  ) {
    this.hostName = options.hostName ?? hostname();
    this.port = options.port ?? 5353;
    this.closed = options.closed ?? false;
    const schedule = options.querySchedule ?? DEFAULT_QUERY_SCHEDULE;
    this.schedule = schedule.length > 0 && schedule.every((s) => s >= 0) ? schedule : DEFAULT_QUERY_SCHEDULE;
    this.ifaceName = options.interface;
  }

  /** This node's instance name (`<label>-<id8>`). */
  get instance(): string {
    const self = this.host.self();
    return instanceName(self.name, self.id, this.closed);
  }

  /** True while the mDNS socket is open. */
  get active(): boolean {
    return this.mdns !== null;
  }

  /** Open the socket, announce, and start the query schedule. Never throws. */
  start(): void {
    if (this.mdns) return;
    let ifaceAddress: string | null = null;
    if (this.ifaceName) {
      ifaceAddress = resolveInterface(this.ifaceName);
      if (!ifaceAddress) this.warnOnce(`mDNS: interface ${this.ifaceName} has no IPv4 address; using every interface`);
    }
    try {
      const mdns = this.open({ port: this.port, interface: ifaceAddress, onSocketError: (error) => this.trouble(error) });
      mdns.on("error", (error: Error) => this.fatal(error));
      mdns.on("warning", (error: Error) => this.trouble(error));
      mdns.on("query", (packet, rinfo) => this.onQuery(packet, rinfo));
      mdns.on("response", (packet, rinfo) => this.onResponse(packet, rinfo));
      this.mdns = mdns;
    } catch (error) {
      this.fatal(error);
      return;
    }
    this.announce();
    this.announceTimer = setTimeout(() => this.announce(), 1000);
    this.announceTimer.unref?.();
    this.queryStep = 0;
    this.scheduleQuery();
  }

  /** Say goodbye (records with TTL 0) and close the socket. */
  stop(): Promise<void> {
    const mdns = this.mdns;
    this.clearTimers();
    if (!mdns) return Promise.resolve();
    this.mdns = null;
    return new Promise<void>((resolve) => {
      const close = () => {
        try {
          mdns.destroy(() => resolve());
        } catch {
          resolve();
        }
      };
      try {
        mdns.respond({ answers: this.answers(0) }, () => close());
      } catch {
        close();
      }
      setTimeout(resolve, 500).unref?.();
    });
  }

  /** Send a query now (and restart the quick schedule from its second step). */
  refresh(): Promise<void> {
    this.sendQuery();
    this.queryStep = Math.min(this.queryStep, 1);
    this.scheduleQuery();
    return Promise.resolve();
  }

  /** A peer went offline: look again soon, in case it comes back (or was only unreachable). */
  peerLost(): void {
    if (!this.mdns) return;
    this.queryStep = 1;
    this.scheduleQuery();
  }

  // ------------------------------------------------------------------ sending

  private clearTimers(): void {
    if (this.queryTimer) clearTimeout(this.queryTimer);
    if (this.announceTimer) clearTimeout(this.announceTimer);
    this.queryTimer = null;
    this.announceTimer = null;
  }

  private scheduleQuery(): void {
    if (!this.mdns) return;
    if (this.queryTimer) clearTimeout(this.queryTimer);
    const delay = this.schedule[Math.min(this.queryStep, this.schedule.length - 1)]!;
    this.queryTimer = setTimeout(() => {
      this.queryTimer = null;
      this.sendQuery();
      this.queryStep++;
      this.scheduleQuery();
    }, delay * 1000);
    this.queryTimer.unref?.();
  }

  private sendQuery(): void {
    this.mdns?.query({ questions: [{ name: SERVICE_TYPE, type: "PTR" }] }, (error) => this.sent(error));
  }

  private announce(): void {
    if (!this.mdns || !this.host.running()) return;
    this.mdns.respond({ answers: this.answers() }, (error) => this.sent(error));
  }

  /** PTR, SRV, TXT and A records of this node (TTL 0 for a goodbye). */
  private answers(ttl?: number): Answer[] {
    const self = this.host.self();
    const { fqdn, target } = names(self, this.closed);
    const txt = buildTxt({ ...self, host: this.hostName, extensions: MDNS_EXTENSIONS, closed: this.closed });
    const records: Answer[] = [
      { name: SERVICE_TYPE, type: "PTR", ttl: ttl ?? TTL_PTR, data: fqdn },
      { name: fqdn, type: "SRV", ttl: ttl ?? TTL_HOST, flush: true, data: { port: self.port, target, priority: 0, weight: 0 } },
      { name: fqdn, type: "TXT", ttl: ttl ?? TTL_PTR, flush: true, data: txt },
    ];
    if (/^\d{1,3}(\.\d{1,3}){3}$/.test(self.address)) {
      records.push({ name: target, type: "A", ttl: ttl ?? TTL_HOST, flush: true, data: self.address });
    }
    return records;
  }

  private sent(error: Error | null | undefined): void {
    if (error) this.trouble(error);
  }

  // ------------------------------------------------------------------ receiving

  private onQuery(packet: makeMdns.QueryPacket, rinfo: PacketSource): void {
    if (!this.host.running()) return;
    const { fqdn, target } = names(this.host.self(), this.closed);
    let match = false;
    let meta = false;
    for (const q of packet.questions ?? []) {
      const name = q.name.toLowerCase();
      const type: string = q.type;
      if (name === SERVICE_TYPE.toLowerCase() && (type === "PTR" || type === "ANY")) match = true;
      else if (name === fqdn.toLowerCase() && ["SRV", "TXT", "ANY"].includes(type)) match = true;
      else if (name === target.toLowerCase() && (type === "A" || type === "ANY")) match = true;
      else if (name === SERVICES_META && type === "PTR") meta = true;
    }
    if (match) {
      log.debug(`answering a query from ${rinfo.address}`);
      this.mdns?.respond({ answers: this.answers() }, (error) => this.sent(error));
    } else if (meta) {
      this.mdns?.respond({ answers: [{ name: SERVICES_META, type: "PTR", ttl: TTL_PTR, data: SERVICE_TYPE }] }, (error) => this.sent(error));
    }
  }

  private onResponse(packet: makeMdns.ResponsePacket, rinfo: PacketSource): void {
    if (!this.host.running()) return;
    const now = Date.now();
    const records = [...(packet.answers ?? []), ...(packet.additionals ?? [])];
    const mentioned = new Set<string>();
    const goodbyes = new Set<string>();
    const suffix = `.${SERVICE_TYPE.toLowerCase()}`;
    for (const r of records) {
      const name = r.name.toLowerCase();
      const ttl = (r as { ttl?: number }).ttl ?? TTL_HOST;
      if (r.type === "PTR" && name === SERVICE_TYPE.toLowerCase()) {
        const instance = String((r as StringAnswer).data).toLowerCase();
        if (ttl === 0) goodbyes.add(instance);
        else mentioned.add(instance);
      } else if (r.type === "SRV" && name.endsWith(suffix)) {
        const data = (r as SrvAnswer).data;
        this.entry(name, now, ttl).srv = { port: data.port, target: data.target.toLowerCase() };
        if (ttl > 0) mentioned.add(name);
      } else if (r.type === "TXT" && name.endsWith(suffix)) {
        this.entry(name, now, ttl).txt = parseTxt((r as TxtAnswer).data);
        if (ttl > 0) mentioned.add(name);
      } else if (r.type === "A" && ttl > 0) {
        this.addresses.set(name, { address: String((r as StringAnswer).data), expires: now + ttl * 1000 });
      }
    }
    const selfId = this.host.self().id;
    for (const instance of goodbyes) {
      const id = this.instances.get(instance);
      if (id && id !== selfId) {
        log.debug(`goodbye from ${instance}`);
        this.instances.delete(instance);
        this.host.forget(id);
      }
    }
    for (const instance of mentioned) if (!goodbyes.has(instance)) this.resolve(instance, rinfo.address, now);
    this.expire(now);
  }

  private entry(name: string, now: number, ttl: number): Resolved {
    let e = this.records.get(name);
    if (!e) this.records.set(name, (e = { expires: 0 }));
    e.expires = Math.max(e.expires, now + Math.max(ttl, 1) * 1000);
    return e;
  }

  private expire(now: number): void {
    for (const [k, v] of this.records) if (v.expires < now) this.records.delete(k);
    for (const [k, v] of this.addresses) if (v.expires < now) this.addresses.delete(k);
    for (const [k, t] of this.asked) if (now - t > 1000) this.asked.delete(k);
  }

  /** Admit the peer an instance describes once its SRV and TXT are known; ask for them otherwise. */
  private resolve(instance: string, source: string, now: number): void {
    const self = this.host.self();
    if (instance === names(self, this.closed).fqdn.toLowerCase()) return;
    const e = this.records.get(instance);
    if (!e?.srv || !e.txt) {
      if (!this.asked.has(instance)) {
        this.asked.set(instance, now);
        this.mdns?.query(
          { questions: [{ name: instance, type: "SRV" }, { name: instance, type: "TXT" }] },
          (error) => this.sent(error),
        );
      }
      return;
    }
    const id = e.txt.id;
    if (!id || id === self.id) return;
    this.instances.set(instance, id);
    if (this.host.knows(id)) return;
    const found = txtPeer(e.txt, {
      instance,
      port: e.srv.port,
      address: this.addresses.get(e.srv.target)?.address,
      source,
      localHost: this.hostName,
      now: nowSeconds(),
    });
    // A closed swarm's node and an open one cannot talk (the handshake, or its absence, fails):
    // neither dials the other on the strength of an advertisement.
    if (found && found.extensions.includes(CLOSED_EXTENSION) !== this.closed) return;
    // Anyone on the link can multicast an advertisement, naming any address (its A record) or
    // spoofing the packet's source: the peer is probed first, within the budgets of bounds.ts, so
    // that advertisements cannot point this node's heartbeats at a host that runs no such peer.
    // The probe is a heartbeat: it also announces this node, as the announce did.
    if (found) void this.host.introduce(found.peer, source, "mdns", { sameHost: found.sameHost, extensions: found.extensions });
  }

  // ------------------------------------------------------------------ trouble

  /** Multicast is unusable here (no route, no device): warn once, keep going with seeds. */
  private trouble(error: unknown): void {
    const code = errorCode(error);
    if (NO_MULTICAST.has(code)) {
      this.warnOnce(`mDNS unavailable on this host (${code}: no multicast route or device); discovery continues with seeds only`);
    } else if (code === "EADDRINUSE" || code === "EACCES") {
      this.fatal(error);
    } else {
      log.debug("mDNS socket trouble", error);
    }
  }

  /** The socket cannot be used at all (port 5353 taken without sharing, no permission). */
  private fatal(error: unknown): void {
    const code = errorCode(error) || errorMessage(error);
    this.warnOnce(`mDNS disabled: cannot use UDP port ${this.port} (${code}); discovery continues with seeds only`);
    const mdns = this.mdns;
    this.mdns = null;
    this.clearTimers();
    try {
      mdns?.destroy();
    } catch {
      // the socket may never have opened
    }
  }

  private warnOnce(text: string): void {
    if (this.warned) {
      log.debug(text);
      return;
    }
    this.warned = true;
    log.warn(text);
  }
}

/** The instance's full name, and the per-node host name of its SRV target (so several nodes on a host never clash). */
function names(self: Pick<Peer, "name" | "id">, closed: boolean): { fqdn: string; target: string } {
  const instance = instanceName(self.name, self.id, closed);
  return { fqdn: `${instance}.${SERVICE_TYPE}`, target: `${instance}.local` };
}
