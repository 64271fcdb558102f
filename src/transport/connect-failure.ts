/**
 * Why a connect that Bun calls refused failed. Bun reports a failed TCP connect as refused
 * (`ECONNREFUSED`, errno -111) for more than a port nothing listens at (measured with Bun 1.4.5,
 * `node:net` alike): also when the process had no file descriptor left for the socket, and when
 * this host has no route to the address (`ENETUNREACH`: its network is down, or cut off), or the
 * address's host does not answer on its link (`EHOSTUNREACH`, after about 3 s). A connect that
 * finds no free local port is reported right (`EADDRNOTAVAIL`). Gossip membership takes a refused
 * connect as evidence that nothing listens at a member's port and declares the member dead at once.
 * The default transport asks here whenever Bun says refused, and tells them apart: a shortage of
 * descriptors is this node's own trouble, no evidence about the member; no route puts the member
 * out of reach, as across a partition (a failed probe, not a refusal); nor is a host that did not
 * answer on its link (an IPv4 address whose entry in the kernel's neighbour table, `/proc/net/arp`,
 * is incomplete) a refusal: it may be down, or its link lossy (a radio's power saving), and the
 * member's other peers are asked (a failed probe). Membership warns of the first two (a line a
 * minute), since it goes on without its failed calls.
 *
 * @module
 */
import { createLogger, logEnabled } from "../log.ts";
import { readFileSync } from "node:fs";
import { isIPv4 } from "node:net";
import { isLoopback, systemCode, systemError } from "../util/guards.ts";
import { descriptorShortage, isShortage, shortageAdvice } from "./descriptors.ts";

const log = createLogger("transport");

/** What a connect Bun called refused failed of, when not a refusal. */
export type ConnectTrouble = "EMFILE" | "ENFILE" | "ENETUNREACH";

/**
 * True when `error` (a failed call's, or one it was caused by) is this host's own trouble, as
 * {@link connectFailure} tells it: no descriptor left, or no route (its network); not that nothing
 * listens at the peer's address.
 */
export function ownTrouble(error: unknown): boolean {
  return isTrouble(systemCode(error));
}

function isTrouble(code: string | undefined): code is ConnectTrouble {
  return isShortage(code) || code === "ENETUNREACH";
}

/**
 * True when `error` (or one it was caused by) is a connect this process could not make for want
 * of file descriptors (`EMFILE`, `ENFILE`): the call said nothing about the peer, and would have
 * said nothing about any other either (membership's `SwimPorts.isLocal`). No route
 * (`ENETUNREACH`) is not this: the peer is out of reach from here, as in a partition.
 */
export function outOfDescriptors(error: unknown): boolean {
  return isShortage(systemCode(error));
}

/** Seconds between two warnings of one kind of trouble. */
export const WARNING_INTERVAL = 60;

const lastWarning = new Map<ConnectTrouble, number>();

/**
 * One warning line on stderr (through the package's logging when it is on), at most one a
 * {@link WARNING_INTERVAL} for each kind of trouble: connects fail while it lasts, and the process
 * cannot tell its peers' silence from its own.
 */
export function warnOf(kind: ConnectTrouble, line: string, now = performance.now() / 1000): void {
  if (now - (lastWarning.get(kind) ?? Number.NEGATIVE_INFINITY) < WARNING_INTERVAL) return;
  lastWarning.set(kind, now);
  if (logEnabled("warn")) log.warn(line);
  else console.warn(`synapse: warning: ${line}`);
}

/** @internal Forget the last warnings (tests). */
export function resetWarnings(): void {
  lastWarning.clear();
}

/** How long a verdict about a host is kept, ms: a mass failure's refused connects to one host look it up once. */
const VERDICT_MEMORY_MS = 1000;
/** Hosts whose verdicts are kept at most (past it the memory starts afresh). */
const VERDICT_MEMORY_HOSTS = 1024;

/** Yes-or-no verdicts about hosts, each kept {@link VERDICT_MEMORY_MS}. */
class HostVerdicts {
  readonly #kept = new Map<string, { at: number; value: boolean }>();

  /** The verdict about `host` made within the last {@link VERDICT_MEMORY_MS} before `now` (ms), if any. */
  get(host: string, now: number): boolean | undefined {
    const known = this.#kept.get(host);
    return known !== undefined && now - known.at < VERDICT_MEMORY_MS ? known.value : undefined;
  }

  /** Keep `value` as the verdict about `host` made at `now`; returns it. */
  set(host: string, now: number, value: boolean): boolean {
    if (this.#kept.size >= VERDICT_MEMORY_HOSTS) this.#kept.clear();
    this.#kept.set(host, { at: now, value });
    return value;
  }
}

const routes = new HostVerdicts();

/**
 * True when this host has no route to `hostname`: a UDP socket's connect looks the route up and
 * sends nothing, and Bun reports its `ENETUNREACH` as such. Never for a loopback address; a verdict
 * is kept {@link VERDICT_MEMORY_MS}.
 */
export async function noRoute(hostname: string, port: number): Promise<boolean> {
  if (isLoopback(hostname)) return false;
  const now = performance.now();
  const known = routes.get(hostname, now);
  if (known !== undefined) return known;
  let missing = false;
  try {
    const socket = await Bun.udpSocket({ connect: { hostname, port } });
    socket.close();
  } catch (error) {
    missing = (error as { code?: unknown }).code === "ENETUNREACH";
  }
  return routes.set(hostname, now, missing);
}

const links = new HostVerdicts();

/**
 * True when `hostname`, an IPv4 address on one of this host's links, did not answer ARP: the
 * kernel's neighbour table (`/proc/net/arp`, Linux) holds it incomplete (flags `0x0`), as after
 * the connect's own resolution failed (Bun then reports the connect refused, after about 3 s). A
 * real refusal needed an answer first, so it leaves the entry complete. Never for loopback; IPv6
 * neighbours are not read (no such file); a verdict is kept {@link VERDICT_MEMORY_MS}.
 */
export function silentOnLink(hostname: string): boolean {
  if (!isIPv4(hostname) || isLoopback(hostname)) return false;
  const now = performance.now();
  const known = links.get(hostname, now);
  if (known !== undefined) return known;
  let silent = false;
  try {
    for (const line of readFileSync("/proc/net/arp", "utf8").split("\n")) {
      const [address, , flags] = line.split(/\s+/);
      if (address === hostname) {
        silent = flags === "0x0";
        break;
      }
    }
  } catch {
    // not Linux, or no /proc: no verdict
  }
  return links.set(hostname, now, silent);
}

/**
 * True when `error` (or one it was caused by) is a failure {@link connectFailure} told apart from
 * a refusal, with a message of its own that says what happened: a shortage of descriptors, no
 * route, or a host that did not answer on its link.
 */
export function explained(error: unknown): boolean {
  const code = systemCode(error);
  return isTrouble(code) || code === "EHOSTUNREACH";
}

/**
 * The error a failed connect to `hostname`:`port` is rejected with: as Bun gave it, unless Bun
 * called it refused and it was not: then one with code `EMFILE` or `ENFILE` (this process or the
 * system out of file descriptors), `ENETUNREACH` (no route to the host) or `EHOSTUNREACH` (the
 * host did not answer on its link), a message that says what happened, and Bun's error as its
 * cause. A caller that reports its errors shows that message;
 * one that goes on without them (a node's membership) warns with {@link warnOwnTrouble}.
 */
export async function connectFailure(error: Error, hostname: string, port: number): Promise<Error> {
  if ((error as { code?: unknown }).code !== "ECONNREFUSED") return error;
  const shortage = descriptorShortage();
  if (shortage !== null) return Object.assign(new Error(`${shortageAdvice(shortage)} (${shortage})`, { cause: error }), { code: shortage });
  if (await noRoute(hostname, port)) {
    const what = `this host has no route to ${hostname} (ENETUNREACH): its network is down, or the address is on no network it reaches`;
    return Object.assign(new Error(what, { cause: error }), { code: "ENETUNREACH" });
  }
  if (silentOnLink(hostname)) {
    const what = `${hostname} did not answer on its link (EHOSTUNREACH: no ARP reply): the host is down or off the network`;
    return Object.assign(new Error(what, { cause: error }), { code: "EHOSTUNREACH" });
  }
  return error;
}

/**
 * When `error` is this host's own trouble ({@link ownTrouble}), the warning line of its kind (one
 * a minute at most): the explanation {@link connectFailure} gave, and that connections fail until
 * it is mended. For a caller that goes on without reporting its failed calls (a node's
 * membership): the process cannot tell its peers' silence from its own.
 */
export function warnOwnTrouble(error: unknown): void {
  const trouble = systemError(error);
  if (trouble !== undefined && isTrouble(trouble.code)) warnOf(trouble.code, `${trouble.message}; connections to peers fail until then`);
}
