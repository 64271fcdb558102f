/**
 * `sn` with the original both ways, against the Python-like fake node of the interop tests (one
 * request per connection, arguments bound as a Python function binds them, peers rebuilt
 * strictly): this `sn ask`/`sn broadcast` on a swarm of Python nodes, and what the Python
 * `sn broadcast` sends, answered by this `sn watch`.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { makeEvent, uuidv7, type Peer } from "../../src/index.ts";
import { stopAll } from "../helpers/net.ts";
import { PythonNode, pyCall, pyPeer } from "../interop/python-node.ts";
import { killAll, sn, SnStream } from "./run-sn.ts";

afterEach(async () => {
  await killAll();
  await stopAll();
});

const SWARM = "py-lab";

/** The broadcast kwarg a Python node is called with: {nonce, origin, endpoint}. */
type PyBroadcast = { nonce: string; origin: unknown; endpoint: string };

/** A Python node that serves `synapse.ask` as the original does: ACK to the origin, then a deferred reply. */
function pythonWorker(name: string): PythonNode {
  const py = new PythonNode({ name, swarm: SWARM });
  py.endpoint("synapse.ask", [{ name: "task" }, { name: "context", default: null }, { name: "broadcast", default: null }], ({ task, context, broadcast }) => {
    const b = broadcast as PyBroadcast;
    const origin = pyPeer(b.origin); // strict: fails on a key Python does not know
    setTimeout(async () => {
      const ack = makeEvent({ conversationId: b.nonce, kind: "ack", peer: py.self(), parentId: b.nonce });
      await pyCall(origin.port, "_synapse.conversation.event", [ack]);
      await pyCall(origin.port, "_synapse.broadcast.reply", [b.nonce, py.self()], { result: `${name}: ${String(task)} ${JSON.stringify(context)}` }).catch(() => {});
    }, 10);
    // (`sn` may exit before the answer to the reply is read: the connection is then reset.)
    return { accepted: true, deferred: true };
  });
  py.endpoint("synapse.message", [{ name: "message" }, { name: "broadcast", default: null }], ({ message, broadcast }) => {
    const b = broadcast as PyBroadcast;
    const origin = pyPeer(b.origin);
    void pyCall(origin.port, "_synapse.broadcast.reply", [b.nonce, py.self()], { result: { received_by: name, echo: message } }).catch(() => {});
    return { ok: "true" };
  });
  return py.start();
}

describe("cli - with Python nodes", () => {
  test("sn ask on a swarm of Python nodes: their ACK and reply, in the original's format", async () => {
    const py = pythonWorker("pyreviewer");
    const result = await sn(["ask", SWARM, "check this", "-c", "pr=7", "--no-mdns", "-s", `127.0.0.1:${py.port}`]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout.trimEnd().split("\n").slice(2)).toEqual(["✓ pyreviewer acked", '- pyreviewer: pyreviewer: check this {"pr":7}']);
    // What sn sent binds as a Python call: task positional, context and broadcast by name.
    const call = py.server.log.find((r) => r.endpoint === "synapse.ask")!;
    expect(call.args).toEqual(["check this"]);
    expect(Object.keys(call.kwargs).sort()).toEqual(["broadcast", "context"]);
  }, 30_000);

  test("sn broadcast on a Python node serving synapse.message: its reply", async () => {
    const py = pythonWorker("pywatch");
    const result = await sn(["broadcast", SWARM, "Ship status?", "--no-mdns", "-s", `127.0.0.1:${py.port}`]);
    expect(result.code).toBe(0);
    expect(result.stdout.trimEnd().split("\n").at(-1)).toBe('- pywatch: {"received_by":"pywatch","echo":"Ship status?"}');
  }, 30_000);

  test("what the Python `sn broadcast` sends reaches this `sn watch`: shown, answered {ok}, replied {received_by}", async () => {
    const py = new PythonNode({ name: "speaker", swarm: SWARM }).start();
    const watch = SnStream.start(["watch", SWARM, "--no-mdns", "-s", `127.0.0.1:${py.port}`, "--json"]);
    const started = await watch.record((r) => r.event === "watch.started", 10_000, "watch.started");
    const port = (started.node as { port: number }).port;
    const nonce = uuidv7();
    const origin: Peer = py.self();
    const answer = await pyCall(port, "synapse.message", ["hello from python"], { broadcast: { nonce, origin, endpoint: "synapse.message" } });
    expect(answer.response.violations).toEqual([]);
    const response = answer.response.value as Map<string, unknown>;
    expect(response.get("ok")).toBe(true);
    expect([...(response.get("result") as Map<string, unknown>)]).toEqual([["ok", "true"]]);
    const shown = await watch.record((r) => r.event === "message" && r.nonce === nonce, 10_000, "the message");
    expect(shown.message).toBe("hello from python");
    for (let i = 0; i < 100 && !py.replies.has(`${nonce} ${(started.node as { id: string }).id}`); i++) await Bun.sleep(50);
    expect(py.replies.get(`${nonce} ${(started.node as { id: string }).id}`)).toEqual({ received_by: "watcher" });
  }, 30_000);
});
