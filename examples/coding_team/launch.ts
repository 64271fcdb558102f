/**
 * Launches a coding team as separate processes on this machine: an architect and carol, who
 * claims the first task and crashes in the middle of it; once she is gone, alice and bob join and
 * pick up every open task when the architect re-offers them after the lease. Then it waits for
 * the architect to finish and stops the coders.
 *
 *     bun examples/coding_team/launch.ts [--out DIR]
 *
 * Everything listens on 127.0.0.1 on free ports; no network beyond loopback, no API key. Exits
 * with the architect's status.
 */
import { join } from "node:path";

const here = import.meta.dir;
const out = process.argv.slice(2);
const guard = setTimeout(() => {
  console.error("launch: still running after 40 s, giving up");
  process.exit(1);
}, 40_000);

const spawn = (file: string, args: string[]) =>
  Bun.spawn([process.execPath, join(here, file), ...args], { stdout: "pipe", stderr: "inherit", env: process.env });

/** Echo a child's stdout line by line; call `onLine` for each. */
async function follow(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void = () => {}): Promise<void> {
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of stream) {
    buffered += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      console.log(line);
      onLine(line);
    }
  }
  if (buffered) console.log(buffered);
}

const architect = spawn("architect.ts", ["--coders", "1", ...out]);
const seed = new Promise<string>((resolve) => {
  void follow(architect.stdout, (line) => {
    const m = /^architect listening on (\S+)$/.exec(line);
    if (m) resolve(m[1]!);
  });
});
const address = await Promise.race([seed, architect.exited.then(() => "")]);
if (!address) {
  console.error("launch: the architect exited before listening");
  process.exit(1);
}

const children: Array<{ name: string; child: ReturnType<typeof spawn> }> = [];
const coder = (name: string, args: string[] = [], onLine?: (line: string) => void) => {
  const child = spawn("coder.ts", ["--name", name, "--seed", address, ...args]);
  void follow(child.stdout, onLine);
  children.push({ name, child });
};
// carol first, alone: she is granted the first task she claims and dies writing it. alice and
// bob start once she has crashed, so the rest of the work reaches them as re-offers.
let others = false;
coder("carol", ["--crash"], (line) => {
  if (others || !line.includes("crashes while writing")) return;
  others = true;
  coder("alice");
  coder("bob");
});

const code = await architect.exited;
for (const { child } of children) child.kill("SIGTERM");
for (const { name, child } of children) {
  const status = await child.exited;
  console.log(`launch: ${name} exited with status ${status}`);
}
clearTimeout(guard);
process.exit(code);
