/**
 * Which discoveries a membership runs: the seed discovery always (seeds may be added by `join`),
 * mDNS when the options ask for it. The node hands {@link discoveriesFromOptions} to its
 * membership; tests hand their own {@link DiscoveryFactory}.
 *
 * @module
 */
import type { Discovery, DiscoveryHost } from "./discovery.ts";
import { MdnsDiscovery } from "./mdns.ts";
import type { MembershipOptions, MembershipTiming } from "./options.ts";
import { SeedDiscovery } from "./seed-discovery.ts";
import { parseSeeds } from "./seeds.ts";

/** The discoveries of one membership. */
export interface MembershipDiscoveries {
  /** Seed joins: `join({ seeds })` adds to it and `seedStatus()` reports it (null: no seeds ever). */
  seeds: SeedDiscovery | null;
  /** Every other discovery (mDNS, ...). */
  others: readonly Discovery[];
}

/** Builds the discoveries of a membership on the host it is given (membership's own port). */
export type DiscoveryFactory = (host: DiscoveryHost, timing: MembershipTiming) => MembershipDiscoveries;

/**
 * The discoveries the node options ask for: seeds (the configured ones, parsed now so that a bad
 * seed fails the node's construction), and mDNS when `options.mdns` is set, on
 * `options.interface` unless the mDNS options name their own.
 *
 * @throws {ConfigError} for an invalid seed.
 */
export function discoveriesFromOptions(options: Pick<MembershipOptions, "seeds" | "mdns" | "interface">): DiscoveryFactory {
  const seeds = parseSeeds(options.seeds);
  const mdns = options.mdns === true ? {} : options.mdns || null;
  return (host, timing) => ({
    seeds: new SeedDiscovery(host, seeds, timing),
    others: mdns ? [new MdnsDiscovery(host, { interface: options.interface, ...mdns })] : [],
  });
}
