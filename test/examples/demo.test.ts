import { expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { ROOT, quietEnv, runScript } from "../helpers/examples.ts";
import { ExampleProcess } from "./processes.ts";

// `bun run demo` takes about 20 s; DEMO_PACE=0.1 runs the very same steps with every pause,
// thinking time and period ten times shorter. The demo's own waits for events are not shortened.
const FAST = { DEMO_PACE: "0.1" };

test("examples - demo: a seed, four agents joining, a periodic task, a synapse.ask broadcast with ACKs and replies, a broadcast of its own, a summary and exit 0", async () => {
  const { code, out, err } = await runScript("examples/demo/demo.ts", 40_000, FAST);
  if (code !== 0) console.error(out, err);
  expect(err).toBe("");
  expect(code).toBe(0);

  // In a pipe: the line log, a timestamp on every step, the seed on an ephemeral loopback port.
  expect(out).toStartWith("synapse-p2p demo: a swarm on loopback (127.0.0.1) in one process; it stops by itself in about 20 s\n");
  expect(out).toMatch(/^\[\s*\d+\.\d\ds\] START   seed     listening on 127\.0\.0\.1:\d+ \(swarm "picnic"\)/m);

  // Joins, as the seed sees them (with capabilities) and as each joiner is told.
  const capabilities: Record<string, string> = { weather: "forecast", cook: "menu, shopping-list", scout: "maps, routes", planner: "plan, schedule", asker: "none" };
  for (const [name, caps] of Object.entries(capabilities)) {
    expect(out).toMatch(new RegExp(`JOINED  ${name.padEnd(8)} [0-9a-f]{8}  127\\.0\\.0\\.1:\\d+  capabilities: ${caps}\\n`));
  }
  expect(out).toContain("PEERS   weather  joined through the seed and was told about: seed\n");
  expect(out).toContain("PEERS   planner  joined through the seed and was told about: cook, scout, seed, weather\n");
  expect(out).toContain("PEERS   asker    joined through the seed and was told about: cook, planner, scout, seed, weather\n");

  // The periodic task: its first run as the weather agent starts, then every 0.4 s here.
  expect(out).toContain("TASK    weather  periodic check-sky #1: sunny, 24 °C\n");
  expect(out).toMatch(/TASK    weather  periodic check-sky #2: /);

  // The ask, an ACK from each agent (never from the seed), broadcast() resolving.
  expect(out).toContain('ASK     asker    broadcasts synapse.ask("plan a picnic", context={day: "Saturday", people: 6}) to 5 peers');
  for (const agent of ["weather", "cook", "scout", "planner"]) expect(out).toMatch(new RegExp(`ACK     ${agent.padEnd(8)} wades in \\(\\+\\d+\\.\\d\\ds after the ask\\)`));
  expect(out).not.toMatch(/ACK     seed/);
  expect(out).toMatch(/DONE    asker    broadcast\(\) resolved: every peer has answered the call \(conversation …[0-9a-f]{8}\)/);

  // Each reply as it arrives: weather's at once (with the sky of the latest check), the others after thinking.
  expect(out).toMatch(/REPLY   weather  \(immediate, \+\d+\.\d\ds\): Saturday: (sunny|a few clouds)[^;]*; no rain before 18:00/);
  expect(out).toMatch(/REPLY   cook     \(deferred, \+\d+\.\d\ds\): for 6: lemonade/);
  expect(out).toMatch(/REPLY   scout    \(deferred, \+\d+\.\d\ds\): Riverside Park/);
  expect(out).toMatch(/REPLY   planner  \(deferred, \+\d+\.\d\ds\): 11:00 meet at the park gate/);
  expect(out).not.toMatch(/REPLY   seed/);

  // The planner's own broadcast: those who bring something ACK and reply; the others stay silent.
  expect(out).toContain('CALL    planner  broadcasts picnic.notice("Saturday 11:00 at the park gate") to 5 peers');
  for (const agent of ["weather", "cook", "scout"]) expect(out).toContain(`ACK     ${agent.padEnd(8)} wades into the plan`);
  expect(out).toContain("REPLY   weather  weather brings sun cream");
  expect(out).toContain("REPLY   cook     cook brings lemonade and a plum cake");
  expect(out).toContain("REPLY   scout    scout brings the frisbee");

  // The summary, then the clean stop as the last line.
  expect(out).toContain('swarm "picnic": 6 nodes (seed, weather, cook, scout, planner, asker)');
  expect(out).toContain("ask: 5 peers asked; 4 ACKs (cook, planner, scout, weather)");
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
  expect(out).toContain("broadcast picnic.notice: 3 replies (cook, scout, weather)");
  expect(out).toMatch(/periodic task check-sky: ran ([2-9]|\d\d+) times/);
  expect(out).toMatch(/STOP    demo     done\n\[\s*\d+\.\d\ds\] everyone stopped; bye\n$/);
}, 60_000);

const script = spawnSync("script", ["--version"], { encoding: "utf8" });
const noScript = script.error || script.status !== 0 ? "the `script` command (util-linux) is missing" : null;
if (noScript) console.warn(`SKIP examples - demo on a terminal: ${noScript}`);

(noScript ? test.skip : test)("examples - demo on a terminal: the sn watch live view, then the summary once the screen is left", async () => {
  // `script` runs the demo on a pseudo-terminal, as in a real terminal window.
  const child = Bun.spawn(["script", "-qfec", `${process.execPath} examples/demo/demo.ts`, "/dev/null"], { cwd: ROOT, env: quietEnv(FAST), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => child.kill("SIGKILL"), 40_000);
  const [code, out] = await Promise.all([child.exited, new Response(child.stdout).text()]);
  clearTimeout(timer);
  expect(code).toBe(0);
  // Into the alternate screen and out of it again.
  expect(out).toContain("\u001b[?1049h");
  expect(out).toContain("\u001b[?1049l");
  const screen = out.slice(out.indexOf("\u001b[?1049h"), out.indexOf("\u001b[?1049l"));
  const plainScreen = screen.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, "");
  expect(plainScreen).toMatch(/sn watch  swarm picnic  team default  as seed [0-9a-f]{8} on 127\.0\.0\.1:\d+/);
  // The peer table (with roles and capabilities) and the event log.
  expect(plainScreen).toMatch(/weather\s+[0-9a-f]{8}\s+127\.0\.0\.1:\d+\s+node\s+knows the\b.*forecast/);
  for (const kind of ["JOINED", "TASK", "ASK", "ACK", "REPLY", "CALL", "SUMMARY"]) expect(plainScreen).toContain(kind);
  // After the screen: the summary and the last line, on the normal screen.
  const after = out.slice(out.indexOf("\u001b[?1049l")).replace(/\r/g, "");
  expect(after).toContain("    every node holds all 4 replies\n");
  expect(after).toMatch(/everyone stopped; bye\n$/);
}, 60_000);

test("examples - demo --forever keeps the swarm running after the summary; Ctrl+C stops it cleanly", async () => {
  const demo = new ExampleProcess("examples/demo/demo.ts", ["--forever"], FAST);
  await demo.waitFor(/WAIT    demo     running until Ctrl\+C/, 40);
  // Still alive: the periodic task keeps running.
  const before = Number(demo.out.match(/check-sky: ran (\d+) times/)![1]);
  await demo.waitFor(new RegExp(`check-sky #${before + 2}:`), 10);
  expect(await demo.stop("SIGINT")).toBe(0);
  expect(demo.out).toContain("it stops with Ctrl+C");
  expect(demo.out).toMatch(/STOP    demo     Ctrl\+C\n\[\s*\d+\.\d\ds\] everyone stopped; bye\n$/);
  expect(demo.err).toBe("");
}, 60_000);

test("examples - demo refuses a DEMO_PACE that is not a positive number, or an unknown flag, with status 2", async () => {
  const pace = await runScript("examples/demo/demo.ts", 20_000, { DEMO_PACE: "fast" });
  expect(pace.code).toBe(2);
  expect(pace.err).toContain('DEMO_PACE must be a positive number, got "fast"');
  const flag = await runScript("examples/demo/demo.ts", 20_000, {}, ["--slow"]);
  expect(flag.code).toBe(2);
  expect(flag.err).toContain("usage: bun run demo [--forever] [--lines]");
});
