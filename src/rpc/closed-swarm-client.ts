/**
 * The {@link ClientOptions} of a closed swarm (`swarmKey`, `swarm`, `identity`) and the secure
 * transport they make. Clients given the same keys, swarm name and identity share one transport,
 * hence one pool and its connections, as Clients given nothing share the process-wide pool: a
 * program that makes a Client per call does not make a handshake (and a pool) per call.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { ConfigError } from "../errors.ts";
import { bunTransport } from "../transport/bun-transport.ts";
import type { Pool } from "../transport/pool.ts";
import type { Transport } from "../transport/socket.ts";
import type { SwarmKeyOption } from "../security/closed-swarm.ts";
import { NodeIdentity } from "../security/identity.ts";
import { SwarmKeyring } from "../security/keyring.ts";
import { secureTransport, type SecureTransport } from "../security/secure-transport.ts";

/** The options of a Client that calls a node of a closed swarm. */
export interface ClosedSwarmClientOptions {
  /**
   * Call a node of a closed swarm: its swarm key (32 bytes, their base64, or the path of a file
   * holding it, mode 0600), several (the first is the one dialed with), or a {@link SwarmKeyring}
   * (rotate through it). Every connection then starts with the closed swarm's handshake and is
   * encrypted. Unlike a Node, a Client does not read `SYNAPSE_SWARM_KEY`: it is open unless given
   * a key. Not with `pool` (give that pool a `secureTransport(...)` instead); with `transport`,
   * the handshake runs over that transport.
   */
  swarmKey?: SwarmKeyOption;
  /**
   * The closed swarm's name, which its handshake binds: the `swarm` of the node called (default:
   * none, for a node without a swarm name). Only with `swarmKey`.
   */
  swarm?: string | null;
  /**
   * The identity this client proves in the handshake (the node sees it as the call's
   * `ctx.remoteIdentity`): a {@link NodeIdentity} or the path of its file (created mode 0600 when
   * missing). Default: one identity made for this process and shared by its Clients. Only with
   * `swarmKey`.
   */
  identity?: string | NodeIdentity;
}

/** What {@link closedSwarmTransport} reads: the closed-swarm options and the Client's `pool` and `transport`. */
type Options = ClosedSwarmClientOptions & { pool?: Pool; transport?: Transport };

/**
 * Secure transports made for Clients: by keyring (a ring given, which can rotate, is its own key;
 * keys given as values all go under {@link GIVEN_KEYS}), then by transport underneath, then by
 * digest of the keys, identity and swarm name. Weak at both ends: a keyring or an in-memory
 * network dropped by the program takes its transports with it.
 */
const cache = new WeakMap<object, WeakMap<Transport, Map<string, SecureTransport>>>();
const GIVEN_KEYS = {};
/** The identity of this process's Clients that were given none. */
let processIdentity: NodeIdentity | null = null;

/**
 * The secure transport of a Client given `swarmKey`: made once per keys (or keyring), identity,
 * swarm name and transport underneath.
 *
 * @throws {ConfigError} for a bad key or identity file, or `swarmKey` with a `pool`.
 */
export function closedSwarmTransport(options: Options): SecureTransport {
  if (options.pool) throw new ConfigError("give a Client swarmKey or pool, not both (a closed swarm's pool is a Pool on a secureTransport(...))");
  const option = options.swarmKey;
  if (option === undefined || option === null) throw new ConfigError("swarmKey must be a swarm key, a list of them or a SwarmKeyring");
  const identity = typeof options.identity === "string" ? NodeIdentity.load(options.identity) : (options.identity ?? (processIdentity ??= NodeIdentity.generate()));
  if (!(identity instanceof NodeIdentity)) throw new ConfigError("identity must be a file path or a NodeIdentity");
  const swarm = options.swarm ?? ""; // as the handshake reads it: no swarm name is the empty one
  if (typeof swarm !== "string") throw new ConfigError("swarm must be a string or null");
  const inner = options.transport ?? bunTransport;
  const ring = option instanceof SwarmKeyring ? option : new SwarmKeyring(option);
  const anchor = option instanceof SwarmKeyring ? option : GIVEN_KEYS;
  const byInner = cache.get(anchor) ?? new WeakMap<Transport, Map<string, SecureTransport>>();
  cache.set(anchor, byInner);
  const byKey = byInner.get(inner) ?? new Map<string, SecureTransport>();
  byInner.set(inner, byKey);
  // A digest of the keys given (not of a ring's, which change), so that the cache does not hold them as text.
  const digest = createHash("sha256");
  if (anchor === GIVEN_KEYS) for (const k of ring.keys) digest.update(k);
  const key = `${digest.digest("hex")}\n${identity.id}\n${swarm}`;
  let transport = byKey.get(key);
  if (!transport) {
    transport = secureTransport(inner, { keys: ring, identity, swarm });
    byKey.set(key, transport);
  }
  return transport;
}
