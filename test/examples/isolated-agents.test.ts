import { afterEach, expect, test } from "bun:test";
import { runScript } from "../helpers/examples.ts";
import { ExampleProcess } from "./processes.ts";

const started: ExampleProcess[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((p) => (p.child.exitCode === null ? p.stop("SIGKILL", 5) : 0)));
});

test("examples - isolated_agents: the launcher runs alpha, beta and ask_alpha as three processes and stops them cleanly", async () => {
  const { code, out, err } = await runScript("examples/isolated_agents/launch.ts", 40_000);
  if (code !== 0) console.error(out, err);
  expect(err).toBe("");
  expect(code).toBe(0);
  expect(out).toMatch(/^alpha\s+│ ready name=alpha address=127\.0\.0\.1:\d+$/m);
  expect(out).toMatch(/^beta\s+│ ready name=beta address=127\.0\.0\.1:\d+$/m);
  // Delegation: ask_alpha → alpha.ask_beta → _node.ask on beta, the answer back through alpha.
  expect(out).toMatch(/alpha\s+│ delegating "summarize the release notes" to beta/);
  expect(out).toContain('beta      │ handling "summarize the release notes" for alpha');
  expect(out).toContain('alpha.ask_beta("summarize the release notes") → {"handled_by":"beta","task":"summarize the release notes","context":{"from":"alpha"}}');
  // Agent cards in the Python examples' convention.
  expect(out).toContain('card of alpha: coordinator; capabilities delegate; "Coordinates work and delegates tasks to beta."');
  expect(out).toContain('card of beta: worker; capabilities answer, echo; "Handles direct ask requests from alpha."');
  // synapse.ask across the swarm: beta ACKs and replies, alpha (no ask handler) stays silent.
  expect(out).toContain("ACK from beta");
  expect(out).toContain('reply from beta: {"handled_by":"beta","task":"summarize the release notes","context":{"from":"asker"}}');
  expect(out).not.toMatch(/(ACK|reply) from alpha/);
  expect(out).toContain("the conversation: message, ack, reply");
  // The clean stop.
  expect(out).toContain("beta      │ beta: SIGINT, stopping");
  expect(out).toContain("alpha     │ alpha: SIGINT, stopping");
  expect(out.trimEnd()).toMatch(/launch: every node stopped$/);
}, 60_000);

test("examples - isolated_agents: each node starts on its own (alpha, beta, then ask_alpha) and Ctrl+C stops it with status 0", async () => {
  const alpha = new ExampleProcess("examples/isolated_agents/alpha.ts", ["--port", "0"]);
  started.push(alpha);
  const [, address] = await alpha.waitFor(/ready name=alpha address=(\S+)/, 15);
  const beta = new ExampleProcess("examples/isolated_agents/beta.ts", ["--seed", address!]);
  started.push(beta);
  await beta.waitFor(/ready name=beta/, 15);
  const { code, out } = await runScript("examples/isolated_agents/ask_alpha.ts", 20_000, {}, ["--seed", address!, "--task", "count the stars"]);
  expect(code).toBe(0);
  expect(out).toContain('alpha.ask_beta("count the stars") → {"handled_by":"beta"');
  expect(await beta.stop("SIGINT")).toBe(0);
  expect(await alpha.stop("SIGTERM")).toBe(0);
  expect(alpha.out).toContain("alpha: SIGTERM, stopping");
  expect(beta.err).toBe("");
}, 60_000);

test("examples - isolated_agents: a bad flag is refused with status 2 and the usage", async () => {
  const { code, err } = await runScript("examples/isolated_agents/alpha.ts", 10_000, {}, ["--port", "x"]);
  expect(code).toBe(2);
  expect(err).toContain('--port must be a port number, got "x"');
  expect(err).toContain("usage: bun alpha.ts");
});
