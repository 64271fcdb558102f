/**
 * bench/lib/children.ts: the bench's workers (processes holding listening nodes) end when their
 * parent is killed, and a parent stopped by a signal stops the children it has no IPC channel to.
 */
import { afterEach, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const lib = join(import.meta.dir, "../../bench/lib");
const dirs: string[] = [];
const pids: number[] = [];
afterEach(() => {
  // Whatever a failed test left running (only the processes these tests started).
  for (const pid of pids.splice(0)) if (running(pid)) process.kill(pid, "SIGKILL");
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Whether a process runs (a zombie, which has exited and waits to be reaped, does not). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

async function gone(pid: number, seconds: number): Promise<boolean> {
  const until = Date.now() + seconds * 1000;
  while (running(pid) && Date.now() < until) await Bun.sleep(50);
  return !running(pid);
}

/** Run `source` as a script; resolve with the process and the first stdout line matching `pattern`'s group. */
async function launch(source: string, pattern: RegExp, args: string[] = []): Promise<{ proc: ReturnType<typeof Bun.spawn>; value: string }> {
  const dir = mkdtempSync(join(tmpdir(), "synapse-children-"));
  dirs.push(dir);
  const file = join(dir, "parent.ts");
  writeFileSync(file, source);
  const proc = Bun.spawn([process.execPath, file, ...args], { stdout: "pipe", stderr: "inherit" });
  pids.push(proc.pid);
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
  let text = "";
  const until = Date.now() + 20_000;
  while (!pattern.test(text) && Date.now() < until) {
    const chunk = await reader.read();
    if (chunk.done) break;
    text += new TextDecoder().decode(chunk.value);
  }
  const value = pattern.exec(text)?.[1];
  if (value === undefined) throw new Error(`the parent printed no ${pattern}: ${text}`);
  return { proc, value };
}

// A parent that starts a worker's nodes, says the worker's pid, and waits to be killed.
const workerParent = (file: string, start: object) => `
const child = Bun.spawn([process.execPath, ${JSON.stringify(join(lib, file))}], {
  stdout: "inherit",
  stderr: "inherit",
  ipc(message) {
    if (message.type === "started") console.log("worker " + child.pid);
    else console.log("answer " + JSON.stringify(message));
  },
});
child.send(${JSON.stringify(start)});
setInterval(() => {}, 1000);
`;

const workers = [
  ["broadcast-worker.ts", { type: "start", first: 1, count: 2, peers: 2, options: { swarm: "children-test" }, signed: false }],
  ["membership-worker.ts", { type: "start", count: 2, seeds: [], options: { swarm: "children-test", membership: "gossip" }, name: "t0" }],
] as const;

for (const [file, start] of workers) {
  test(`${file} exits when its parent is killed while its nodes listen`, async () => {
    const { proc, value } = await launch(workerParent(file, start), /worker (\d+)/);
    const worker = Number(value);
    pids.push(worker);
    await Bun.sleep(300);
    expect(running(worker)).toBe(true);
    proc.kill("SIGKILL");
    await proc.exited;
    expect(await gone(worker, 10)).toBe(true);
  }, 40_000);
}

test("stopChildrenOnSignal: SIGTERM stops the children, runs `after`, and exits 143", async () => {
  const source = `
import { stopChildrenOnSignal } from ${JSON.stringify(join(lib, "children.ts"))};
import { writeFileSync } from "node:fs";
const child = Bun.spawn([process.execPath, "-e", "setInterval(() => {}, 1000)"]);
stopChildrenOnSignal(() => [child], { after: () => writeFileSync(process.argv[2] + "/after", "ran") });
console.log("child " + child.pid);
setInterval(() => {}, 1000);
`;
  const dir = mkdtempSync(join(tmpdir(), "synapse-children-out-"));
  dirs.push(dir);
  const { proc, value } = await launch(source, /child (\d+)/, [dir]);
  const child = Number(value);
  pids.push(child);
  expect(running(child)).toBe(true);
  proc.kill("SIGTERM");
  expect(await proc.exited).toBe(143);
  expect(await gone(child, 10)).toBe(true);
  expect(existsSync(join(dir, "after"))).toBe(true);
}, 40_000);
