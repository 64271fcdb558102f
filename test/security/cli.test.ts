/**
 * `sn` in a closed swarm: `sn keygen` makes keys, `--swarm-key` (or `SYNAPSE_SWARM_KEY`) lets a
 * command's node in; without the key it reaches nobody.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { parseSwarmKey } from "../../src/security/keyring.ts";
import type { CallContext } from "../../src/rpc/endpoints.ts";
import { startNode, stopAll } from "../helpers/net.ts";
import { killAll, sn } from "../cli/run-sn.ts";

afterEach(async () => {
  await killAll();
  await stopAll();
});

describe("cli - closed swarm", () => {
  test("sn keygen prints a new 32-byte key in base64 each time", async () => {
    const [a, b] = await Promise.all([sn(["keygen"]), sn(["keygen"])]);
    expect(a.code).toBe(0);
    const key = a.stdout.trim();
    expect(key).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(parseSwarmKey(key)).toHaveLength(32);
    expect(b.stdout.trim()).not.toBe(key);
  }, 30_000);

  test("sn broadcast with --swarm-key (or SYNAPSE_SWARM_KEY) reaches a closed node; without it, nobody", async () => {
    const key = (await sn(["keygen"])).stdout.trim();
    const node = await startNode({ name: "vault", swarm: "lab", swarmKey: key, heartbeatInterval: null });
    node.endpoint("synapse.message", async (_message: unknown, ctx: CallContext) => {
      if (ctx.broadcast) await node.reply(ctx.broadcast, { received_by: "vault" });
      return { ok: "true" };
    });
    const seed = ["--no-mdns", "-s", `127.0.0.1:${node.port}`, "--timeout", "5"];
    const withFlag = await sn(["broadcast", "lab", "hello", ...seed, "--swarm-key", key]);
    expect(withFlag.stdout).toContain('- vault: {"received_by":"vault"}');
    expect(withFlag.code).toBe(0);
    const withEnv = await sn(["broadcast", "lab", "hello", ...seed], 15_000, { SYNAPSE_SWARM_KEY: key });
    expect(withEnv.code).toBe(0);
    const without = await sn(["broadcast", "lab", "hello", ...seed.slice(0, 3), "--timeout", "0.3"]);
    expect(without.code).not.toBe(0);
    expect(without.stdout).not.toContain("vault");
  }, 60_000);
});

describe("sn info - the agent card's signature", () => {
  test("a signed card shows its signer; a tampered one is flagged; none published says so", async () => {
    const node = await startNode({ name: "carded", heartbeatInterval: null });
    const addr = `127.0.0.1:${node.port}`;
    const none = await sn(["info", addr]);
    expect(none.stdout).toContain("  agent card   (none published)\n");
    node.publishAgentCard();
    const signed = await sn(["info", addr]);
    expect(signed.code).toBe(0);
    expect(signed.stdout).toContain(`  agent card   signed by ${node.id.slice(0, 8)}\n`);
    const json = JSON.parse((await sn(["info", addr, "--json"])).stdout);
    expect(json.agent_card).toEqual({ status: "signed", signer: node.id });
    // The same node serving an altered card (as a tampering relay or a rewritten store would).
    const card = node.artifacts.get("agent-card");
    node.endpoints.unregister("_synapse.artifact.get");
    node.endpoint("_synapse.artifact.get", { params: ["name"] }, () => ({ ...card, content: { ...(card.content as object), capabilities: ["root"] } }));
    const tampered = await sn(["info", addr]);
    expect(tampered.code).toBe(0);
    expect(tampered.stdout).toContain("  agent card   TAMPERED: the content does not match its sha256\n");
  }, 30_000);
});
