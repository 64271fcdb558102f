/**
 * mDNS discovery (on the `multicast-dns` package): the node advertises itself as
 * `_synapse._tcp.local.` with the instance name and TXT keys of the Python implementation, browses
 * the same type, and admits the peers of its swarm and team.
 *
 * Survival rules: an error handler is on the UDP socket before anything can fail (a clash on port
 * 5353 must not crash the process); a host without multicast (no route, ENODEV) gets one clear
 * warning and the node carries on with its seeds. Every TXT string stays within 255 bytes (a
 * longer one makes the service silently undiscoverable): long values are shortened and a long
 * capability list is split over `capabilities`, `capabilities.1`, ... (Python reads the first).
 *
 * @module
 */
import dgram from "node:dgram";
import { hostname, networkInterfaces } from "node:os";
import makeMdns from "multicast-dns";
import type { Answer, StringAnswer, SrvAnswer, TxtAnswer } from "dns-packet";
import { isLoopback } from "../address.ts";
import { createLogger } from "../log.ts";
import type { NodeKind, Peer } from "../types.ts";
import { nowSeconds } from "../util/time.ts";
import { isPort } from "../util/guards.ts";
import type { Membership } from "./membership.ts";

const log = createLogger("mdns");

/** The service type, without the trailing dot (as `multicast-dns` writes names). */
export const SERVICE_TYPE = "_synapse._tcp.local";
/** The DNS-SD meta query that lists service types. */
const SERVICES_META = "_services._dns-sd._udp.local";
/** Extensions this implementation advertises in the `ext` TXT key. */
export const MDNS_EXTENSIONS = ["mux"] as const;
/** Seconds between queries at start (and after a peer went offline): quick first, then sparse. */
export const DEFAULT_QUERY_SCHEDULE = [0, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60] as const;

/** The longest TXT string (one length byte). */
const TXT_MAX = 255;
/** At most this many extra `capabilities.N` strings (keeps the packet near one Ethernet frame). */
const MAX_CAPABILITY_CHUNKS = 6;
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
}

/** A `key=value` TXT map. `null` for a key written without `=` (how Python writes None). */
export type TxtProperties = Record<string, string | null>;

/**
 * The instance label: the node name with every character other than letters, digits and `-`
 * replaced by `-`, then `-` and the first 8 characters of the id (shortened to fit a DNS label).
 */
export function instanceName(name: string, id: string): string {
  // Per character (code point, as Python iterates a str): an emoji is one "-", not two.
  const label = name.replace(/[^A-Za-z0-9-]/gu, "-").slice(0, 63 - 9);
  return `${label}-${id.slice(0, 8)}`;
}

/** Cut `text` to at most `bytes` UTF-8 bytes, never inside a character. */
function fitBytes(text: string, bytes: number): string {
  if (Buffer.byteLength(text) <= bytes) return text;
  let out = "";
  let used = 0;
  for (const ch of text) {
    const size = Buffer.byteLength(ch);
    if (used + size > bytes) break;
    out += ch;
    used += size;
  }
  return out;
}

/** What the TXT record says about a node. */
export interface TxtFields {
  id: string;
  name: string;
  kind: NodeKind;
  swarm: string | null;
  team: string | null;
  host: string;
  capabilities: string[];
  extensions?: readonly string[];
}

/**
 * The TXT strings of a node: `id`, `name`, `kind`, `swarm`, `team`, `host`, `capabilities`
 * (comma-joined, split over `capabilities.1`, ... when longer than one string), and `ext`. A nil
 * swarm or team is written as a bare key. Every string is at most 255 bytes.
 */
export function buildTxt(fields: TxtFields): string[] {
  const entry = (key: string, value: string | null) => (value === null ? key : `${key}=${fitBytes(value, TXT_MAX - key.length - 1)}`);
  const out = [
    entry("id", fields.id),
    entry("name", fields.name),
    entry("kind", fields.kind),
    entry("swarm", fields.swarm),
    entry("team", fields.team),
    entry("host", fields.host),
  ];
  const chunks: string[] = [];
  let current = "";
  let dropped = 0;
  for (const cap of fields.capabilities) {
    const key = chunks.length === 0 ? "capabilities" : `capabilities.${chunks.length}`;
    const room = TXT_MAX - key.length - 1;
    if (cap.includes(",") || Buffer.byteLength(cap) > TXT_MAX - "capabilities.N=".length) {
      dropped++;
      continue;
    }
    const next = current === "" ? cap : `${current},${cap}`;
    if (Buffer.byteLength(next) <= room) {
      current = next;
      continue;
    }
    if (chunks.length >= MAX_CAPABILITY_CHUNKS) {
      dropped++;
      continue;
    }
    chunks.push(current);
    current = cap;
  }
  chunks.push(current);
  chunks.forEach((chunk, i) => out.push(`${i === 0 ? "capabilities" : `capabilities.${i}`}=${chunk}`));
  if (dropped > 0) log.debug(`${dropped} capability name(s) left out of the mDNS TXT record (too long or too many)`);
  if (fields.extensions && fields.extensions.length > 0) out.push(`ext=${fields.extensions.join(",")}`);
  return out;
}

/** Read TXT strings (Buffers or strings) into a map; keys are lower-cased. */
export function parseTxt(data: unknown): TxtProperties {
  const out: TxtProperties = {};
  const items = Array.isArray(data) ? data : [data];
  for (const item of items) {
    const text = typeof item === "string" ? item : item instanceof Uint8Array ? Buffer.from(item).toString("utf8") : null;
    if (!text) continue;
    const at = text.indexOf("=");
    const key = (at < 0 ? text : text.slice(0, at)).toLowerCase();
    if (!key || key in out) continue;
    out[key] = at < 0 ? null : text.slice(at + 1);
  }
  return out;
}

/** The capability names of a TXT map (`capabilities` plus any `capabilities.N`). */
export function txtCapabilities(txt: TxtProperties): string[] {
  const parts = [txt.capabilities ?? ""];
  for (let i = 1; `capabilities.${i}` in txt; i++) parts.push(txt[`capabilities.${i}`] ?? "");
  return parts
    .join(",")
    .split(",")
    .map((c) => c.trim())
    .filter((c) => c !== "");
}

/** An IPv4 address of the named interface, or the argument itself when it is an IPv4 address. */
export function resolveInterface(iface: string | undefined): string | null {
  if (!iface) return null;
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(iface)) return iface;
  for (const info of networkInterfaces()[iface] ?? []) if (info.family === "IPv4") return info.address;
  return null;
}

function errorCode(error: unknown): string {
  return String((error as { code?: unknown })?.code ?? "");
}

interface Resolved {
  srv?: { port: number; target: string };
  txt?: TxtProperties;
  expires: number;
}

/** mDNS advertising and browsing for one node's {@link Membership}. */
export class MdnsDiscovery {
  private mdns: makeMdns.MulticastDNS | null = null;
  private readonly hostName: string;
  private readonly port: number;
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
    private readonly m: Membership,
    options: MdnsOptions,
  ) {
    this.hostName = options.hostName ?? hostname();
    this.port = options.port ?? 5353;
    const schedule = options.querySchedule ?? DEFAULT_QUERY_SCHEDULE;
    this.schedule = schedule.length > 0 && schedule.every((s) => s >= 0) ? schedule : DEFAULT_QUERY_SCHEDULE;
    this.ifaceName = options.interface;
  }

  /** This node's instance name (`<label>-<id8>`). */
  get instance(): string {
    return instanceName(this.m.host.name, this.m.host.id);
  }

  private get fqdn(): string {
    return `${this.instance}.${SERVICE_TYPE}`;
  }

  /** The per-node host name of the SRV target (one per node, so several nodes on a host never clash). */
  private get target(): string {
    return `${this.instance}.local`;
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
      const socket = dgram.createSocket({ type: "udp4", reuseAddr: true });
      // First thing: a socket error (EADDRINUSE on 5353, ENODEV...) must never go unhandled.
      socket.on("error", (error) => this.trouble(error));
      const mdns = makeMdns({
        socket,
        port: this.port,
        // With an interface, still bind the wildcard: a socket bound to a unicast address
        // receives no multicast on Linux.
        bind: "0.0.0.0",
        interface: ifaceAddress ?? undefined,
        loopback: true,
        ttl: 255,
      });
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
  query(): void {
    this.sendQuery();
    this.queryStep = Math.min(this.queryStep, 1);
    this.scheduleQuery();
  }

  /** A peer went offline: look again soon, in case it comes back (or was only unreachable). */
  lostPeer(): void {
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
    if (!this.mdns || !this.m.host.running) return;
    this.mdns.respond({ answers: this.answers() }, (error) => this.sent(error));
  }

  /** PTR, SRV, TXT and A records of this node (TTL 0 for a goodbye). */
  private answers(ttl?: number): Answer[] {
    const host = this.m.host;
    const txt = buildTxt({
      id: host.id,
      name: host.name,
      kind: host.kind,
      swarm: host.swarm,
      team: host.team,
      host: this.hostName,
      capabilities: host.capabilityNames(),
      extensions: MDNS_EXTENSIONS,
    });
    const records: Answer[] = [
      { name: SERVICE_TYPE, type: "PTR", ttl: ttl ?? TTL_PTR, data: this.fqdn },
      { name: this.fqdn, type: "SRV", ttl: ttl ?? TTL_HOST, flush: true, data: { port: host.port, target: this.target, priority: 0, weight: 0 } },
      { name: this.fqdn, type: "TXT", ttl: ttl ?? TTL_PTR, flush: true, data: txt },
    ];
    if (/^\d{1,3}(\.\d{1,3}){3}$/.test(host.address)) {
      records.push({ name: this.target, type: "A", ttl: ttl ?? TTL_HOST, flush: true, data: host.address });
    }
    return records;
  }

  private sent(error: Error | null | undefined): void {
    if (error) this.trouble(error);
  }

  // ------------------------------------------------------------------ receiving

  private onQuery(packet: makeMdns.QueryPacket, rinfo: { address: string }): void {
    if (!this.m.host.running) return;
    let match = false;
    let meta = false;
    for (const q of packet.questions ?? []) {
      const name = q.name.toLowerCase();
      const type: string = q.type;
      if (name === SERVICE_TYPE.toLowerCase() && (type === "PTR" || type === "ANY")) match = true;
      else if (name === this.fqdn.toLowerCase() && ["SRV", "TXT", "ANY"].includes(type)) match = true;
      else if (name === this.target.toLowerCase() && (type === "A" || type === "ANY")) match = true;
      else if (name === SERVICES_META && type === "PTR") meta = true;
    }
    if (match) {
      log.debug(`answering a query from ${rinfo.address}`);
      this.mdns?.respond({ answers: this.answers() }, (error) => this.sent(error));
    } else if (meta) {
      this.mdns?.respond({ answers: [{ name: SERVICES_META, type: "PTR", ttl: TTL_PTR, data: SERVICE_TYPE }] }, (error) => this.sent(error));
    }
  }

  private onResponse(packet: makeMdns.ResponsePacket, rinfo: { address: string }): void {
    if (!this.m.host.running) return;
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
    for (const instance of goodbyes) {
      const id = this.instances.get(instance);
      if (id && id !== this.m.host.id) {
        log.debug(`goodbye from ${instance}`);
        this.instances.delete(instance);
        this.m.forget(id);
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
    if (instance === this.fqdn.toLowerCase()) return;
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
    const txt = e.txt;
    const id = txt.id;
    if (!id || id === this.m.host.id) return;
    this.instances.set(instance, id);
    if (this.m.table.has(id)) return;
    const sameHost = txt.host !== undefined && txt.host !== null && txt.host === this.hostName;
    let address = this.addresses.get(e.srv.target)?.address ?? source;
    // A loopback A record from another host is useless: use the packet's source instead.
    if (isLoopback(address) && !sameHost && !isLoopback(source)) address = source;
    const swarm = txt.swarm || null;
    const team = "team" in txt ? txt.team || null : "default";
    const peer: Peer = {
      id,
      address,
      port: e.srv.port,
      swarm,
      team,
      name: txt.name ?? instance.split(".")[0]!,
      kind: txt.kind === "bootstrap" ? "bootstrap" : "node",
      capabilities: txtCapabilities(txt),
      last_seen: nowSeconds(),
    };
    if (!isPort(peer.port)) return;
    const extensions = (txt.ext ?? "").split(",").filter((x) => x !== "");
    this.m.admit(peer, "mdns", { sameHost, extensions, announce: true });
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
    const code = errorCode(error) || (error instanceof Error ? error.message : String(error));
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
