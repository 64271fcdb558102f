import { afterEach, expect, test } from "bun:test";
import { runScript } from "../helpers/examples.ts";
import { pickModel } from "../../examples/ai_team/model.ts";
import { conversationKinds } from "./processes.ts";

let server: ReturnType<typeof Bun.serve> | null = null;
afterEach(() => {
  server?.stop(true);
  server = null;
});

const canned: Record<string, string> = {
  reviewer: "Reviewer: I can review the diff. I would check edge cases, error handling, and tests.",
  coder: "Coder: I can implement it. I would create a small patch, add tests, and verify behavior.",
  product: "Product: I can frame it. Lead with the user benefit, reduce setup, and make the demo obvious.",
};

test("examples - ai_team: three AI agents and a lead as four processes, on the AI SDK's mock model when no endpoint is set", async () => {
  const { code, out, err } = await runScript("examples/ai_team/launch.ts", 40_000, { AI_TEAM_BASE_URL: "" });
  if (code !== 0) console.error(out, err);
  expect(err).toBe("");
  expect(code).toBe(0);
  for (const name of ["reviewer", "coder", "product"]) expect(out).toMatch(new RegExp(`${name}\\s+│ ${name} online at 127\\.0\\.0\\.1:\\d+; model: mock`));
  expect(out).toContain("lead joined; peers: coder, product, reviewer");
  expect(out).toContain("card: reviewer (code reviewer): Reviews code and points out risks and missing tests.");
  expect(out).toContain("card: coder (implementation): Creates implementation plans, patches, and test ideas.");
  expect(out).toContain("card: product (product strategist): Frames product value, positioning, and launch strategy.");
  for (const name of ["reviewer", "coder", "product"]) expect(out).toContain(`ACK from ${name}: wading in`);
  // The mock model's answer: the agent's line and the task it read from the prompt; deterministic.
  expect(out).toContain(`answer from reviewer (code reviewer): ${canned.reviewer} (task: Add rate limiting to the public API)`);
  expect(out).toContain(`answer from coder (implementation): ${canned.coder} (task: Add rate limiting to the public API)`);
  expect(out).toContain(`answer from product (product strategist): ${canned.product} (task: Add rate limiting to the public API)`);
  expect(conversationKinds(out)).toEqual({ first: "message", rest: ["ack", "ack", "ack", "reply", "reply", "reply"] });
  expect(out.trimEnd()).toMatch(/launch: every node stopped$/);
}, 60_000);

test("examples - ai_team: with AI_TEAM_BASE_URL the agents call an OpenAI-compatible endpoint (a local fake here)", async () => {
  const requests: Array<{ model: string; messages: Array<{ role: string; content: string }> }> = [];
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const url = new URL(request.url);
      if (request.method !== "POST" || url.pathname !== "/v1/chat/completions") return new Response("not found", { status: 404 });
      const body = (await request.json()) as (typeof requests)[number];
      requests.push(body);
      const system = body.messages.find((m) => m.role === "system")?.content ?? "";
      const persona = system.split(".")[0]!.replace("You are a concise ", "");
      return Response.json({
        id: `chatcmpl-${requests.length}`,
        object: "chat.completion",
        created: 1_700_000_000,
        model: body.model,
        choices: [{ index: 0, message: { role: "assistant", content: `(${body.model}) the ${persona} says:\nship it` }, finish_reason: "stop" }],
        usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
      });
    },
  });
  const base = `http://127.0.0.1:${server.port}/v1`;
  const { code, out, err } = await runScript("examples/ai_team/launch.ts", 40_000, { AI_TEAM_BASE_URL: base, AI_TEAM_MODEL: "tiny-llm", AI_TEAM_API_KEY: "secret" }, ["--task", "Rename the CLI"]);
  if (code !== 0) console.error(out, err);
  expect(code).toBe(0);
  expect(out).toContain(`model: tiny-llm at ${base}`);
  expect(out).toContain("answer from reviewer (code reviewer): (tiny-llm) the senior code reviewer says: ship it");
  expect(out).toContain("answer from coder (implementation): (tiny-llm) the implementation agent says: ship it");
  expect(out).toContain("answer from product (product strategist): (tiny-llm) the product strategist says: ship it");
  expect(requests.length).toBe(3);
  for (const request of requests) {
    expect(request.model).toBe("tiny-llm");
    expect(request.messages.find((m) => m.role === "user")?.content).toBe('Rename the CLI\n\nContext: {"repository":"synapse-p2p"}');
  }
}, 60_000);

test("examples - ai_team: the mock model is picked when no endpoint is set, and is deterministic", async () => {
  const { generateText } = await import("ai");
  const { model, label } = pickModel("Tester: fine.", {});
  expect(label).toStartWith("mock");
  const first = await generateText({ model, prompt: "check this\nmore" });
  const second = await generateText({ model, prompt: "check this\nmore" });
  expect(first.text).toBe("Tester: fine. (task: check this)");
  expect(second.text).toBe(first.text);
});
