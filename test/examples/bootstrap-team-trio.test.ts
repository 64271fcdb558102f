import { afterEach, expect, test } from "bun:test";
import { runScript } from "../helpers/examples.ts";
import { ExampleProcess, conversationKinds } from "./processes.ts";

const started: ExampleProcess[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((p) => (p.child.exitCode === null ? p.stop("SIGKILL", 5) : 0)));
});

test("examples - bootstrap_team_trio: bootstrap, coder, reviewer and planner as four processes; cards, ACKs and replies", async () => {
  const { code, out, err } = await runScript("examples/bootstrap_team_trio/launch.ts", 40_000);
  if (code !== 0) console.error(out, err);
  expect(err).toBe("");
  expect(code).toBe(0);
  expect(out).toContain("bootstrap │ joined: coder (typescript, implementation)");
  expect(out).toContain("bootstrap │ joined: reviewer (code-review)");
  expect(out).toContain("planner joined; peers: bootstrap, coder, reviewer");
  // Every card, the bootstrap node's included, in the Python examples' shape.
  expect(out).toContain("card: bootstrap (bootstrap) -: First contact for the team; does no work of its own.");
  expect(out).toContain("card: coder (coder) typescript, implementation: Turns a task into an implementation sketch.");
  expect(out).toContain("card: reviewer (reviewer) code-review: Reviews a task and returns concise feedback.");
  // The ask: both workers ACK and reply; the bootstrap node stays silent.
  expect(out).toContain('synapse.ask("add a retry to the HTTP client") to 3 peers');
  expect(out).toContain("ACK from coder");
  expect(out).toContain("ACK from reviewer");
  expect(out).not.toContain("ACK from bootstrap");
  expect(out).toContain('reply from coder: I can code it: a module for "add a retry to the HTTP client" with unit tests.');
  expect(out).toContain('reply from reviewer: I can review it: check error handling and tests for "add a retry to the HTTP client".');
  expect(conversationKinds(out)).toEqual({ first: "message", rest: ["ack", "ack", "reply", "reply"] });
  for (const name of ["reviewer", "coder", "bootstrap"]) expect(out).toContain(`${name}: SIGINT, stopping`);
  expect(out.trimEnd()).toMatch(/launch: every node stopped$/);
}, 60_000);

test("examples - bootstrap_team_trio: started one by one, a planner with a task of its own, Ctrl+C stops each node", async () => {
  const bootstrap = new ExampleProcess("examples/bootstrap_team_trio/bootstrap.ts", ["--port", "0"]);
  started.push(bootstrap);
  const [, seed] = await bootstrap.waitFor(/ready name=bootstrap address=(\S+)/, 15);
  const coder = new ExampleProcess("examples/bootstrap_team_trio/coder.ts", ["--seed", seed!]);
  started.push(coder);
  await coder.waitFor(/ready name=coder/, 15);
  // Without the reviewer: the planner waits for the agents whose cards it found, the coder alone.
  const { code, out } = await runScript("examples/bootstrap_team_trio/planner.ts", 20_000, {}, ["--seed", seed!, "--task", "write a parser"]);
  expect(code).toBe(0);
  expect(out).toContain("planner joined; peers: bootstrap, coder");
  expect(out).toContain('reply from coder: I can code it: a module for "write a parser" with unit tests.');
  expect(out).toContain("the conversation: message, ack, reply");
  expect(await coder.stop()).toBe(0);
  expect(await bootstrap.stop()).toBe(0);
}, 60_000);
