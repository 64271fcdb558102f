import { expect, test } from "bun:test";
import { runScript } from "../helpers/examples.ts";

const run = (limitMs: number) => runScript("examples/ask/agents.ts", limitMs);

test("examples - ask agents: cards, a direct _node.ask, a synapse.ask broadcast with ACKs, replies and an error event", async () => {
  const { code, out, err } = await run(20_000);
  if (code !== 0) console.error(out, err);
  expect(err).toBe("");
  expect(code).toBe(0);

  expect(out).toContain("agents in the swarm: counter, poet, translator");

  // Agent cards, listed with _synapse.artifacts and fetched with _synapse.artifact.get.
  // Agent cards in the Python examples' convention.
  for (const agent of ["counter", "poet", "translator"]) {
    expect(out).toMatch(new RegExp(`card of ${agent}: metadata, application/vnd\\.synapse\\.agent-card\\+json, \\d+ bytes, sha256 [0-9a-f]{12}…`));
  }
  expect(out).toContain('role: writes three-line poems; capabilities: poem; Writes a poem for a task starting with "poem:"; context.mood: an adjective.');
  expect(out).toContain("role: translates short phrases; capabilities: translate; Translates a phrase;");
  expect(out).toContain("role: counts words; capabilities: count; Counts the words and letters of any text.");

  // Direct _node.ask with a context, and the handler's error coming back as internal_error.
  expect(out).toContain("direct _node.ask to poet: the sea, calm today, / turns its pages one by one / and reads them again");
  expect(out).toContain('direct _node.ask to poet failed: internal_error: poet only writes poems, and "good morning" is not one');

  // synapse.ask as a broadcast: three ACKs before broadcast() resolves, two deferred replies, one error event.
  for (const agent of ["counter", "poet", "translator"]) expect(out).toContain(`ACK from ${agent}`);
  expect(out).toContain("broadcast() resolved with 3 ACKs; waiting for the answers");
  expect(out).toContain("deferred answer from translator: good morning in German: guten Morgen");
  expect(out).toContain('deferred answer from counter: "good morning" has 2 words and 11 letters');
  expect(out).toContain('error event from poet: poet only writes poems, and "good morning" is not one (task "good morning")');
  expect(out).not.toContain("deferred answer from poet");
  expect(out).toContain("replies: counter, translator; errors: poet");

  // The conversation as the asker stored it: the message, three ACKs, then the error and replies in arrival order.
  const kinds = out.match(/the conversation at asker: (.*)\n/)?.[1]?.split(", ");
  expect(kinds?.slice(0, 4)).toEqual(["message", "ack", "ack", "ack"]);
  expect(kinds?.slice(4).sort()).toEqual(["error", "reply", "reply"]);
  expect(out.trimEnd()).toMatch(/everyone stopped$/);
}, 30_000);
