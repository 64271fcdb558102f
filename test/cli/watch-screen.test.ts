import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { painter, plain } from "../../src/cli/color.ts";
import { WatchModel } from "../../src/cli/watch-model.ts";
import { clip, renderScreen } from "../../src/cli/watch-screen.ts";
import type { Peer } from "../../src/index.ts";
import { startNode, stopAll } from "../helpers/net.ts";
import { ROOT } from "./run-sn.ts";

const peer = (name: string, n: number): Peer => ({
  id: `${String(n).repeat(8)}${"0".repeat(56)}`,
  address: "127.0.0.1",
  port: 4000 + n,
  swarm: "lab",
  team: "default",
  name,
  kind: "node",
  capabilities: n % 2 ? ["review", "test"] : [],
  last_seen: 0,
});
const header = { swarm: "lab", team: "default", name: "watcher", id: "ab".repeat(32), address: "127.0.0.1:5000" };

describe("cli watch - model", () => {
  test("status marks: fresh after joining, online while beating, stale when silent, offline kept then forgotten", () => {
    const model = new WatchModel({ heartbeat: 1, freshFor: 5, keepOffline: 60 });
    const ana = peer("ana", 1);
    model.joined(ana, 100);
    expect(model.list(101).map((p) => p.status)).toEqual(["fresh"]);
    model.seen(ana, 106);
    expect(model.list(107).map((p) => p.status)).toEqual(["online"]);
    expect(model.list(109).map((p) => p.status)).toEqual(["stale"]);
    model.offline(ana, 110);
    expect(model.list(150)).toMatchObject([{ status: "offline", offlineAt: 110 }]);
    expect(model.list(171)).toEqual([]);
    model.joined(ana, 200); // back again
    expect(model.list(200).map((p) => p.status)).toEqual(["fresh"]);
  });

  test("online peers first, by name; offline ones after; the event log is bounded", () => {
    const model = new WatchModel({ heartbeat: 1, maxEvents: 3 });
    for (const [i, name] of ["cy", "ann", "bo"].entries()) model.joined(peer(name, i + 1), 0);
    model.offline(peer("ann", 2), 1);
    expect(model.list(2).map((p) => p.peer.name)).toEqual(["bo", "cy", "ann"]);
    for (let i = 0; i < 5; i++) model.log({ time: i, kind: "JOINED", who: `p${i}`, text: "", tag: "" });
    expect(model.events.map((e) => e.who)).toEqual(["p2", "p3", "p4"]);
  });
});

describe("cli watch - screen layout", () => {
  const filled = () => {
    const model = new WatchModel({ heartbeat: 1 });
    for (let i = 1; i <= 30; i++) model.joined(peer(`peer-with-a-rather-long-name-${i}`, i % 10), 0);
    for (let i = 0; i < 100; i++) model.log({ time: i, kind: i % 2 ? "REPLY" : "ASK", who: "someone", text: "x".repeat(200), tag: "…1a2b3c4d" });
    return model;
  };

  test("exactly `height` lines, none wider than `width`, at every size; colours add no width", () => {
    for (const [width, height] of [[1, 1], [8, 3], [20, 5], [40, 10], [80, 24], [200, 60]] as const) {
      for (const colours of [false, true]) {
        const lines = renderScreen(filled(), { width, height, now: 10, header, capabilities: true, paint: painter(colours) });
        expect(lines).toHaveLength(height);
        for (const line of lines) expect([...plain(line)].length).toBeLessThanOrEqual(width);
      }
    }
  });

  test("header, table with marks and columns, event log with the newest events at the bottom", () => {
    const model = new WatchModel({ heartbeat: 1 });
    model.joined(peer("ana", 1), 0);
    model.setRole(peer("ana", 1).id, "reviewer");
    model.seen(peer("ana", 1), 9.5);
    model.joined(peer("ben", 2), 0);
    model.offline(peer("ben", 2), 5);
    model.log({ time: 1, kind: "JOINED", who: "ana", text: "127.0.0.1:4001  node", tag: "" });
    model.log({ time: 2, kind: "MESSAGE", who: "speaker", text: "Ship status?", tag: "…1a2b3c4d" });
    const lines = renderScreen(model, { width: 100, height: 14, now: 10, header, capabilities: true, paint: painter(false) });
    expect(lines[0]).toStartWith("sn watch  swarm lab  team default  as watcher abababab on 127.0.0.1:5000");
    expect(lines[1]).toStartWith("1 online, 0 stale, 1 offline");
    expect(lines[3]).toMatch(/^ {2}NAME +ID +ADDRESS +KIND +ROLE +CAPABILITIES$/);
    expect(lines[4]).toMatch(/^● ana +11111111 +127\.0\.0\.1:4001 +node +reviewer +review,test$/);
    expect(lines[5]).toMatch(/^✗ ben +22222222 +127\.0\.0\.1:4002 +node +- +- +\(offline 5s\)$/);
    const log = lines.slice(lines.findIndex((l) => l.startsWith("── events")) + 1).filter((l) => l !== "");
    expect(log).toHaveLength(2);
    expect(log[1]).toMatch(/^\d\d:\d\d:\d\d  MESSAGE  speaker +Ship status\? {2}…1a2b3c4d$/);
    const noCaps = renderScreen(model, { width: 100, height: 14, now: 10, header, capabilities: false, paint: painter(false) });
    expect(noCaps[3]).not.toContain("CAPABILITIES");
  });

  test("clip cuts by character with an ellipsis", () => {
    expect(clip("abcdef", 4)).toBe("abc…");
    expect(clip("ab", 4)).toBe("ab");
    expect(clip("✗✗✗", 2)).toBe("✗…");
  });
});

// ---------------------------------------------------------------- live, in tmux

const tmuxMissing = spawnSync("tmux", ["-V"]).status === 0 ? null : "tmux is not installed";
if (tmuxMissing) console.warn(`skipping the live watch test: ${tmuxMissing}`);
const SOCKET = `sn-test-${process.pid}`;

function tmux(...args: string[]): string {
  const out = spawnSync("tmux", ["-L", SOCKET, ...args], { encoding: "utf8" });
  if (out.status !== 0) throw new Error(`tmux ${args.join(" ")}: ${out.stderr}`);
  return out.stdout;
}
const screen = () => tmux("capture-pane", "-p", "-t", "w");
const flags = () => tmux("display", "-p", "-t", "w", "#{alternate_on} #{cursor_flag}").trim();

async function until(check: (text: string) => boolean, what: string, ms = 15_000): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    const text = screen();
    if (check(text)) return text;
    if (Date.now() > deadline) throw new Error(`tmux: ${what} not seen within ${ms} ms; screen:\n${text}`);
    await Bun.sleep(100);
  }
}

afterEach(async () => {
  await stopAll();
});
afterAll(() => {
  spawnSync("tmux", ["-L", SOCKET, "kill-server"]);
});

describe.skipIf(tmuxMissing !== null)("cli watch - live view in tmux", () => {
  test("a peer joins and shows, goes offline and is marked; resize redraws; Ctrl+C restores the terminal", async () => {
    const seed = await startNode({ name: "seed", swarm: "cli-live", heartbeatInterval: 0.2, peerTimeout: 1 });
    const addr = `127.0.0.1:${seed.port}`;
    const command = `cd ${ROOT} && ${process.execPath} src/cli/main.ts watch cli-live --no-mdns -s ${addr} --heartbeat 0.2 --peer-timeout 1 --interval 0.1`;
    tmux("new-session", "-d", "-s", "w", "-x", "100", "-y", "30", "-e", "NO_COLOR=1", "sh", "-c", `printf 'BEFORE-MARK\\n'; ${command}; echo EXIT=$?; sleep 600`);

    const first = await until((t) => t.includes("sn watch  swarm cli-live"), "the header");
    expect(first.split("\n")[0]).toStartWith("sn watch  swarm cli-live  team default  as watcher ");
    expect(flags()).toBe("1 0"); // alternate screen, cursor hidden
    expect(tmux("capture-pane", "-e", "-p", "-t", "w")).not.toMatch(/\u001b\[(3\d|9\d|1|2)m/); // NO_COLOR: no colours

    const visitor = await startNode({ name: "visitor", swarm: "cli-live", heartbeatInterval: 0.2, peerTimeout: 1 });
    await visitor.join({ seeds: [addr] });
    const joined = await until((t) => /^[+●] visitor +[0-9a-f]{8} +127\.0\.0\.1:\d+ +node/m.test(t), "visitor in the table");
    expect(joined).toMatch(/JOINED +visitor/);

    await visitor.stop();
    const gone = await until((t) => /^✗ visitor .*\(offline \d+s\)$/m.test(t), "visitor marked offline");
    expect(gone).toMatch(/OFFLINE +visitor/);
    expect(gone.split("\n")[0]).toStartWith("sn watch  swarm cli-live"); // never scrolled

    tmux("resize-window", "-t", "w", "-x", "60", "-y", "16");
    const small = await until((t) => t.split("\n").length <= 17 && t.split("\n")[0]!.length <= 60 && t.includes("✗ visitor"), "the redraw at 60x16");
    for (const line of small.split("\n")) expect([...line].length).toBeLessThanOrEqual(60);
    expect(small.split("\n")[0]).toStartWith("sn watch  swarm cli-live");

    tmux("send-keys", "-t", "w", "C-c");
    const after = await until((t) => t.includes("EXIT=0"), "the exit");
    expect(after).toContain("BEFORE-MARK");
    expect(after).not.toContain("── events");
    expect(flags()).toBe("0 1"); // normal screen, cursor shown
  }, 60_000);
});
