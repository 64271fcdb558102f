/**
 * The closed swarm's forgery matrix at the transport level, every case a test with 0 accepted:
 * joining without the key, with a wrong key or another swarm name, by replaying a recorded
 * handshake; replaying, reordering or splicing recorded encrypted records; downgrading to plaintext
 * both ways. Over the in-memory network, whose sockets the tests can record and rewrite.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { ConnectionError, HandshakeError } from "../../src/errors.ts";
import { disableLogging, enableLogging } from "../../src/log.ts";
import { secureTransport, MAGIC } from "../../src/security/secure-transport.ts";
import { frame, eventually } from "../helpers/net.ts";
import { cleanUp, clientOn, key, MemoryNetwork, nodeAt, RawPeer, stopAfter, tapTransport } from "./helpers.ts";
import type { SocketLike } from "../../src/transport/socket.ts";

/** `error` and its causes, outermost first. */
function causes(error: unknown): unknown[] {
  const out: unknown[] = [];
  for (let e = error; e !== undefined && out.length < 10; e = (e as { cause?: unknown }).cause) out.push(e);
  return out;
}

afterEach(async () => {
  disableLogging();
  await cleanUp();
});

const SWARM = "lab";
const closed = { swarm: SWARM, swarmKey: key(1) };

describe("closed swarm - who gets in", () => {
  test("members holding the key call each other", async () => {
    const net = new MemoryNetwork();
    const node = await nodeAt(net, "10.0.0.1", closed);
    const client = clientOn(secureTransport(net.transport("10.0.0.2"), { keys: key(1), swarm: SWARM }), "10.0.0.1");
    expect(await client.call("echo", "hi")).toBe("hi");
    expect(node.calls).toBe(1);
  });

  test("a plaintext client (an open node, a Python node) is closed unanswered, with one log line on the closed node", async () => {
    const lines: string[] = [];
    enableLogging("warn", (_level, _scope, message) => void lines.push(message));
    const net = new MemoryNetwork();
    const node = await nodeAt(net, "10.0.0.1", closed);
    const peer = await RawPeer.connect(net.transport("10.0.0.3"), "10.0.0.1");
    peer.socket.write(frame({ endpoint: "echo", args: ["x"], kwargs: {}, id: "1" }));
    await eventually(() => peer.closed, 5000, "the closed node closed the connection");
    expect(peer.received).toEqual([]); // not even an error frame
    expect(node.calls).toBe(0);
    // A second try from the same address within the minute: closed too, no second line.
    const again = await RawPeer.connect(net.transport("10.0.0.3"), "10.0.0.1");
    again.socket.write(frame({ endpoint: "ping", args: [], kwargs: {}, id: "2" }));
    await eventually(() => again.closed, 5000, "closed again");
    expect(again.received).toEqual([]);
    expect(lines.filter((l) => l.includes("spoke plaintext"))).toHaveLength(1);
    // An open Client fails the same way.
    await expect(clientOn(net.transport("10.0.0.4"), "10.0.0.1").call("ping")).rejects.toBeInstanceOf(ConnectionError);
    expect(node.calls).toBe(0);
  });

  test("a client without the swarm key, or with another swarm name, is refused; the endpoint never runs", async () => {
    const net = new MemoryNetwork();
    const node = await nodeAt(net, "10.0.0.1", closed);
    const wrongKey = clientOn(secureTransport(net.transport("10.0.0.2"), { keys: key(2), swarm: SWARM }), "10.0.0.1");
    await expect(wrongKey.call("echo", 1)).rejects.toBeInstanceOf(ConnectionError);
    const wrongSwarm = clientOn(secureTransport(net.transport("10.0.0.3"), { keys: key(1), swarm: "other" }), "10.0.0.1");
    const error = await wrongSwarm.call("echo", 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(causes(error).some((c) => c instanceof HandshakeError)).toBe(true);
    expect(node.calls).toBe(0);
  });

  test("a silent connection is closed after the handshake timeout", async () => {
    const net = new MemoryNetwork();
    const server = secureTransport(net.transport("10.0.0.1"), { keys: key(1), handshakeTimeout: 0.1 });
    const handle = server.listen({ hostname: "10.0.0.1", port: 9999 }, () => {
      throw new Error("no connection may reach the layer above");
    });
    try {
      const peer = await RawPeer.connect(net.transport("10.0.0.2"), "10.0.0.1");
      peer.socket.write(MAGIC); // the magic alone, then nothing
      await eventually(() => peer.closed, 5000, "closed by the handshake timeout");
      expect(peer.received).toEqual([]);
    } finally {
      handle.stop(true);
    }
  });

  test("replaying a recorded handshake (messages 1 and 3) does not get in", async () => {
    const net = new MemoryNetwork();
    const node = await nodeAt(net, "10.0.0.1", closed);
    const recorded: Uint8Array[] = [];
    const tap = tapTransport(net.transport("10.0.0.2"), (bytes, index) => {
      if (index < 3) recorded.push(bytes); // magic + message 1, message 3, the first record
      return [bytes];
    });
    const client = clientOn(secureTransport(tap, { keys: key(1), swarm: SWARM }), "10.0.0.1");
    expect(await client.call("echo", "once")).toBe("once");
    expect(recorded).toHaveLength(3);
    // The attacker replays the member's bytes on a new connection: the node answers message 2
    // with a fresh ephemeral key, so the recorded message 3 no longer authenticates.
    const attacker = await RawPeer.connect(net.transport("10.0.0.6"), "10.0.0.1");
    attacker.socket.write(recorded[0]!);
    await eventually(() => attacker.received.length > 0, 5000, "message 2 arrived");
    attacker.socket.write(recorded[1]!);
    attacker.socket.write(recorded[2]!);
    await eventually(() => attacker.closed, 5000, "the replay was refused");
    expect(node.calls).toBe(1);
  });
});

describe("closed swarm - records", () => {
  /**
   * A secure listener recording the plaintext it accepts, and a secure client socket whose raw
   * writes go through `rewrite` from the third on (0: magic and message 1, 1: message 3, then one
   * record per write).
   */
  async function tapped(rewrite: (record: Uint8Array, n: number, connection: number) => Uint8Array[]) {
    const net = new MemoryNetwork();
    const accepted: string[] = [];
    let closedCount = 0;
    const server = secureTransport(net.transport("10.0.0.1"), { keys: key(1), swarm: SWARM });
    const handle = server.listen({ hostname: "10.0.0.1", port: 9999 }, () => ({
      handleData: (chunk) => void accepted.push(Buffer.from(chunk).toString()),
      handleDrain: () => {},
      handleEnd: () => {},
      handleClose: () => void closedCount++,
      handleError: () => {},
    }));
    stopAfter(() => handle.stop(true));
    const tap = tapTransport(net.transport("10.0.0.2"), (bytes, index, connection) => (index < 2 ? [bytes] : rewrite(bytes, index - 2, connection)));
    const client = secureTransport(tap, { keys: key(1), swarm: SWARM });
    const dial = async () => {
      let socket: SocketLike | null = null;
      await client.connect({ hostname: "10.0.0.1", port: 9999 }, (s) => {
        socket = s;
        return { handleData: () => {}, handleDrain: () => {}, handleEnd: () => {}, handleClose: () => {}, handleError: () => {} };
      });
      return socket!;
    };
    return { accepted, closed: () => closedCount, dial };
  }

  const text = (s: string) => new TextEncoder().encode(s);

  test("records arrive in order, one per write", async () => {
    const t = await tapped((record) => [record]);
    const socket = await t.dial();
    for (const word of ["one", "two", "three"]) socket.write(text(word));
    await eventually(() => t.accepted.length === 3, 5000, "three records");
    expect(t.accepted).toEqual(["one", "two", "three"]);
  });

  test("a replayed record is refused and closes the connection", async () => {
    const t = await tapped((record, n) => (n === 0 ? [record, record] : [record]));
    const socket = await t.dial();
    socket.write(text("pay 10"));
    await eventually(() => t.closed() === 1, 5000, "the connection closed");
    expect(t.accepted).toEqual(["pay 10"]);
  });

  test("reordered records are refused: nothing past the gap is accepted", async () => {
    let held: Uint8Array | null = null;
    const t = await tapped((record, n) => {
      if (n === 0) {
        held = record;
        return [];
      }
      return n === 1 ? [record, held!] : [record];
    });
    const socket = await t.dial();
    socket.write(text("first"));
    socket.write(text("second"));
    await eventually(() => t.closed() === 1, 5000, "the connection closed");
    expect(t.accepted).toEqual([]);
  });

  test("a record spliced in from another connection (same key) does not authenticate", async () => {
    let fromFirst: Uint8Array | null = null;
    const t = await tapped((record, n, connection) => {
      if (connection === 0 && n === 0) fromFirst = record;
      return connection === 1 && n === 0 ? [fromFirst!] : [record];
    });
    (await t.dial()).write(text("on the first"));
    await eventually(() => t.accepted.length === 1, 5000, "the first connection's record");
    (await t.dial()).write(text("on the second"));
    await eventually(() => t.closed() === 1, 5000, "the second connection closed");
    expect(t.accepted).toEqual(["on the first"]);
  });

  test("a flipped bit, a truncated record or a dropped one: refused", async () => {
    for (const damage of [
      (r: Uint8Array) => {
        const bad = r.slice();
        bad[bad.length - 1]! ^= 1;
        return [bad];
      },
      (r: Uint8Array) => [Uint8Array.of(0, r.length - 3), r.subarray(2, r.length - 1)],
    ]) {
      const t = await tapped((record, n) => (n === 0 ? damage(record) : [record]));
      const socket = await t.dial();
      socket.write(text("tampered"));
      socket.write(text("next"));
      await eventually(() => t.closed() === 1, 5000, "the connection closed");
      expect(t.accepted).toEqual([]);
    }
    const dropped = await tapped((record, n) => (n === 0 ? [] : [record]));
    const socket = await dropped.dial();
    socket.write(text("lost"));
    socket.write(text("after the loss"));
    await eventually(() => dropped.closed() === 1, 5000, "the connection closed");
    expect(dropped.accepted).toEqual([]);
  });

  test("a batch over 65519 bytes travels as several records and arrives whole", async () => {
    const t = await tapped((record) => [record]);
    const socket = await t.dial();
    const big = "x".repeat(200_000);
    socket.write(text(big));
    await eventually(() => t.accepted.join("").length === big.length, 5000, "all of it");
    expect(t.accepted.length).toBeGreaterThanOrEqual(4);
    expect(t.accepted.join("")).toBe(big);
  });
});

describe("closed swarm - no downgrade", () => {
  test("a closed node calling an open node fails and sends nothing in the clear", async () => {
    const net = new MemoryNetwork();
    const open = await nodeAt(net, "10.0.0.1", { swarm: SWARM });
    const sent: Uint8Array[] = [];
    const tap = tapTransport(net.transport("10.0.0.2"), (bytes) => {
      sent.push(bytes);
      return [bytes];
    });
    const client = clientOn(secureTransport(tap, { keys: key(1), swarm: SWARM }), "10.0.0.1");
    const error = await client.call("echo", "secret").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(open.calls).toBe(0);
    // Only the magic and message 1 went out: no request, no plaintext.
    expect(sent).toHaveLength(1);
    expect([...sent[0]!.subarray(0, 4)]).toEqual([...MAGIC]);
    expect(Buffer.from(sent[0]!).includes(Buffer.from("secret"))).toBe(false);
  });

  test("a closed Node's own calls (join) to an open node fail", async () => {
    const net = new MemoryNetwork();
    await nodeAt(net, "10.0.0.1", { swarm: SWARM });
    const member = await nodeAt(net, "10.0.0.2", { ...closed, seeds: ["10.0.0.1:9999"] });
    await member.join().catch(() => undefined);
    expect(member.peers.size).toBe(0);
  });
});
