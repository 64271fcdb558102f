import { expect, test } from "bun:test";
import { join } from "node:path";

const root = join(import.meta.dir, "..", "..");
const script = join(root, "examples/periodic_tasks/caretaker.ts");

/** The test's environment without the package's debug switches, so stderr stays empty. */
function childEnv(extra: Record<string, string>): Record<string, string | undefined> {
  const { SYNAPSE_DEBUG: _debug, DEBUG: _debugScopes, ...rest } = process.env;
  return { ...rest, ...extra };
}

test("examples - periodic_tasks caretaker runs its jobs, prints the timetable and stops cleanly", async () => {
  const child = Bun.spawn(["bun", script], {
    cwd: root,
    env: childEnv({ CARETAKER_SECONDS: "2" }),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [code, out, err] = await Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()]);
  expect(err).toBe("");
  expect(code).toBe(0);

  // The interval job ran (its first run starts right away).
  expect(out).toMatch(/watering check #1: soil moisture 42%, no water needed/);
  // The weekday digest also ran once on arrival.
  expect(out).toContain("digest: ");

  // Every task's next run time is printed at start, and lies in the future.
  const timetable = new Map<string, string>();
  for (const match of out.matchAll(/^\s+(\S+)\s+(.+?)\s+next run (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) (\S+)$/gm)) {
    timetable.set(match[1]!, match[3]!);
  }
  expect([...timetable.keys()]).toEqual(["watering-check", "morning-digest", "sunrise-vents", "sunset-lights"]);
  expect(out).toContain('cron "0 8 * * mon-fri" (Europe/London)');
  expect(timetable.get("morning-digest")).toMatch(/ 08:00:00$/);

  // It leaves after CARETAKER_SECONDS, reporting how often each task ran.
  expect(out).toMatch(/caretaker leaving \(2 s are up\); runs: watering-check [1-9]\d*, morning-digest 1, sunrise-vents 1, sunset-lights 1/);
}, 20_000);

test("examples - periodic_tasks caretaker rejects a bad CARETAKER_SECONDS", async () => {
  const child = Bun.spawn(["bun", script], {
    cwd: root,
    env: childEnv({ CARETAKER_SECONDS: "soon" }),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [code, err] = await Promise.all([child.exited, new Response(child.stderr).text()]);
  expect(code).toBe(2);
  expect(err).toContain('CARETAKER_SECONDS must be a positive number of seconds, got "soon"');
});
