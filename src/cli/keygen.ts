/**
 * `sn keygen`: print a new random 32-byte swarm key in base64, the form `--swarm-key`,
 * `SYNAPSE_SWARM_KEY` and key files take.
 *
 * @module
 */
import { generateSwarmKey } from "../index.ts";
import type { Io } from "./command.ts";
import type { Parsed } from "./parse.ts";

/** Print the key on stdout; exit 0. */
export async function run(_parsed: Parsed, io: Io): Promise<number> {
  io.stdout(`${generateSwarmKey()}\n`);
  return 0;
}
