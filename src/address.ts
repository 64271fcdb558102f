/**
 * Address logic: what counts as a wildcard or loopback address, this machine's addresses, which
 * address a node advertises to its peers, and the IPv4 address of a named interface.
 *
 * @module
 */
import { networkInterfaces } from "node:os";

const WILDCARDS = new Set(["0.0.0.0", "::", "", "[::]"]);

/** True for an address that means "every interface". */
export function isWildcard(address: string): boolean {
  return WILDCARDS.has(address);
}


/**
 * The first non-internal IPv4 address of this machine (of `iface` when given), or 127.0.0.1 when
 * there is none.
 */
export function lanAddress(iface?: string): string {
  const all = networkInterfaces();
  const names = iface ? [iface] : Object.keys(all);
  for (const name of names) {
    for (const info of all[name] ?? []) {
      if (info.family === "IPv4" && !info.internal) return info.address;
    }
  }
  return "127.0.0.1";
}

/** Every IPv4 address of this machine, loopback included. */
export function localAddresses(): Set<string> {
  const out = new Set<string>(["127.0.0.1", "::1", "localhost"]);
  for (const infos of Object.values(networkInterfaces())) {
    for (const info of infos ?? []) out.add(info.address);
  }
  return out;
}

/** An IPv4 address of the named interface, or the argument itself when it is an IPv4 address; null when there is none. */
export function resolveInterface(iface: string | undefined): string | null {
  if (!iface) return null;
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(iface)) return iface;
  for (const info of networkInterfaces()[iface] ?? []) if (info.family === "IPv4") return info.address;
  return null;
}

/**
 * What to advertise: an explicit `advertise` as given; `"auto"` (the default) picks a
 * LAN-reachable address when bound to a wildcard, otherwise the bound address.
 */
export function resolveAdvertise(bind: string, advertise: string | undefined, iface?: string): string {
  if (advertise && advertise !== "auto") return advertise;
  return isWildcard(bind) ? lanAddress(iface) : bind;
}
