/**
 * The soak and the fault run (issue #14): a swarm of member processes on 127.0.0.1, each with a
 * durable SQLite log, and an asker that broadcasts `synapse.ask` every second and waits for every
 * member's reply. Not a CI test: it runs for minutes.
 *
 *   bun bench/soak/soak.ts                     10 members, 30 minutes: memory and descriptors must stay flat
 *   bun bench/soak/soak.ts --fault             every 10 s a member is killed (`kill -9`) while asks are in
 *                                              flight and restarted on the same SQLite file and port:
 *                                              nothing it acknowledged may be lost
 *   bun bench/soak/soak.ts --minutes 2 --members 5
 *   bun bench/soak/soak.ts --quick             6 seconds (what test/bench runs)
 *
 * Every 10 s (1 s in quick mode) it samples each member's resident memory and open descriptors
 * (`/proc/<pid>`); at the end it prints the samples, compares the last quarter of the run with the
 * second (after the warm-up), and writes `bench/results/soak.json` (or `soak-fault.json`). It exits
 * 1 when an ask went unanswered by a member that was up (soak) or an acknowledged event was lost
 * (fault run).
 *
 * @module
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { Client, Node, Pool, type ConversationEvent } from "../../src/index.ts";
import { QUICK, printTable, round, writeResults } from "../lib/harness.ts";
import { stopChildrenOnSignal } from "../lib/children.ts";

function flag(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

const FAULT = process.argv.includes("--fault");
const MINUTES = Number(flag("minutes") ?? (QUICK ? 0.1 : 30));
const MEMBERS = Number(flag("members") ?? (QUICK ? 4 : 10));
const SAMPLE_EVERY = QUICK ? 1 : 10;
const FAULT_EVERY = QUICK ? 2 : 10;
const ANSWER_WITHIN = 5;
if (!(MINUTES > 0) || !(MEMBERS >= 2)) {
  console.error("usage: bun bench/soak/soak.ts [--minutes M>0] [--members N>=2] [--fault] [--quick]");
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), "synapse-soak-"));
const memberScript = join(import.meta.dir, "member.ts");

interface Member {
  name: string;
  id: string;
  db: string;
  port: number;
  proc: ReturnType<typeof Bun.spawn>;
  up: boolean;
}

/** Start (or restart) a member process and wait for its `ready <port>` line. */
async function launch(m: Omit<Member, "proc" | "up">, seed: string | null): Promise<Member> {
  const args = ["--name", m.name, "--id", m.id, "--db", m.db, "--port", String(m.port)];
  if (seed) args.push("--seed", seed);
  const proc = Bun.spawn([process.execPath, memberScript, ...args], { stdout: "pipe", stderr: "inherit" });
  const reader = proc.stdout.getReader();
  let text = "";
  const deadline = Date.now() + 15_000;
  while (!/ready (\d+)/.test(text)) {
    if (Date.now() > deadline) throw new Error(`${m.name} did not start: ${text}`);
    const chunk = await reader.read();
    if (chunk.done) throw new Error(`${m.name} exited: ${text}`);
    text += new TextDecoder().decode(chunk.value);
  }
  reader.releaseLock();
  const port = Number(/ready (\d+)/.exec(text)![1]);
  return { ...m, port, proc, up: true };
}

/** Resident memory (KiB) and open descriptors of a process, from /proc. */
function usage(pid: number): { rssKiB: number; fds: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
    return { rssKiB: rss, fds: readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return { rssKiB: Number.NaN, fds: Number.NaN };
  }
}

const members: Member[] = [];
// Ctrl+C or SIGTERM: the members (processes of their own) stop too, and their files go.
stopChildrenOnSignal(() => members.map((m) => m.proc), { after: () => rmSync(dir, { recursive: true, force: true }) });
const pool = new Pool();
let asker: Node | null = null;
try {
  // The first member is the seed; the others and the asker join through it.
  for (let i = 0; i < MEMBERS; i++) {
    const base = { name: `m${i}`, id: randomBytes(32).toString("hex"), db: join(dir, `m${i}.db`), port: 0 };
    members.push(await launch(base, i === 0 ? null : `127.0.0.1:${members[0]!.port}`));
  }
  asker = new Node({ name: "asker", swarm: "soak", bind: "127.0.0.1", advertise: "127.0.0.1", heartbeatInterval: 1, peerTimeout: 4 });
  await asker.start();
  await asker.join({ seeds: [`127.0.0.1:${members[0]!.port}`], minPeers: MEMBERS, wait: 15 });
  console.log(`soak: ${MEMBERS} members and an asker on 127.0.0.1, ${MINUTES} min, ${FAULT ? "killing a member every " + FAULT_EVERY + " s" : "no faults"}`);

  /** ACK and reply events each member authored, as the asker saw them: the acknowledged work. */
  const acknowledged = new Map<string, ConversationEvent[]>();
  const byId = new Map(members.map((m) => [m.id, m]));
  const note = (e: ConversationEvent) => {
    const m = byId.get(e.peer.id);
    if (m) acknowledged.set(m.name, [...(acknowledged.get(m.name) ?? []), e]);
  };
  asker.on("conversation.ack", note);
  asker.on("conversation.reply", note);
  // Replies by nonce: a reply may arrive before the broadcast call itself has returned.
  const replies = new Map<string, Set<string>>();
  asker.on("broadcast.reply", (r) => {
    let set = replies.get(r.nonce);
    if (!set) replies.set(r.nonce, (set = new Set()));
    set.add(r.peer.id);
  });

  const samples: Array<{ t: number; rssKiB: number[]; fds: number[] }> = [];
  let asks = 0;
  let fullyAnswered = 0;
  let missing = 0;
  let kills = 0;
  let lost = 0;
  const started = Date.now();
  const endAt = started + MINUTES * 60_000;
  let nextSample = started;
  let nextFault = started + FAULT_EVERY * 1000;

  while (Date.now() < endAt) {
    const tick = Date.now();
    if (tick >= nextSample) {
      const us = members.map((m) => (m.up ? usage(m.proc.pid) : { rssKiB: Number.NaN, fds: Number.NaN }));
      samples.push({ t: (tick - started) / 1000, rssKiB: us.map((u) => u.rssKiB), fds: us.map((u) => u.fds) });
      nextSample += SAMPLE_EVERY * 1000;
    }
    // One ask; the members that are up when it goes out must all reply within ANSWER_WITHIN s.
    const expected = new Set(members.filter((m) => m.up).map((m) => m.id));
    const broadcast = asker.broadcast("synapse.ask", `task ${asks}`);
    asks++;
    // The fault run kills a member while this ask is in flight.
    let victim: Member | null = null;
    if (FAULT && Date.now() >= nextFault) {
      const candidates = members.slice(1).filter((m) => m.up);
      victim = candidates[Math.floor(Math.random() * candidates.length)] ?? null;
      if (victim) {
        victim.proc.kill("SIGKILL");
        victim.up = false;
        expected.delete(victim.id);
        kills++;
      }
      nextFault += FAULT_EVERY * 1000;
    }
    const nonce = (await broadcast).nonce;
    const waitUntil = Date.now() + ANSWER_WITHIN * 1000;
    const replied = () => replies.get(nonce) ?? new Set<string>();
    while (Date.now() < waitUntil && [...expected].some((id) => !replied().has(id))) await Bun.sleep(10);
    const notYet = [...expected].filter((id) => !replied().has(id)).length;
    replies.delete(nonce);
    if (notYet === 0) fullyAnswered++;
    missing += notYet;
    if (victim) {
      // Back on the same file and port: everything it acknowledged before the kill must be there.
      await victim.proc.exited;
      const restarted = await launch(victim, `127.0.0.1:${members[0]!.port}`);
      Object.assign(victim, restarted);
      const client = new Client("127.0.0.1", victim.port, { pool, timeout: 10 });
      for (const e of acknowledged.get(victim.name) ?? []) {
        const answer = (await client.call("_synapse.conversation.sync", e.conversation_id, 0)) as { events: ConversationEvent[] };
        if (!answer.events.some((s) => s.event_id === e.event_id)) lost++;
      }
    }
    const rest = 1000 - (Date.now() - tick);
    if (rest > 0) await Bun.sleep(rest);
  }

  // Growth: the last quarter of the samples against the second (the first is the warm-up).
  const quarter = Math.max(1, Math.floor(samples.length / 4));
  const mean = (rows: typeof samples, key: "rssKiB" | "fds") => {
    const values = rows.flatMap((s) => s[key]).filter((v) => Number.isFinite(v));
    return values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
  };
  const second = samples.slice(quarter, 2 * quarter);
  const last = samples.slice(-quarter);
  const rssGrowth = (mean(last, "rssKiB") / mean(second.length ? second : samples, "rssKiB") - 1) * 100;
  const fdGrowth = (mean(last, "fds") / mean(second.length ? second : samples, "fds") - 1) * 100;

  printTable(
    "samples (per member: resident memory MiB and open descriptors)",
    ["t (s)", "RSS min", "RSS max", "fds min", "fds max"],
    samples.map((s) => {
      const rss = s.rssKiB.filter(Number.isFinite).map((k) => k / 1024);
      const fds = s.fds.filter(Number.isFinite);
      return [round(s.t, 0), Math.min(...rss), Math.max(...rss), Math.min(...fds), Math.max(...fds)];
    }),
  );
  const ok = FAULT ? lost === 0 : missing === 0;
  printTable("summary", ["metric", "value"], [
    ["asks", String(asks)],
    ["answered by every member that was up", String(fullyAnswered)],
    ["replies missing", String(missing)],
    ...(FAULT ? [["members killed and restarted", String(kills)], ["acknowledged events lost", String(lost)]] : []),
    ["RSS growth, last quarter vs second (%)", round(rssGrowth, 1).toFixed(1)],
    ["descriptor growth, last quarter vs second (%)", round(fdGrowth, 1).toFixed(1)],
  ]);
  writeResults(
    FAULT ? "soak-fault" : "soak",
    { minutes: MINUTES, members: MEMBERS, asks, fullyAnswered, missing, kills, lost, rssGrowthPercent: round(rssGrowth, 1), fdGrowthPercent: round(fdGrowth, 1), samples },
    [
      { metric: "asks answered by every member up", value: `${fullyAnswered}/${asks}` },
      ...(FAULT ? [{ metric: "acknowledged events lost", value: lost }] : []),
      { metric: "RSS growth (last vs second quarter)", value: round(rssGrowth, 1), unit: "%" },
      { metric: "descriptor growth (last vs second quarter)", value: round(fdGrowth, 1), unit: "%" },
    ],
  );
  console.log(ok ? "soak: ok" : FAULT ? `soak: ${lost} acknowledged event(s) lost` : `soak: ${missing} repl(ies) missing`);
  process.exitCode = ok ? 0 : 1;
} finally {
  await asker?.stop();
  pool.closeAll();
  for (const m of members) m.proc.kill("SIGTERM");
  await Promise.all(members.map((m) => m.proc.exited));
  rmSync(dir, { recursive: true, force: true });
}
