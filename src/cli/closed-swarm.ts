/**
 * The closed swarm on the command line: `--swarm-key`, `--swarm` and `--identity` of the one-node
 * commands (`ping`, `info`, `call`, ...), and the one line that tells what to do when a key is
 * missing, wrong, or given to an open node, for those commands and for a swarm command's seed (a
 * closed node closes the connection without a word, so the raw error would only say "connection
 * closed").
 *
 * @module
 */
import { Client, ConnectionError, HandshakeError, type ClientOptions, type Node } from "../index.ts";
import { explained } from "../transport/connect-failure.ts";
import { formatAddress, parseAddress, type Address } from "./args.ts";
import { cliEnvironment } from "./context-store.ts";
import { stringFlag, UsageError, type Parsed } from "./parse.ts";

/** `KEY1,KEY2` as a list of keys (base64 or file paths; the first the primary); `null` for none. */
export function keyList(text: string | undefined): string[] | null {
  const keys = (text ?? "")
    .split(",")
    .map((k) => k.trim())
    .filter((k) => k !== "");
  return keys.length === 0 ? null : keys;
}

/** The closed-swarm options of a one-node command's Client. */
export type ClosedSwarmOptions = Required<Pick<ClientOptions, "swarmKey">> & Pick<ClientOptions, "swarm" | "identity">;

/**
 * The Client options of a one-node command for a closed swarm: the keys of `--swarm-key` (else
 * `SYNAPSE_SWARM_KEY`), the swarm name of `--swarm` (else `SN_SWARM`, else the selected context's
 * swarm; the handshake binds it), the identity file of `--identity` (else `SYNAPSE_IDENTITY`).
 * `null` without a key: the command speaks plaintext, as to any open or Python node.
 *
 * @throws {UsageError} for `--swarm` or `--identity` without a key.
 */
export function closedSwarmOptions(parsed: Parsed, env: Record<string, string | undefined> = process.env): ClosedSwarmOptions | null {
  const keys = keyList(stringFlag(parsed, "swarm-key") ?? env.SYNAPSE_SWARM_KEY);
  const swarm = stringFlag(parsed, "swarm");
  const identity = stringFlag(parsed, "identity");
  if (keys === null) {
    const lone = swarm !== undefined ? "--swarm" : identity !== undefined ? "--identity" : null;
    if (lone) throw new UsageError(`${lone} is for a closed swarm's node: give its key too (--swarm-key KEY or SYNAPSE_SWARM_KEY)`, parsed.command);
    return null;
  }
  const name = swarm ?? cliEnvironment(env).SN_SWARM;
  const file = identity || env.SYNAPSE_IDENTITY;
  return { swarmKey: keys, ...(name ? { swarm: name } : {}), ...(file ? { identity: file } : {}) };
}

/** The first {@link HandshakeError} in `error`'s chain of causes. */
function handshakeCause(error: unknown): HandshakeError | null {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e instanceof HandshakeError) return e;
  }
  return null;
}

/**
 * What a command's failure to reach a node means (nothing listening there, or a closed swarm's
 * handshake), as an error whose message says what to do; other failures are returned as they
 * are. `closed` is the options the command dialed with (`null` when it spoke plaintext). `nameFlag` is how the command names the swarm:
 * `--swarm NAME` for the one-node commands, `null` for the swarm commands (their SWARM argument).
 * A closed node closes a plaintext connection unanswered, and one whose key it does not hold right
 * after the handshake (the initiator cannot tell before), so "closed before any answer" is how
 * both mistakes show.
 */
export function explainFailure(error: unknown, address: Address, closed: Pick<ClientOptions, "swarm"> | null, nameFlag: string | null = "--swarm NAME"): unknown {
  if (!(error instanceof ConnectionError)) return error;
  const node = `the node at ${formatAddress(address)}`;
  const handshake = handshakeCause(error);
  let hint: string | null = null;
  // This host's own trouble (no descriptor left, no route) or a host silent on its link: the
  // error's message says what happened.
  if (!error.sent && handshake === null && error.message.startsWith("cannot connect to ") && !explained(error)) {
    // The first mistake of most users: no node at that address (not started, or another port).
    hint = `nothing accepts connections at ${formatAddress(address)}: is a node running there? check the host and port`;
  } else if (closed === null) {
    if (error.sent) hint = `${node} closed the connection without answering: is it in a closed swarm? pass --swarm-key KEY${nameFlag ? ` and ${nameFlag}` : ""}`;
  } else if (handshake?.reason === "not_noise") {
    hint = `${node} is not in a closed swarm (it answered in plaintext): leave out --swarm-key (and SYNAPSE_SWARM_KEY)`;
  } else if (handshake?.reason === "closed") {
    const swarm = closed.swarm ? `in another swarm than "${closed.swarm}"` : "in a named swarm";
    const fix = nameFlag ? `pass its ${nameFlag}: the handshake binds it` : "the handshake binds the swarm name";
    hint = `${node} closed the connection during the handshake: is it ${swarm} (${fix}), or an open or Python node (then leave out --swarm-key)?`;
  } else if (handshake !== null) {
    hint = `the closed-swarm handshake with ${node} failed (${handshake.reason}): ${handshake.message}`;
  } else if (error.sent) {
    hint = `${node} closed the connection right after the handshake: it does not hold the swarm key given (the first of --swarm-key or SYNAPSE_SWARM_KEY); check it`;
  }
  return hint === null ? error : new ConnectionError(hint, error.peer, { cause: error, sent: error.sent, ...(error.endpoint ? { endpoint: error.endpoint } : {}) });
}

/**
 * Why a swarm command's node could not join through `seed` (its membership keeps only the error's
 * text): when that text is a connection failure, dial the seed once more as the node did (its
 * keyring, identity and swarm name) and explain that failure with {@link explainFailure}; else,
 * or when the seed answers now, the text as it is.
 */
export async function seedFailure(seed: string, lastError: string, node: Node, swarm: string): Promise<string> {
  if (!/closed|connect/.test(lastError)) return lastError;
  const address = parseAddress(seed);
  const closed = node.keyring ? { swarmKey: node.keyring, swarm, identity: node.identity } : null;
  const client = new Client(address.host, address.port, { timeout: 2, ...closed });
  try {
    await client.ping();
    return lastError;
  } catch (error) {
    const explained = explainFailure(error, address, closed, null);
    return explained !== error && explained instanceof Error ? explained.message : lastError;
  } finally {
    client.close();
  }
}
