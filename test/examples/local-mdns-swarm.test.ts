/**
 * local_mdns_swarm finds its nodes by mDNS alone, so its test runs inside a network namespace
 * created (and deleted) here, where multicast stays on the namespace's own loopback. Skipped, with
 * the reason, without root or `ip`.
 */
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { ROOT } from "../helpers/examples.ts";
import { Netns, cleanupNamespaces, netnsUnavailable } from "../helpers/netns.ts";
import { conversationKinds } from "./processes.ts";

const unavailable = netnsUnavailable();
if (unavailable) console.warn(`SKIP examples - local_mdns_swarm (runs only in a network namespace): ${unavailable}`);
const nsTest = unavailable ? test.skip : test;

afterEach(cleanupNamespaces);

/** Run `file` with Bun inside `ns` until it exits (SIGKILL after `seconds`). */
async function runInside(ns: Netns, file: string, args: string[], seconds: number): Promise<{ code: number; out: string; err: string }> {
  const child = ns.spawnBun(join(ROOT, file), args);
  child.stdin.end();
  const timer = setTimeout(() => child.kill("SIGKILL"), seconds * 1000);
  const [code, out, err] = await Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()]);
  clearTimeout(timer);
  return { code, out, err };
}

nsTest(
  "examples - local_mdns_swarm: reviewer, coder and asker find each other by mDNS alone; ACKs and replies in one conversation",
  async () => {
    const ns = Netns.create();
    const { code, out, err } = await runInside(ns, "examples/local_mdns_swarm/launch.ts", ["--task", "Ship it?"], 60);
    if (code !== 0) console.error(out, err);
    expect(err).toBe("");
    expect(code).toBe(0);
    expect(out).toMatch(/reviewer │ reviewer online at 127\.0\.0\.1:\d+/);
    expect(out).toMatch(/coder\s+│ coder online at 127\.0\.0\.1:\d+/);
    // No seed anywhere: the agents found each other, and the asker found both.
    expect(out).toMatch(/reviewer │ joined: coder at 127\.0\.0\.1:\d+/);
    expect(out).toContain("found by mDNS: coder, reviewer");
    expect(out).toContain("card: coder (coder): Turns a task into an implementation sketch.");
    expect(out).toContain("card: reviewer (reviewer): Reviews a task and returns concise feedback.");
    expect(out).toContain("ACK from coder");
    expect(out).toContain("ACK from reviewer");
    expect(out).toContain("reply from coder: I can code it.");
    expect(out).toContain("reply from reviewer: I can review it.");
    expect(out).toMatch(/synapse\.ask\("Ship it\?"\) to 2 peers, conversation …[0-9a-f]{8}/);
    expect(conversationKinds(out)).toEqual({ first: "message", rest: ["ack", "ack", "reply", "reply"] });
    expect(out.trimEnd()).toMatch(/launch: every node stopped$/);
  },
  90_000,
);
