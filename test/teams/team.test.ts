import { afterEach, describe, expect, test } from "bun:test";
import { Team, Worker, type TeamTaskEvent, type WorkerTaskEvent } from "../../src/index.ts";
import { ConfigError, ErrorCode, TeamTaskError } from "../../src/errors.ts";
import { isUuidv7 } from "../../src/conversation/uuid.ts";
import { rejection } from "../helpers/net.ts";
import { crew, eventsOf, eventually, stopAll, untilEvents } from "./helpers.ts";

afterEach(stopAll);

describe("teams - one task across nodes", () => {
  test("offer -> claim -> grant -> progress -> done, seen the same by a bystander", async () => {
    const [boss, hand, watcher] = await crew(["boss", "hand", "watcher"]);
    const team = new Team(boss!, { lease: 30 });
    const worker = new Worker(hand!);
    const seen: string[] = [];
    for (const name of ["team.task.offered", "team.task.granted", "team.task.progress", "team.task.done"] as const) {
      boss!.on(name, (e: TeamTaskEvent) => seen.push(`${name}:${e.task.status}`));
    }
    const workerSeen: WorkerTaskEvent[] = [];
    hand!.on("worker.task.finished", (e) => void workerSeen.push(e));
    worker.task(async (a) => {
      await a.progress("half way", { percent: 50 });
      return { lines: a.spec.lines, by: a.team.name, attempt: a.attempt };
    });

    const task = await team.offer("write tests", { spec: { lines: 40 }, requires: [] });
    expect(isUuidv7(task.id)).toBe(true);
    expect(await team.wait(task, { timeout: 10 })).toEqual({ lines: 40, by: "boss", attempt: 1 });
    expect(task.status).toBe("done");
    expect(task.assignee).toEqual({ id: hand!.id, name: "hand" });
    expect(task.progress.map((p) => [p.message, p.data, p.peer.name])).toEqual([["half way", { percent: 50 }, "hand"]]);
    expect(team.tasks.get(task.id)).toBe(task);
    expect(seen).toEqual(["team.task.offered:offered", "team.task.granted:claimed", "team.task.progress:claimed", "team.task.done:done"]);
    await eventually(() => workerSeen.length > 0, 5000, "worker.task.finished");
    expect(workerSeen.map((e) => [e.taskId, e.result])).toEqual([[task.id, { lines: 40, by: "boss", attempt: 1 }]]);

    // The bystander holds the whole conversation, payloads as the protocol spells them.
    await untilEvents(watcher!, task.id, "task.done", 1, "done at the bystander");
    const events = await eventsOf(watcher!, task.id);
    expect(events.map((e) => e.kind)).toEqual(["task.offer", "task.claim", "task.grant", "task.progress", "task.done"]);
    const [offer, claim, grant, progress, done] = events;
    expect(offer!.conversation_id).toBe(task.id);
    expect(offer!.payload).toEqual({ task_id: task.id, title: "write tests", spec: { lines: 40 }, requires: [], attempt: 1 });
    expect(Object.keys(offer!.payload)).toEqual(["task_id", "title", "spec", "requires", "attempt"]);
    expect(claim!.payload).toEqual({ task_id: task.id, attempt: 1, capabilities: [] });
    expect(claim!.parent_id).toBe(offer!.event_id);
    expect(grant!.payload).toEqual({ task_id: task.id, worker_id: hand!.id, worker_name: "hand" });
    expect(grant!.parent_id).toBe(claim!.event_id);
    expect(progress!.payload).toEqual({ task_id: task.id, message: "half way", percent: 50 });
    expect(done!.payload).toEqual({ task_id: task.id, result: { lines: 40, by: "boss", attempt: 1 } });
    team.close();
  });

  test("a handler that throws reports task.failed; wait rejects with a TeamTaskError", async () => {
    const [boss, hand] = await crew(["boss", "hand"]);
    const team = new Team(boss!);
    new Worker(hand!).task(() => {
      throw new Error("compiler exploded");
    });
    const task = await team.offer("build");
    const error = await rejection(team.wait(task, { timeout: 10 }), TeamTaskError);
    expect(error.code).toBe(ErrorCode.TaskFailed);
    expect(error.error).toBe("compiler exploded");
    expect(error.taskId).toBe(task.id);
    expect(task.status).toBe("failed");
    expect((await eventsOf(boss!, task.id, "task.failed"))[0]!.payload).toEqual({ task_id: task.id, error: "compiler exploded" });
    // A finished task answers at once, the same way.
    expect((await rejection(team.wait(task.id), TeamTaskError)).error).toBe("compiler exploded");
    team.close();
  });

  test("wait times out with a TeamTaskError (timeout) and the task goes on", async () => {
    const [boss] = await crew(["boss"]);
    const team = new Team(boss!);
    const task = await team.offer("nobody can");
    const error = await rejection(team.wait(task, { timeout: 0.05 }), TeamTaskError);
    expect(error.code).toBe(ErrorCode.Timeout);
    expect(task.status).toBe("offered");
    await rejection(team.wait("no-such-task"), ConfigError);
    team.close();
  });

  test("options are checked", async () => {
    const [boss] = await crew(["boss"]);
    expect(() => new Team(boss!, { lease: 0 })).toThrow(ConfigError);
    expect(() => new Team(boss!, { maxAttempts: 0 })).toThrow(ConfigError);
    expect(() => new Worker(boss!, { renewInterval: -1 })).toThrow(ConfigError);
    expect(() => new Worker(boss!, { concurrency: 1.5 })).toThrow(ConfigError);
    const team = new Team(boss!);
    await rejection(team.offer(""), ConfigError);
    await rejection(team.offer("x", { requires: [""] }), ConfigError);
    team.close();
    await rejection(team.offer("after close"), ConfigError);
  });
});

describe("teams - exactly one worker", () => {
  test("two workers race for every task: one grant per task, one handler run per task", async () => {
    const [boss, w1, w2] = await crew(["boss", "w1", "w2"]);
    const team = new Team(boss!);
    const runs = new Map<string, string[]>();
    for (const [node, name] of [[w1!, "w1"], [w2!, "w2"]] as const) {
      new Worker(node).task(async (a) => {
        runs.set(a.taskId, [...(runs.get(a.taskId) ?? []), name]);
        await Bun.sleep(5);
        return name;
      });
    }
    const tasks = await Promise.all(Array.from({ length: 8 }, (_, i) => team.offer(`task ${i}`)));
    const results = await Promise.all(tasks.map((t) => team.wait(t, { timeout: 10 })));
    for (const [i, task] of tasks.entries()) {
      expect(runs.get(task.id)).toEqual([results[i] as string]);
      expect(task.assignee!.name).toBe(results[i] as string);
      // Both workers claimed; the team granted the first claim only.
      const claims = await untilEvents(boss!, task.id, "task.claim", 2, "both claims");
      expect(claims.map((c) => c.peer.name).sort()).toEqual(["w1", "w2"]);
      const grants = await eventsOf(boss!, task.id, "task.grant");
      expect(grants.length).toBe(1);
      // The grant answers one of the claims (the first to arrive) and names its author.
      const granted = claims.find((c) => c.event_id === grants[0]!.parent_id);
      expect(granted?.peer.name).toBe(results[i] as string);
      expect(grants[0]!.payload.worker_id).toBe(granted!.peer.id);
    }
    team.close();
  });

  test("capability filtering: only a worker with every required capability claims", async () => {
    const [boss, gpu, cpu] = await crew(["boss", "gpu", "cpu"]);
    gpu!.capability("gpu").capability("python");
    const team = new Team(boss!);
    const ran: string[] = [];
    new Worker(gpu!).task(() => ran.push("gpu"));
    new Worker(cpu!, { capabilities: ["python"] }).task(() => ran.push("cpu"));
    // A worker on the team's own node never claims the team's offers.
    new Worker(boss!, { capabilities: ["gpu", "python"] }).task(() => ran.push("boss"));

    const task = await team.offer("train", { requires: ["gpu", "python"] });
    await team.wait(task, { timeout: 10 });
    const any = await team.offer("lint", { requires: ["python"] });
    await team.wait(any, { timeout: 10 });
    expect(ran[0]).toBe("gpu");
    expect(ran).not.toContain("boss");
    const claimers = (await eventsOf(boss!, task.id, "task.claim")).map((c) => c.peer.name);
    expect(claimers).toEqual(["gpu"]);
    expect((await eventsOf(boss!, task.id, "task.claim"))[0]!.payload.capabilities).toEqual(["gpu", "python"]);
    team.close();
  });
});

describe("teams - a busy worker", () => {
  test("offers that came while its slot was taken are claimed when it frees (no re-offer needed)", async () => {
    const [boss, solo] = await crew(["boss", "solo"]);
    const team = new Team(boss!, { lease: 300 });
    const order: string[] = [];
    new Worker(solo!, { concurrency: 1 }).task(async (a) => {
      order.push(a.title);
      await Bun.sleep(5);
      return a.title;
    });
    const tasks = [await team.offer("one"), await team.offer("two"), await team.offer("three")];
    expect(await Promise.all(tasks.map((t) => team.wait(t, { timeout: 10 })))).toEqual(["one", "two", "three"]);
    expect(order).toEqual(["one", "two", "three"]);
    expect(tasks.map((t) => t.attempt)).toEqual([1, 1, 1]);
    team.close();
  });

  test("a waiting offer granted to another worker meanwhile is dropped", async () => {
    const [boss, busy, free] = await crew(["boss", "busy", "free"]);
    const team = new Team(boss!);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const busyRan: string[] = [];
    new Worker(busy!, { concurrency: 1 }).task(async (a) => {
      busyRan.push(a.title);
      if (a.title === "first") await gate;
      return "busy";
    });
    const first = await team.offer("first");
    await eventually(() => first.assignee?.name === "busy", 5000, "busy granted");
    new Worker(free!).task(() => "free");
    const second = await team.offer("second");
    expect(await team.wait(second, { timeout: 10 })).toBe("free");
    release();
    await team.wait(first, { timeout: 10 });
    expect(busyRan).toEqual(["first"]);
    expect((await eventsOf(boss!, second.id, "task.claim")).map((c) => c.peer.name)).toEqual(["free"]);
    team.close();
  });
});

describe("teams - leases and attempts", () => {
  test("a worker killed mid-task: the lease runs out, the task is re-offered, another worker completes it", async () => {
    const [boss, doomed, spare] = await crew(["boss", "doomed", "spare"]);
    const team = new Team(boss!, { lease: 0.4 });
    let started = false;
    new Worker(doomed!, { renewInterval: 0.1 }).task(async () => {
      started = true;
      await new Promise(() => {}); // never returns: its node dies under it
    });
    const task = await team.offer("fragile");
    await eventually(() => started && task.status === "claimed", 5000, "doomed started");
    // Heartbeats keep the lease while the handler runs: the task stays with the doomed worker.
    await untilEvents(boss!, task.id, "task.progress", 3, "heartbeats");
    expect(task.attempt).toBe(1);
    const heartbeat = (await eventsOf(boss!, task.id, "task.progress"))[0]!;
    expect(heartbeat.payload).toEqual({ task_id: task.id, message: "working", heartbeat: true });
    expect(task.progress).toEqual([]); // heartbeats are not kept
    await doomed!.stop();

    const spareRan: number[] = [];
    new Worker(spare!).task((a) => {
      spareRan.push(a.attempt);
      return "rescued";
    });
    expect(await team.wait(task, { timeout: 10 })).toBe("rescued");
    expect(spareRan).toEqual([2]);
    expect(task.attempt).toBe(2);
    expect(task.assignee!.name).toBe("spare");
    const offers = await eventsOf(boss!, task.id, "task.offer");
    expect(offers.map((o) => o.payload.attempt)).toEqual([1, 2]);
    team.close();
  });

  test("maxAttempts: a task nobody completes fails after that many offers", async () => {
    const [boss, watcher] = await crew(["boss", "watcher"]);
    const team = new Team(boss!, { lease: 0.1, maxAttempts: 3 });
    const failed: TeamTaskEvent[] = [];
    boss!.on("team.task.failed", (e) => void failed.push(e));
    const task = await team.offer("impossible", { requires: ["unicorn"] });
    const error = await rejection(team.wait(task, { timeout: 10 }), TeamTaskError);
    expect(error.code).toBe(ErrorCode.TaskFailed);
    expect(error.error).toBe("no worker completed the task after 3 attempts");
    expect(error.attempts).toBe(3);
    expect(failed.map((e) => e.task.id)).toEqual([task.id]);
    await untilEvents(watcher!, task.id, "task.failed", 1, "failure gossiped");
    const offers = await eventsOf(watcher!, task.id, "task.offer");
    expect(offers.map((o) => o.payload.attempt)).toEqual([1, 2, 3]);
    team.close();
  });

  test("the first task.done wins; later reports are ignored", async () => {
    const [boss, hand] = await crew(["boss", "hand"]);
    const team = new Team(boss!);
    new Worker(hand!).task(() => "first");
    const task = await team.offer("once");
    expect(await team.wait(task, { timeout: 10 })).toBe("first");
    await hand!.emitConversationEvent(task.id, "task.done", { task_id: task.id, result: "second" });
    await hand!.emitConversationEvent(task.id, "task.failed", { task_id: task.id, error: "late" });
    await untilEvents(boss!, task.id, "task.failed", 1, "late failure arrived");
    expect(task.status).toBe("done");
    expect(task.result).toBe("first");
    team.close();
  });

  test("taskRetention forgets finished tasks", async () => {
    const [boss, hand] = await crew(["boss", "hand"]);
    const team = new Team(boss!, { lease: 0.2, taskRetention: 0.05 });
    new Worker(hand!).task(() => 1);
    const task = await team.offer("short-lived");
    await team.wait(task, { timeout: 10 });
    await eventually(() => !team.tasks.has(task.id), 5000, "task forgotten");
    team.close();
  });
});
