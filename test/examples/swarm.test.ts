import { expect, test } from "bun:test";
import { runScript } from "../helpers/examples.ts";

const run = (limitMs: number) => runScript("examples/swarm/kitchen.ts", limitMs);

test("examples - swarm kitchen joins, broadcasts, gossips a claim, notices a cook leaving and exits 0", async () => {
  const { code, out, err } = await run(20_000);
  if (code !== 0) console.error(out, err);
  expect(err).toBe("");
  expect(code).toBe(0);

  // Joining through the seed: the last cook is told about everyone before it.
  expect(out).toMatch(/head-chef is the seed, listening on 127\.0\.0\.1:\d+/);
  expect(out).toContain("ana joined through the seed and was told about: head-chef");
  expect(out).toContain("cy joined through the seed and was told about: ana, ben, head-chef");

  // Who knows whom: everyone knows the three others, with their capabilities.
  expect(out).toMatch(/head-chef\s+knows ana \(soup, salad\), ben \(soup, grill\), cy \(pastry\)/);
  expect(out).toMatch(/ana\s+knows ben \(soup, grill\), cy \(pastry\), head-chef \(menu\)/);
  expect(out).toMatch(/ben\s+knows ana \(soup, salad\), cy \(pastry\), head-chef \(menu\)/);
  expect(out).toMatch(/cy\s+knows ana \(soup, salad\), ben \(soup, grill\), head-chef \(menu\)/);

  // The broadcast: the soup cooks ACK and reply, cy stays silent.
  expect(out).toContain('head-chef broadcasts kitchen.who_can("soup"), expecting answers from ana and ben');
  expect(out).toContain("head-chef got an ACK from ana");
  expect(out).toContain("head-chef got an ACK from ben");
  expect(out).not.toContain("ACK from cy");
  expect(out).toMatch(/broadcast\(\) resolved: every cook has answered the call \(conversation [0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}\)/);
  expect(out).toContain("head-chef got a reply from ana: ana can make soup in 20 minutes");
  expect(out).toContain("head-chef got a reply from ben: ben can make soup in 25 minutes");
  expect(out).toContain('replies to kitchen.who_can("soup"): ana, ben');
  expect(out).toContain("stayed silent: cy");

  // The custom event reaches every node, its author included.
  for (const node of ["head-chef", "ana", "ben", "cy"]) expect(out).toContain(`${node} saw ana claim soup (12 portions)`);
  // The opening message first and the claim last; ACKs and replies in between, in the order they happened.
  const kinds = out.match(/the conversation at head-chef: (.*)\n/)?.[1]?.split(", ");
  expect(kinds?.[0]).toBe("message");
  expect(kinds?.at(-1)).toBe("task.claim");
  expect(kinds?.slice(1, -1).sort()).toEqual(["ack", "ack", "reply", "reply"]);

  // cy leaves; the three others report it offline, once each.
  expect(out).toContain("cy stops and goes home");
  for (const node of ["head-chef", "ana", "ben"]) {
    expect(out.split(`${node}: peer.offline cy`).length - 1).toBe(1);
  }
  expect(out).not.toContain("cy: peer.offline");
  expect(out.trimEnd()).toMatch(/kitchen closed$/);
}, 30_000);
