/**
 * How a node's security options become its identity and its transport: the one place that reads
 * `identity`, `swarmKey` and their environment variables (`SYNAPSE_IDENTITY`,
 * `SYNAPSE_SWARM_KEY`), so that the node facade only wires the result.
 *
 * @module
 */
import { ConfigError } from "../errors.ts";
import type { Transport } from "../transport/socket.ts";
import { NodeIdentity } from "./identity.ts";
import { SwarmKeyring, type SwarmKeyInput } from "./keyring.ts";
import { secureTransport, type SecureTransport } from "./secure-transport.ts";

/** A node's swarm key option: one key, several (the first the primary), or a shared {@link SwarmKeyring}. */
export type SwarmKeyOption = SwarmKeyInput | readonly SwarmKeyInput[] | SwarmKeyring;

/** What {@link resolveSecurity} reads. */
export interface SecurityInput {
  /** The `identity` option: a file path, an identity, or nothing (then `SYNAPSE_IDENTITY`, else in memory). */
  identity?: string | NodeIdentity | null;
  /** The `swarmKey` option; `null` is explicitly open (the environment is not read). */
  swarmKey?: SwarmKeyOption | null;
  swarm: string | null;
  /** The transport the node was given, to wrap. */
  transport: Transport;
  env?: Record<string, string | undefined>;
}

/** What a node runs with. */
export interface NodeSecurity {
  /** The node's identity; `named` tells whether it came from a file or object (else: fresh, in memory). */
  identity: NodeIdentity;
  named: boolean;
  /** The keys of a closed swarm; `null` in an open one. */
  keyring: SwarmKeyring | null;
  /** The secure transport of a closed swarm (over the given one); `null` in an open one. */
  transport: SecureTransport | null;
}

/** Resolve the identity and swarm key options (and their environment variables). Throws {@link ConfigError}. */
export function resolveSecurity(input: SecurityInput): NodeSecurity {
  const env = input.env ?? process.env;
  const idOption = input.identity === undefined ? env.SYNAPSE_IDENTITY || null : input.identity;
  const identity = idOption === null ? NodeIdentity.generate() : typeof idOption === "string" ? NodeIdentity.load(idOption) : idOption;
  if (!(identity instanceof NodeIdentity)) throw new ConfigError("identity must be a file path or a NodeIdentity");
  const keyOption = input.swarmKey === undefined ? envKeys(env.SYNAPSE_SWARM_KEY) : input.swarmKey;
  if (keyOption === null) return { identity, named: idOption !== null, keyring: null, transport: null };
  const keyring = keyOption instanceof SwarmKeyring ? keyOption : new SwarmKeyring(keyOption);
  const transport = secureTransport(input.transport, { keys: keyring, identity, swarm: input.swarm });
  return { identity, named: idOption !== null, keyring, transport };
}

/** `SYNAPSE_SWARM_KEY`: a key (base64 or a file path), or several separated by commas, the first the primary. */
function envKeys(value: string | undefined): string[] | null {
  const keys = (value ?? "")
    .split(",")
    .map((k) => k.trim())
    .filter((k) => k !== "");
  return keys.length === 0 ? null : keys;
}
