/**
 * The launcher of a multi-process example: starts one process per node, in order, each after the
 * one before it printed its `ready` line (so that later nodes know the seed's address), prefixes
 * every output line with the node's name, and stops them all cleanly: when the driver (the node
 * that does the example's work and then ends) exits, or on Ctrl+C / SIGTERM. Exits with the
 * driver's status, or 0 when stopped by a signal and every node stopped cleanly.
 */
import { join } from "node:path";
import { parseReady } from "./node-process.ts";

/** One node of an example. */
export interface NodeSpec {
  /** The name printed before each of its lines. */
  name: string;
  /** The script, relative to the example's folder. */
  script: string;
  /** Its arguments, given the ready lines of the nodes started before it (by name). */
  args?: (ready: Map<string, Record<string, string>>) => string[];
  /** The driver: the example is over when this node exits. At most one. */
  driver?: boolean;
}

/** Seconds a node may take to print its ready line, and to stop after a signal. */
const READY_TIMEOUT = 20;
const STOP_TIMEOUT = 10;

/** Start every node of `specs` (scripts in `folder`), and return the exit status for the launcher. */
export async function launch(program: string, folder: string, specs: NodeSpec[]): Promise<number> {
  const width = Math.max(...specs.map((s) => s.name.length));
  const ready = new Map<string, Record<string, string>>();
  const children: Array<{ spec: NodeSpec; child: Bun.Subprocess<"ignore", "pipe", "pipe"> }> = [];
  let stopping = false;

  const stopAll = async (signal: NodeJS.Signals) => {
    stopping = true;
    // Later nodes first: the seed goes last, so that nobody reports it as gone.
    for (const { child } of [...children].reverse()) if (child.exitCode === null) child.kill(signal);
    const killer = setTimeout(() => children.forEach(({ child }) => child.exitCode === null && child.kill("SIGKILL")), STOP_TIMEOUT * 1000);
    const codes = await Promise.all(children.map(({ child }) => child.exited));
    clearTimeout(killer);
    return codes;
  };
  let interrupted: Promise<number[]> | null = null;
  let signalled!: () => void;
  const signal = new Promise<{ signal: true }>((resolve) => (signalled = () => resolve({ signal: true })));
  const onSignal = (name: NodeJS.Signals) => {
    if (interrupted) return;
    console.log(`${program}: ${name}, stopping every node`);
    interrupted = stopAll("SIGINT");
    signalled();
  };
  const pipes: Array<Promise<void>> = [];
  process.on("SIGINT", () => onSignal("SIGINT"));
  process.on("SIGTERM", () => onSignal("SIGTERM"));

  for (const spec of specs) {
    if (stopping) break;
    const args = spec.args?.(ready) ?? [];
    const child = Bun.spawn([process.execPath, join(folder, spec.script), ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: process.env });
    children.push({ spec, child });
    const prefix = `${spec.name.padEnd(width)} │ `;
    let sawReady!: (pairs: Record<string, string>) => void;
    const readyLine = new Promise<Record<string, string>>((resolve) => (sawReady = resolve));
    pipes.push(
      pipeLines(child.stdout, (line) => {
        const pairs = parseReady(line);
        if (pairs) sawReady(pairs);
        console.log(prefix + line);
      }),
      pipeLines(child.stderr, (line) => console.error(prefix + line)),
    );
    if (spec.driver) continue; // the driver is last, nobody waits for it
    const outcome = await Promise.race([
      readyLine,
      child.exited.then((code) => `exited with status ${code} before it was ready`),
      Bun.sleep(READY_TIMEOUT * 1000).then(() => `was not ready after ${READY_TIMEOUT} s`),
    ]);
    if (typeof outcome === "string") {
      if (!stopping) console.error(`${program}: ${spec.name} ${outcome}`);
      await stopAll("SIGTERM");
      await Promise.all(pipes);
      return stopping && interrupted ? 0 : 1;
    }
    ready.set(spec.name, outcome);
  }

  const driver = children.find(({ spec }) => spec.driver);
  const done = driver ? driver.child.exited.then((code) => ({ code })) : new Promise<never>(() => {});
  const first = await Promise.race([done, signal]);
  if ("code" in first) {
    console.log(`${program}: ${driver!.spec.name} is done, stopping the other nodes`);
    const codes = await (interrupted ?? stopAll("SIGINT"));
    await Promise.all(pipes);
    console.log(`${program}: every node stopped`);
    return first.code !== 0 ? first.code : codes.every((c) => c === 0) ? 0 : 1;
  }
  await interrupted!;
  await Promise.all(pipes);
  console.log(`${program}: every node stopped`);
  // Interrupted: a node that had no handler for Ctrl+C (a driver half-way) and died of it is fine too.
  return children.every(({ child }) => child.exitCode === 0 || child.signalCode === "SIGINT") ? 0 : 1;
}

/** Call `onLine` for every line of `stream`. */
async function pipeLines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of stream) {
    buffer += decoder.decode(chunk, { stream: true });
    let at: number;
    while ((at = buffer.indexOf("\n")) >= 0) {
      onLine(buffer.slice(0, at));
      buffer = buffer.slice(at + 1);
    }
  }
  if (buffer) onLine(buffer);
}
