import { expect, test } from "bun:test";
import { runScript } from "../helpers/examples.ts";

// `bun run demo` takes about 20 s; DEMO_PACE=0.1 runs the very same steps with every pause and
// thinking time ten times shorter. The demo's own waits for events are not shortened.
const run = (limitMs: number) => runScript("examples/demo/demo.ts", limitMs, { DEMO_PACE: "0.1" });

test("examples - demo: a seed, four agents joining, a synapse.ask broadcast with ACKs, immediate and deferred replies, a summary and exit 0", async () => {
  const { code, out, err } = await run(40_000);
  if (code !== 0) console.error(out, err);
  expect(err).toBe("");
  expect(code).toBe(0);

  // Timestamps on every narrated line, and the seed on an ephemeral loopback port.
  expect(out).toMatch(/^\[\s*\d+\.\d\ds\] seed\s+listening on 127\.0\.0\.1:\d+ \(swarm "picnic"\)/m);

  // Joins, as the seed sees them and as each joiner is told.
  const capabilities: Record<string, string> = {
    weather: "forecast",
    cook: "menu, shopping-list",
    scout: "maps, routes",
    planner: "plan, schedule",
    asker: "none",
  };
  for (const [name, caps] of Object.entries(capabilities)) {
    expect(out).toMatch(new RegExp(`seed\\s+peer\\.joined ${name}\\s+[0-9a-f]{8}  127\\.0\\.0\\.1:\\d+  capabilities: ${caps}\\n`));
  }
  expect(out).toMatch(/weather\s+joined through the seed and was told about: seed\n/);
  expect(out).toMatch(/planner\s+joined through the seed and was told about: cook, scout, seed, weather\n/);
  expect(out).toMatch(/asker\s+joined through the seed and was told about: cook, planner, scout, seed, weather\n/);

  // The ask, an ACK from each agent (never from the seed), and broadcast() resolving.
  expect(out).toContain('asker      broadcasts synapse.ask("plan a picnic", context={day: "Saturday", people: 6}) to 5 peers');
  for (const agent of ["weather", "cook", "scout", "planner"]) {
    expect(out).toMatch(new RegExp(`ACK\\s+from ${agent}\\s+\\(\\+\\d+\\.\\d\\ds after the ask\\)`));
  }
  expect(out).not.toMatch(/ACK\s+from seed/);
  expect(out).toMatch(/broadcast\(\) resolved: every peer has answered the call \(conversation …[0-9a-f]{8}\)/);

  // Each reply as it arrives: weather's at once, the others after thinking; each carries its answer.
  expect(out).toMatch(/reply\s+from weather\s+\(immediate, \+\d+\.\d\ds after the ask\): Saturday: sunny, 24 °C/);
  expect(out).toMatch(/reply\s+from cook\s+\(deferred, \+\d+\.\d\ds after the ask\): for 6: lemonade/);
  expect(out).toMatch(/reply\s+from scout\s+\(deferred, \+\d+\.\d\ds after the ask\): Riverside Park/);
  expect(out).toMatch(/reply\s+from planner\s+\(deferred, \+\d+\.\d\ds after the ask\): 11:00 meet at the park gate/);
  expect(out).not.toMatch(/reply\s+from seed/);

  // The summary, then the clean stop as the last line.
  expect(out).toContain('swarm "picnic": 6 nodes (seed, weather, cook, scout, planner, asker)');
  expect(out).toContain("asked 5 peers; 4 ACKs (cook, planner, scout, weather)");
  expect(out).toContain("4 replies: 1 immediate (weather: answered at once), 3 deferred (cook, planner, scout: thought first)");
  expect(out).toContain("silent: seed (no ask handler)");
  // The opening message first; the ACKs and replies after it, in the order they arrived.
  const kinds = out.match(/the conversation at asker: (.*)\n/)?.[1];
  expect(kinds?.startsWith("message, ")).toBe(true);
  const expanded = kinds!.split(", ").flatMap((run) => {
    const [kind, times] = run.split(" ×");
    return Array<string>(Number(times ?? 1)).fill(kind!);
  });
  expect(expanded.slice(1).sort()).toEqual(["ack", "ack", "ack", "ack", "reply", "reply", "reply", "reply"]);
  expect(out).toContain("every node holds all 4 replies");
  expect(out.trimEnd()).toMatch(/everyone stopped; bye$/);
}, 60_000);

test("examples - demo refuses a DEMO_PACE that is not a positive number, with status 2", async () => {
  const { code, err } = await runScript("examples/demo/demo.ts", 20_000, { DEMO_PACE: "fast" });
  expect(code).toBe(2);
  expect(err).toContain('DEMO_PACE must be a positive number, got "fast"');
});
