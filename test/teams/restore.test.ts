import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteConversationLog, Team, Worker } from "../../src/index.ts";
import { ErrorCode, TeamTaskError } from "../../src/errors.ts";
import { rejection } from "../helpers/net.ts";
import { crew, eventsOf, startNode, stopAll } from "./helpers.ts";

const dirs: string[] = [];
const logs: SqliteConversationLog[] = [];

afterEach(async () => {
  await stopAll();
  for (const log of logs.splice(0)) log.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function logFile(): string {
  const dir = mkdtempSync(join(tmpdir(), "teams-restore-"));
  dirs.push(dir);
  return join(dir, "boss.db");
}

function open(path: string): SqliteConversationLog {
  const log = new SqliteConversationLog(path);
  logs.push(log);
  return log;
}

describe("teams - restore from a SQLite log after a restart", () => {
  test("finished tasks come back with results; unfinished ones are re-offered when their lease runs out", async () => {
    const path = logFile();
    const [hand] = await crew(["hand"]);
    const first = open(path);
    const boss = await startNode({ name: "boss", swarm: "teams", heartbeatInterval: null, conversationLog: first });
    await boss.join({ seeds: [`127.0.0.1:${hand!.port}`] });
    const team = new Team(boss, { lease: 0.3 });
    const worker = new Worker(hand!).task(async (a) => {
      if (a.title === "report") await a.progress("drafted", { pages: 2 });
      if (a.title === "broken") throw new Error("no such file");
      return `${a.title} done`;
    });
    const done = await team.offer("report");
    const broken = await team.offer("broken");
    expect(await team.wait(done, { timeout: 10 })).toBe("report done");
    await rejection(team.wait(broken, { timeout: 10 }), TeamTaskError);
    // A task that needs what nobody has yet: still offered when the team's node goes down.
    const pending = await team.offer("deploy", { spec: { env: "prod" }, requires: ["deploy"] });
    await boss.stop();
    first.close();
    worker.close();

    // The team's node comes back with a new id but the same name, over the same file.
    const again = await startNode({ name: "boss", swarm: "teams", heartbeatInterval: null, conversationLog: open(path) });
    await again.join({ seeds: [`127.0.0.1:${hand!.port}`] });
    const restoredTeam = new Team(again, { lease: 0.3 });
    const restored = await restoredTeam.restore();
    expect(restored.map((t) => t.id).sort()).toEqual([done.id, broken.id, pending.id].sort());

    const back = restoredTeam.tasks.get(done.id)!;
    expect([back.status, back.result, back.title, back.attempt]).toEqual(["done", "report done", "report", 1]);
    expect(back.assignee).toEqual({ id: hand!.id, name: "hand" });
    expect(back.progress.map((p) => [p.message, p.data])).toEqual([["drafted", { pages: 2 }]]);
    expect(await restoredTeam.wait(done.id)).toBe("report done");
    const failed = await rejection(restoredTeam.wait(broken.id), TeamTaskError);
    expect([failed.code, failed.error]).toEqual([ErrorCode.TaskFailed, "no such file"]);

    const open_ = restoredTeam.tasks.get(pending.id)!;
    expect([open_.title, open_.spec, open_.requires]).toEqual(["deploy", { env: "prod" }, ["deploy"]]);
    // A second restore adds nothing.
    expect(await restoredTeam.restore()).toEqual([]);

    // A worker that can deploy turns up: the re-offer after the lease reaches it.
    hand!.capability("deploy");
    new Worker(hand!).task((a) => `deployed to ${a.spec.env}`);
    expect(await restoredTeam.wait(pending.id, { timeout: 10 })).toBe("deployed to prod");
    expect(open_.attempt).toBeGreaterThanOrEqual(2);
    const offers = await eventsOf(again, pending.id, "task.offer");
    expect(offers.length).toBe(open_.attempt);
    restoredTeam.close();
  });

  test("restore skips conversations another node's offers opened, and plain broadcasts", async () => {
    const [boss, other] = await crew(["boss", "other"]);
    const theirs = new Team(other!);
    const task = await theirs.offer("not yours");
    await boss!.broadcast("_synapse.ping");
    const deadline = Date.now() + 5000;
    while ((await eventsOf(boss!, task.id)).length === 0 && Date.now() < deadline) await Bun.sleep(10);
    expect((await eventsOf(boss!, task.id)).length).toBe(1);
    const team = new Team(boss!);
    expect(await team.restore()).toEqual([]);
    expect(team.tasks.size).toBe(0);
    team.close();
    theirs.close();
  });
});
