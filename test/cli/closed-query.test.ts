/**
 * The one-node commands (`ping`, `info`, `methods`, `peers`, `call`) against a node of a closed
 * swarm: with `--swarm-key` (or `SYNAPSE_SWARM_KEY`) and the swarm's name they get through the
 * handshake; each mistake (no key, a wrong key, a wrong swarm name, a key for an open node) is one
 * line on stderr that says what to do, and exit code 1.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Node } from "../../src/node.ts";
import type { CallContext } from "../../src/rpc/endpoints.ts";
import { NodeIdentity } from "../../src/security/identity.ts";
import { generateSwarmKey } from "../../src/security/keyring.ts";
import { startNode, stopAll } from "../helpers/net.ts";
import { killAll, sn, type SnResult } from "./run-sn.ts";

const key = generateSwarmKey();
let vault: Node;
let open: Node;
let addr: string;
let dir: string;

beforeAll(async () => {
  vault = await startNode({ name: "vault", swarm: "lab", swarmKey: key, heartbeatInterval: null });
  vault.endpoint("sum", { description: "Add two numbers" }, (a: number, b: number) => a + b);
  vault.endpoint("whoami", (ctx: CallContext) => ctx.remoteIdentity);
  open = await startNode({ name: "open", swarm: "lab", swarmKey: null, heartbeatInterval: null });
  addr = `127.0.0.1:${vault.port}`;
  dir = mkdtempSync(join(tmpdir(), "sn-closed-query-"));
});
afterEach(killAll);
afterAll(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

/** One line on stderr, no stack trace, exit code 1. */
function oneLine(result: SnResult): string {
  expect(result.code).toBe(1);
  expect(result.stdout).toBe("");
  const lines = result.stderr.trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  expect(result.stderr).not.toMatch(/\n\s+at /);
  return lines[0]!;
}

describe("cli closed swarm - one-node commands", () => {
  test("with --swarm-key and --swarm every command gets through; SYNAPSE_SWARM_KEY and SN_SWARM do too", async () => {
    const flags = ["--swarm-key", key, "--swarm", "lab"];
    const [ping, info, methods, peers, call, env] = await Promise.all([
      sn(["ping", addr, ...flags]),
      sn(["info", addr, ...flags, "--json"]),
      sn(["methods", addr, ...flags]),
      sn(["peers", addr, ...flags]),
      sn(["call", addr, "sum", "2", "3", ...flags]),
      sn(["call", addr, "sum", "4", "5"], 15_000, { SYNAPSE_SWARM_KEY: key, SN_SWARM: "lab" }),
    ]);
    expect(ping.stdout).toStartWith(`pong from ${addr} in `);
    expect(JSON.parse(info.stdout)).toMatchObject({ name: "vault", id: vault.id, swarm: "lab" });
    expect(methods.stdout).toContain("Add two numbers");
    expect(peers.stdout).toContain("(no known peers)");
    expect(call.stdout.trim()).toBe("5");
    expect(env.stdout.trim()).toBe("9");
    for (const r of [ping, info, methods, peers, call, env]) expect(r.code).toBe(0);
  }, 60_000);

  test("--identity FILE is the identity the node sees (ctx.remoteIdentity); SYNAPSE_IDENTITY too", async () => {
    const file = join(dir, "me.id");
    const first = await sn(["call", addr, "whoami", "--swarm-key", key, "--swarm", "lab", "--identity", file]);
    expect(first.code).toBe(0);
    const id = NodeIdentity.load(file).id;
    expect(JSON.parse(first.stdout)).toBe(id);
    const env = await sn(["call", addr, "whoami", "--swarm", "lab"], 15_000, { SYNAPSE_SWARM_KEY: key, SYNAPSE_IDENTITY: file });
    expect(JSON.parse(env.stdout)).toBe(id);
  }, 60_000);

  test("each mistake is one line that says what to do", async () => {
    const [none, wrongKey, wrongSwarm, noSwarm, openNode] = await Promise.all([
      sn(["ping", addr]),
      sn(["ping", addr, "--swarm-key", generateSwarmKey(), "--swarm", "lab"]),
      sn(["info", addr, "--swarm-key", key, "--swarm", "other"]),
      sn(["call", addr, "sum", "1", "2", "--swarm-key", key]),
      sn(["ping", `127.0.0.1:${open.port}`, "--swarm-key", key, "--swarm", "lab"]),
    ]);
    expect(oneLine(none)).toBe(`error: connection_closed: the node at ${addr} closed the connection without answering: is it in a closed swarm? pass --swarm-key KEY and --swarm NAME`);
    expect(oneLine(wrongKey)).toBe(
      `error: connection_closed: the node at ${addr} closed the connection right after the handshake: it does not hold the swarm key given (the first of --swarm-key or SYNAPSE_SWARM_KEY); check it`,
    );
    expect(oneLine(wrongSwarm)).toBe(
      `error: connection_closed: the node at ${addr} closed the connection during the handshake: is it in another swarm than "other" (pass its --swarm NAME: the handshake binds it), or an open or Python node (then leave out --swarm-key)?`,
    );
    expect(oneLine(noSwarm)).toContain("is it in a named swarm (pass its --swarm NAME: the handshake binds it)");
    expect(oneLine(openNode)).toBe(`error: connection_closed: the node at 127.0.0.1:${open.port} is not in a closed swarm (it answered in plaintext): leave out --swarm-key (and SYNAPSE_SWARM_KEY)`);
  }, 60_000);

  test("--json puts the hint in the error record; --swarm without a key is a usage error", async () => {
    const [json, lone] = await Promise.all([sn(["ping", addr, "--json"]), sn(["ping", addr, "--swarm", "lab"])]);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({
      error: { code: "connection_closed", message: `the node at ${addr} closed the connection without answering: is it in a closed swarm? pass --swarm-key KEY and --swarm NAME` },
    });
    expect(lone.code).toBe(2);
    expect(lone.stderr).toBe("error: --swarm is for a closed swarm's node: give its key too (--swarm-key KEY or SYNAPSE_SWARM_KEY) (see `sn ping --help`)\n");
  }, 60_000);
});

describe("cli closed swarm - a swarm command's seed", () => {
  test("a seed refused for a missing or wrong key or swarm name says why in its warning", async () => {
    const seed = ["--no-mdns", "-s", addr, "--timeout", "0.5", "--discover", "0.5"];
    const [none, wrongKey, wrongSwarm] = await Promise.all([
      sn(["broadcast", "lab", "hi", ...seed]),
      sn(["broadcast", "lab", "hi", ...seed, "--swarm-key", generateSwarmKey()]),
      sn(["broadcast", "other", "hi", ...seed, "--swarm-key", key]),
    ]);
    const warning = (r: SnResult) => {
      expect(r.code).toBe(1);
      return r.stderr.split("\n").find((l) => l.startsWith(`warning: seed ${addr}: `));
    };
    expect(warning(none)).toBe(`warning: seed ${addr}: the node at ${addr} closed the connection without answering: is it in a closed swarm? pass --swarm-key KEY`);
    expect(warning(wrongKey)).toContain("closed the connection right after the handshake: it does not hold the swarm key given");
    expect(warning(wrongSwarm)).toContain(`is it in another swarm than "other" (the handshake binds the swarm name)`);
  }, 60_000);
});
