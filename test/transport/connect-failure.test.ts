/**
 * A connect that Bun calls refused but that failed for this host's own trouble. Bun reports every
 * failed connect as `ECONNREFUSED`, the code of a port nothing listens at, which gossip membership
 * took as a member's death: a process out of file descriptors, and a host with no route to the
 * address. The default transport tells them apart (`connect-failure.ts`): `EMFILE` or
 * `ENETUNREACH` with what to do; a closed port is still refused. A caller that goes on without its
 * failed calls (membership) warns of it, one line a minute.
 */
import { afterEach, describe, expect, spyOn, test } from "bun:test";
import { join } from "node:path";
import { connectFailure, noRoute, ownTrouble, resetWarnings, WARNING_INTERVAL, warnOf, warnOwnTrouble } from "../../src/transport/connect-failure.ts";
import { ConnectionError } from "../../src/errors.ts";
import { refusedConnect } from "../../src/membership/gossip-records.ts";
import { descriptorLimit, descriptorShortage } from "../../src/transport/descriptors.ts";
import { Netns, cleanupNamespaces, netnsUnavailable } from "../helpers/netns.ts";

const CHILD = join(import.meta.dir, "shortage-child.ts");
const unavailable = netnsUnavailable();
if (unavailable) console.warn(`SKIP the no-route case of connect failures: ${unavailable}`);
const nsTest = unavailable ? test.skip : test;

afterEach(() => {
  resetWarnings();
  cleanupNamespaces();
});

/** A child's last stdout line as JSON, and its stderr's warning lines. */
async function run(child: Bun.Subprocess<"ignore" | "pipe", "pipe", "pipe">): Promise<{ result: Record<string, unknown>; warnings: string[] }> {
  const [out, err] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { result: JSON.parse(out.trim().split("\n").at(-1)!) as Record<string, unknown>, warnings: err.split("\n").filter((l) => l.startsWith("synapse: warning: ")) };
}

/**
 * The child in `ns`: its connect to a closed port there is refused, and its two connects to
 * `address` fail with `code` and a message holding `text`; it warns of nothing (the transport
 * only explains).
 */
async function expectConnects(ns: Netns, address: string, code: string, text: string): Promise<void> {
  const { result, warnings } = await run(ns.spawnBun(CHILD, [address]));
  expect(result.refused).toMatchObject({ ok: false, code: "ECONNREFUSED" });
  for (const attempt of result.unrouted as Array<{ message: string }>) {
    expect(attempt).toMatchObject({ ok: false, code });
    expect(attempt.message).toContain(text);
  }
  expect(warnings).toEqual([]);
}

describe("connect failures", () => {
  test("with descriptors to spare and a route, a refused connect stays refused, and other errors pass", async () => {
    expect(descriptorShortage()).toBeNull();
    if (process.platform === "linux") expect(descriptorLimit()).toBeGreaterThan(0);
    const refused = Object.assign(new Error("Failed to connect"), { code: "ECONNREFUSED" });
    expect(await connectFailure(refused, "127.0.0.1", 9)).toBe(refused);
    const other = Object.assign(new Error("no route"), { code: "EHOSTUNREACH" });
    expect(await connectFailure(other, "192.0.2.9", 9)).toBe(other);
    // Loopback always has its route: not even looked up.
    expect(await noRoute("127.0.0.1", 9)).toBe(false);
    expect(await noRoute("::1", 9)).toBe(false);
  });

  test("a warning is one line a minute at most, for each kind", () => {
    const warn = spyOn(console, "warn").mockImplementation(() => {});
    try {
      warnOf("EMFILE", "out", 1000);
      warnOf("EMFILE", "out again", 1000 + WARNING_INTERVAL - 1);
      warnOf("ENETUNREACH", "no route", 1000 + 1);
      expect(warn.mock.calls.map((c) => String(c[0]))).toEqual(["synapse: warning: out", "synapse: warning: no route"]);
      warnOf("EMFILE", "out once more", 1000 + WARNING_INTERVAL);
      expect(warn).toHaveBeenCalledTimes(3);
    } finally {
      warn.mockRestore();
    }
  });

  test("a failed call's own trouble is found under the pool's errors, and warned of with its explanation", () => {
    const warn = spyOn(console, "warn").mockImplementation(() => {});
    try {
      const bun = Object.assign(new Error("Failed to connect"), { code: "ECONNREFUSED" });
      const explained = Object.assign(new Error("this host has no route to 192.0.2.7 (ENETUNREACH): its network is down", { cause: bun }), { code: "ENETUNREACH" });
      const call = new ConnectionError("cannot connect to 192.0.2.7:9", "192.0.2.7:9", { endpoint: "x", cause: new ConnectionError("cannot connect", "192.0.2.7:9", { cause: explained }) });
      expect(ownTrouble(call)).toBe(true);
      warnOwnTrouble(call);
      expect(warn.mock.calls.map((c) => String(c[0]))).toEqual(["synapse: warning: this host has no route to 192.0.2.7 (ENETUNREACH): its network is down; connections to peers fail until then"]);
      // A refusal is the peer's news, not this host's trouble: no warning.
      const refused = new ConnectionError("cannot connect to 10.0.0.9:9", "10.0.0.9:9", { cause: bun });
      expect(ownTrouble(refused)).toBe(false);
      warnOwnTrouble(refused);
      expect(warn).toHaveBeenCalledTimes(1);
    } finally {
      warn.mockRestore();
    }
  });

  test.skipIf(process.platform !== "linux")("in a process out of descriptors a connect fails with EMFILE, and says what to do", async () => {
    const limited = ["sh", "-c", 'ulimit -n 128 && exec "$@"', "sh", process.execPath, CHILD];
    const { result, warnings } = await run(Bun.spawn(limited, { stdout: "pipe", stderr: "pipe" }));
    expect(result.refused).toMatchObject({ ok: false, code: "ECONNREFUSED" });
    for (const attempt of result.short as Array<{ message: string }>) {
      expect(attempt).toMatchObject({ ok: false, code: "EMFILE" });
      expect(attempt.message).toContain("raise the limit (`ulimit -n`)");
    }
    // Descriptors free again: connects work again.
    expect(result.after).toEqual({ ok: true });
    // The transport only explains: the caller reports (membership warns, test/membership/descriptor-shortage.test.ts).
    expect(warnings).toEqual([]);
  }, 20_000);

  test.skipIf(process.platform !== "linux")("a pool out of descriptors closes its idle connections and connects once more; within the second after, it sheds nothing and fails", async () => {
    const limited = ["sh", "-c", 'ulimit -n 160 && exec "$@"', "sh", process.execPath, join(import.meta.dir, "pool-shortage-child.ts")];
    const { result, warnings } = await run(Bun.spawn(limited, { stdout: "pipe", stderr: "pipe" }));
    expect(result.openBefore).toBe(20);
    // The call went through: the pool closed its 20 idle connections and connected again.
    expect(result.shedCall).toEqual({ ok: true, result: 20 });
    expect(result.shed).toBe(20);
    expect(result.starved).toMatchObject({ ok: false, code: "EMFILE" });
    expect(warnings).toEqual([]);
  }, 30_000);

  nsTest("on a host with no route to the address a connect fails with ENETUNREACH; a closed port there still refuses", async () => {
    // A namespace with nothing but loopback: 192.0.2.7 (TEST-NET-1) has no route there.
    const ns = Netns.create({ loopback: "up" });
    await expectConnects(ns, "192.0.2.7", "ENETUNREACH", "this host has no route to 192.0.2.7 (ENETUNREACH)");
  }, 20_000);

  nsTest("to an on-link host that does not answer ARP a connect fails with EHOSTUNREACH, not refused; sn says so in one line", async () => {
    // A namespace with a link (a veth pair, both ends here) on 10.77.0.0/24 where 10.77.0.9 is nobody.
    const ns = Netns.create({ loopback: "up" });
    ns.ip(["link", "add", "va", "type", "veth", "peer", "name", "vb"]);
    ns.ip(["addr", "add", "10.77.0.1/24", "dev", "va"]);
    ns.ip(["link", "set", "va", "up"]);
    ns.ip(["link", "set", "vb", "up"]);
    await expectConnects(ns, "10.77.0.9", "EHOSTUNREACH", "10.77.0.9 did not answer on its link (EHOSTUNREACH: no ARP reply)");
    // Not this host's trouble (no warning), nor a refusal (gossip membership probes through others).
    const silent = Object.assign(new Error("10.77.0.9 did not answer on its link"), { code: "EHOSTUNREACH", cause: Object.assign(new Error("Failed to connect"), { code: "ECONNREFUSED" }) });
    expect(ownTrouble(silent)).toBe(false);
    expect(refusedConnect(new ConnectionError("cannot connect to 10.77.0.9:9", "10.77.0.9:9", { cause: silent }))).toBe(false);
    const child = ns.spawnBun(join(import.meta.dir, "../../src/cli/main.ts"), ["call", "10.77.0.9:9999", "sum", "1", "2"]);
    const [, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    expect(code).toBe(1);
    expect(err).toBe("error: connection_closed: cannot connect to 10.77.0.9:9999: 10.77.0.9 did not answer on its link (EHOSTUNREACH: no ARP reply): the host is down or off the network\n");
  }, 30_000);

  nsTest("sn says the host has no route, not that nothing listens there", async () => {
    const ns = Netns.create({ loopback: "up" });
    const child = ns.spawnBun(join(import.meta.dir, "../../src/cli/main.ts"), ["call", "192.0.2.7:9999", "sum", "1", "2"]);
    const [, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    expect(code).toBe(1);
    // One line that says what is wrong (not "nothing accepts connections there").
    expect(err).toBe("error: connection_closed: cannot connect to 192.0.2.7:9999: this host has no route to 192.0.2.7 (ENETUNREACH): its network is down, or the address is on no network it reaches\n");
  }, 20_000);
});
