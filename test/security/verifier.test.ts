import { afterEach, describe, expect, test } from "bun:test";
import { STARVED_BELOW, STARVED_WINDOW, VerifyService } from "../../src/security/verifier.ts";
import { NodeIdentity } from "../../src/security/identity.ts";
import { SignedRecords, activeCheckers, sharedVerifier, verifySignature } from "../../src/security/records.ts";
import { disableLogging, enableLogging } from "../../src/log.ts";
import { MemoryNetwork, nodeAt } from "./helpers.ts";
import type { Node } from "../../src/node.ts";
import { eventually } from "../helpers/net.ts";
import { until } from "./signed-helpers.ts";

const identity = NodeIdentity.generate();
const message = (i: number) => new TextEncoder().encode(`record ${i}`);
/** Checks i: valid when i is even, a signature of other bytes when odd. */
const jobs = Array.from({ length: 40 }, (_, i) => ({ bytes: message(i), sig: identity.sign(message(i % 2 === 0 ? i : i + 1000)) }));
const expected = jobs.map((_, i) => i % 2 === 0);
const inline = (id: string, bytes: Uint8Array, sig: Uint8Array) => verifySignature(id, bytes, sig);
const dying = new URL("./fixtures/dying-verify-thread.ts", import.meta.url).href;

const services: VerifyService[] = [];
function service(script?: string): VerifyService {
  const s = new VerifyService(inline, script);
  s.acquire();
  services.push(s);
  return s;
}
afterEach(() => {
  for (const s of services.splice(0)) while (s.userCount > 0) s.release();
});

/** Ask every check in one turn; the answers, in order. */
function checkAll(s: VerifyService): Promise<boolean[]> {
  return Promise.all(jobs.map((j) => s.check(identity.id, j.bytes, j.sig)));
}

describe("security - signature thread", () => {
  test("the checks of one turn go to the thread as one batch, answered in order, right and wrong alike", async () => {
    const s = service();
    expect(await checkAll(s)).toEqual(expected);
    expect(s.stats).toMatchObject({ batches: 1, onThread: jobs.length, inline: 0, failures: 0 });
    expect(s.running).toBe(true);
  });

  test("a lone check (a few: fewer than INLINE_BELOW) with nothing on the thread is done inline, and starts no thread", async () => {
    const s = service();
    expect(await s.check(identity.id, jobs[0]!.bytes, jobs[0]!.sig)).toBe(true);
    expect(await s.check(identity.id, jobs[1]!.bytes, jobs[1]!.sig)).toBe(false);
    expect(s.stats).toMatchObject({ batches: 0, inline: 2 });
    expect(s.running).toBe(false);
  });

  test("a thread that fails to start: every check is done inline, none lost", async () => {
    const s = service(new URL("./fixtures/no-such-thread.ts", import.meta.url).href);
    expect(await checkAll(s)).toEqual(expected);
    expect(await checkAll(s)).toEqual(expected);
    expect(s.stats.failures).toBe(1);
    expect(s.stats.inline).toBe(2 * jobs.length);
    expect(s.running).toBe(false);
  });

  test("a thread that dies holding a batch: its checks, and every later one, are done inline, in order; a warning says so", async () => {
    const lines: string[] = [];
    enableLogging("warn", (level, scope, text) => void lines.push(`${level} ${scope} ${text}`));
    const s = service(dying);
    const first = checkAll(s);
    await new Promise<void>((resolve) => setImmediate(resolve)); // the first batch is on the thread
    const second = checkAll(s);
    expect(await first).toEqual(expected);
    expect(await second).toEqual(expected);
    expect(s.stats.failures).toBe(1);
    expect(s.stats.onThread).toBe(0);
    expect(s.stats.inline).toBe(2 * jobs.length);
    disableLogging();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toStartWith("warn security signature thread failed");
  });

  test("a thread that takes a batch and never answers is dropped after the hang limit: its checks are done inline, none lost", async () => {
    const lines: string[] = [];
    enableLogging("warn", (level, scope, text) => void lines.push(`${level} ${scope} ${text}`));
    const s = new VerifyService(inline, new URL("./fixtures/hung-verify-thread.ts", import.meta.url).href, undefined, 0.2);
    s.acquire();
    services.push(s);
    expect(await checkAll(s)).toEqual(expected);
    expect(s.stats).toMatchObject({ batches: 1, onThread: 0, inline: jobs.length, failures: 1 });
    expect(s.running).toBe(false);
    disableLogging();
    expect(lines).toEqual(["warn security signature thread failed (no answer in 0.2 s): checking signatures on the event loop"]);
  });

  test("a thread starved of CPU over a window of batches is left: later checks go inline, in order, none lost; it is tried again later", async () => {
    const s = service(new URL("./fixtures/starved-verify-thread.ts", import.meta.url).href);
    s.starvedFor = 0.5;
    for (let b = 0; b < STARVED_WINDOW; b++) expect(await checkAll(s)).toEqual(expected);
    expect(s.stats).toMatchObject({ batches: STARVED_WINDOW, onThread: STARVED_WINDOW * jobs.length, inline: 0, starved: 1, share: 0 });
    expect(await checkAll(s)).toEqual(expected);
    expect(s.stats).toMatchObject({ batches: STARVED_WINDOW, inline: jobs.length, failures: 0 });
    expect(s.running).toBe(true); // left, not stopped: no warning, no failure
    await Bun.sleep(600);
    expect(await checkAll(s)).toEqual(expected);
    expect(s.stats).toMatchObject({ batches: STARVED_WINDOW + 1, inline: jobs.length });
  });

  test("a thread with a core of its own is kept; with starvedBelow 0 a starved one is kept too", async () => {
    const fed = service(new URL("./fixtures/fed-verify-thread.ts", import.meta.url).href);
    const starved = service(new URL("./fixtures/starved-verify-thread.ts", import.meta.url).href);
    starved.starvedBelow = 0;
    for (const s of [fed, starved]) {
      for (let b = 0; b < STARVED_WINDOW + 2; b++) expect(await checkAll(s)).toEqual(expected);
      expect(s.stats).toMatchObject({ batches: STARVED_WINDOW + 2, inline: 0, starved: 0 });
    }
    expect(fed.stats.share).toBeGreaterThan(STARVED_BELOW);
    expect(starved.stats.share).toBe(0);
  });

  test("the last user's release ends the thread; checks still on it settle; a later user starts a new one", async () => {
    const s = service();
    await checkAll(s);
    const pending = checkAll(s);
    await new Promise<void>((resolve) => setImmediate(resolve));
    s.release();
    expect(s.running).toBe(false);
    expect(await pending).toEqual(expected); // done inline at the release
    s.acquire();
    expect(await checkAll(s)).toEqual(expected);
    expect(s.running).toBe(true);
  });

  test("a thread never released does not keep its process alive", async () => {
    const script = `
      import { VerifyService } from ${JSON.stringify(new URL("../../src/security/verifier.ts", import.meta.url).pathname)};
      import { NodeIdentity } from ${JSON.stringify(new URL("../../src/security/identity.ts", import.meta.url).pathname)};
      import { verifySignature } from ${JSON.stringify(new URL("../../src/security/records.ts", import.meta.url).pathname)};
      const identity = NodeIdentity.generate();
      const s = new VerifyService((id, b, sig) => verifySignature(id, b, sig));
      s.acquire();
      const bytes = new Uint8Array([1, 2, 3]);
      const answers = await Promise.all(Array.from({ length: 10 }, () => s.check(identity.id, bytes, identity.sign(bytes))));
      console.log(JSON.stringify({ answers, running: s.running }));
    `;
    const child = Bun.spawn(["bun", "-e", script], { stdout: "pipe", stderr: "pipe" });
    const killer = setTimeout(() => child.kill(), 15_000);
    const [out, code] = [await new Response(child.stdout).text(), await child.exited];
    clearTimeout(killer);
    expect(code).toBe(0);
    expect(JSON.parse(out.trim())).toEqual({ answers: Array(10).fill(true), running: true });
  });
});

describe("security - signed records checked on the thread", () => {
  test("verifyAsync settles in the order asked: a cached answer waits for a check in flight", async () => {
    const s = service();
    const other = new SignedRecords({ identity: null, closed: false, verifier: s });
    const records = new SignedRecords({ identity: null, closed: false, verifier: s });
    other.start();
    records.start();
    try {
      // `other` verifies record 0: the process's cache holds it (two checkers share it).
      expect(await other.verifyAsync(identity.id, jobs[0]!.bytes, jobs[0]!.sig)).toBe(true);
      const order: string[] = [];
      const inFlight = records.verifyAsync(identity.id, jobs[2]!.bytes, jobs[2]!.sig);
      const cached = records.verifyAsync(identity.id, jobs[0]!.bytes, jobs[0]!.sig);
      expect(inFlight).toBeInstanceOf(Promise);
      expect(cached).toBeInstanceOf(Promise);
      await Promise.all([Promise.resolve(inFlight).then(() => order.push("in flight")), Promise.resolve(cached).then(() => order.push("cached"))]);
      expect(order).toEqual(["in flight", "cached"]);
      expect(records.stats).toMatchObject({ verified: 1, cached: 1 });
      // The cached signature never went to the service: two checks in all (other's, and the one in flight).
      expect(s.stats.onThread + s.stats.inline).toBe(2);
    } finally {
      other.stop();
      records.stop();
    }
  });

  test("an unsigned record waits for the checks in flight: one may make its author known to sign", async () => {
    const s = service();
    const records = new SignedRecords({ identity: null, closed: false, verifier: s });
    records.start();
    try {
      const signed = records.refusalAsync(identity.id, () => jobs[0]!.bytes, jobs[0]!.sig, "a note event");
      const unsigned = records.refusalAsync(identity.id, () => jobs[2]!.bytes, null, "a note event");
      expect(await signed).toBeNull();
      expect(await unsigned).toBe(`a note event in the name of ${identity.id.slice(0, 8)} is not signed (that node signs its records)`);
      const forged = await records.refusalAsync(identity.id, () => jobs[1]!.bytes, jobs[1]!.sig, "a note event");
      expect(forged).toBe(`a note event in the name of ${identity.id.slice(0, 8)} has a signature that does not verify`);
      expect(records.stats.refused).toBe(2);
    } finally {
      records.stop();
    }
  });

  test("checkers count down when their node stops (a node left alone keeps no shared cache of records)", () => {
    const before = activeCheckers();
    const a = new SignedRecords({ identity: null, closed: false, verifyThread: false });
    const b = new SignedRecords({ identity: null, closed: false, verifyThread: false });
    expect(activeCheckers()).toBe(before + 2);
    b.stop();
    b.stop(); // idempotent
    expect(activeCheckers()).toBe(before + 1);
    b.start();
    expect(activeCheckers()).toBe(before + 2);
    a.stop();
    b.stop();
    expect(activeCheckers()).toBe(before);
  });

  test("with verifyThread false, checks stay on the event loop and never use the thread", async () => {
    const s = service();
    const records = new SignedRecords({ identity: null, closed: false, verifyThread: false, verifier: s });
    records.start();
    expect(records.verifyAsync(identity.id, jobs[0]!.bytes, jobs[0]!.sig)).toBe(true);
    expect(s.userCount).toBe(1); // the test's own acquire only
    records.stop();
    expect(sharedVerifier()).toBe(sharedVerifier());
  });
});

describe("security - nodes and the process's signature thread", () => {
  test("a node's stop counts its checker down and releases the thread; signatureThread false never takes it", async () => {
    const net = new MemoryNetwork();
    const shared = sharedVerifier();
    const [checkers, users] = [activeCheckers(), shared.userCount];
    const a = await nodeAt(net, "10.0.7.1");
    const b = await nodeAt(net, "10.0.7.2", { signatureThread: false });
    expect(activeCheckers()).toBe(checkers + 2);
    expect(shared.userCount).toBe(users + 1);
    await b.stop();
    expect(activeCheckers()).toBe(checkers + 1);
    await a.stop();
    expect(activeCheckers()).toBe(checkers);
    expect(shared.userCount).toBe(users);
    await a.start();
    expect(activeCheckers()).toBe(checkers + 1);
    expect(shared.userCount).toBe(users + 1);
  });

  test("signed replies of a broadcast are all checked and filed with the thread on, and with it off", async () => {
    const net = new MemoryNetwork();
    for (const [i, signatureThread] of [[0, true], [1, false]] as const) {
      const nodes: Node[] = [];
      // No record MACs: every reply goes through the signature check this test is about.
      for (let n = 1; n <= 4; n++) nodes.push(await nodeAt(net, `10.0.8${i}.${n}`, { signatureThread, recordMacs: false }));
      const [origin, ...others] = nodes;
      for (const n of others) await n.join({ seeds: [`10.0.8${i}.1:9999`], wait: 0 });
      await eventually(() => nodes.every((n) => n.peers.size === 3), 5000, "mesh");
      for (const n of others) n.endpoint("work", () => null);
      const broadcast = await origin!.broadcast("work");
      await Promise.all(others.map((n) => n.reply(broadcast, n.id.slice(0, 4))));
      await until(async () => (await Promise.all(nodes.map((n) => n.replies(broadcast)))).every((r) => r.length === 3), "every reply everywhere");
      for (const n of nodes) {
        expect(n.records.stats.refused).toBe(0);
        // Each node checked the replies of the others (two at least: a replier's own is not checked).
        expect(n.records.stats.verified + n.records.stats.cached).toBeGreaterThanOrEqual(2);
      }
    }
  });
});
