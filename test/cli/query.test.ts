import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import type { Node } from "../../src/node.ts";
import type { CallContext } from "../../src/rpc/endpoints.ts";
import { startNode, stopAll } from "../helpers/net.ts";
import { PythonLikeServer } from "../helpers/python-like-server.ts";
import { freePort, jsonLines, killAll, sn } from "./run-sn.ts";

let node: Node;
let addr: string;

beforeAll(async () => {
  node = await startNode({
    name: "calculator",
    swarm: "cli-query",
    role: "arithmetic",
    description: "adds things up",
    capabilities: [{ name: "math", description: "Sums and such", inputSchema: { type: "array" } }, "plain"],
  });
  node.endpoint("sum", { description: "Add two numbers" }, (a: number, b: number) => a + b);
  node.endpoint("echo", { description: "Return the arguments" }, (...args: unknown[]) => args);
  node.endpoint("kwargs", { extraKwargs: true }, (ctx: CallContext) => ctx.kwargs);
  node.endpoint("boom", () => {
    throw new Error("kaboom");
  });
  node.endpoint("slow", async () => {
    await Bun.sleep(1500);
    return "late";
  });
  node.endpoint("bytes", () => new Uint8Array([1, 2, 3]));
  node.endpoint("secret", { publish: false }, () => "hidden");
  addr = `127.0.0.1:${node.port}`;
});
afterEach(killAll);
afterAll(stopAll);

describe("cli query - ping, info, methods, peers", () => {
  test("ping prints pong with the address; --json gives a record", async () => {
    const text = await sn(["ping", addr]);
    expect(text.code).toBe(0);
    expect(text.stdout).toStartWith(`pong from ${addr} in `);
    const json = await sn(["ping", addr, "--json"]);
    expect(json.code).toBe(0);
    const [record] = jsonLines(json.stdout);
    expect(record!.result).toBe("pong");
    expect(record!.address).toBe(addr);
    expect(typeof record!.ms).toBe("number");
  });

  test("info shows _synapse.info with the agent card (_node.info, _node.capabilities, published endpoints)", async () => {
    const json = await sn(["info", addr, "--json"]);
    expect(json.code).toBe(0);
    const card = JSON.parse(json.stdout);
    expect(card).toMatchObject({
      id: node.id,
      name: "calculator",
      kind: "node",
      port: node.port,
      swarm: "cli-query",
      team: "default",
      role: "arithmetic",
      description: "adds things up",
    });
    expect(card.capabilities).toEqual([
      { name: "math", description: "Sums and such", input_schema: { type: "array" }, output_schema: {} },
      { name: "plain", description: "", input_schema: {}, output_schema: {} },
    ]);
    expect(card.endpoints.map((e: { name: string }) => e.name)).toEqual(["sum", "echo", "kwargs", "boom", "slow", "bytes"]);

    const text = await sn(["info", addr]);
    expect(text.code).toBe(0);
    const lines = text.stdout.split("\n");
    expect(lines[0]).toBe(`calculator  ${node.id.slice(0, 8)}  (node)`);
    expect(text.stdout).toContain(`  id           ${node.id}\n`);
    expect(text.stdout).toContain("  role         arithmetic\n");
    expect(text.stdout).toMatch(/ {4}math +Sums and such +in \{"type":"array"\}/);
    expect(text.stdout).toMatch(/ {4}sum +Add two numbers/);
    expect(text.stdout).not.toContain("secret");
  });

  test("methods lists published endpoints only, aligned", async () => {
    const json = await sn(["methods", addr, "--json"]);
    expect(json.code).toBe(0);
    const list = JSON.parse(json.stdout) as Array<{ name: string; description: string }>;
    expect(list.find((m) => m.name === "sum")).toEqual({ name: "sum", publish: true, description: "Add two numbers" } as never);
    expect(list.some((m) => m.name === "secret")).toBe(false);

    const text = await sn(["methods", addr]);
    const lines = text.stdout.trimEnd().split("\n");
    expect(lines).toContain("sum     Add two numbers");
    expect(lines).toContain("echo    Return the arguments");
    expect(lines).toContain("bytes");
  });

  test("peers lists the peers a node knows, with names and id prefixes", async () => {
    const empty = await sn(["peers", addr]);
    expect(empty.stdout).toBe("(no known peers)\n");
    const other = await startNode({ name: "helper", swarm: "cli-query", heartbeatInterval: null });
    await other.join({ seeds: [addr] });

    const json = await sn(["peers", addr, "--json"]);
    expect(json.code).toBe(0);
    const peers = JSON.parse(json.stdout) as Array<{ id: string; name: string; port: number }>;
    expect(peers).toHaveLength(1);
    expect(peers[0]).toMatchObject({ id: other.id, name: "helper", port: other.port, swarm: "cli-query", team: "default", kind: "node" });

    const text = await sn(["peers", addr]);
    const [header, row] = text.stdout.split("\n");
    expect(header).toMatch(/^NAME +ID +ADDRESS +KIND +SWARM\/TEAM +CAPABILITIES +LAST SEEN$/);
    expect(row).toMatch(new RegExp(`^helper +${other.id.slice(0, 8)} +127\\.0\\.0\\.1:${other.port} +node +cli-query/default +- +\\d+\\.\\ds ago$`));
    await other.stop();
  });
});

describe("cli query - metrics", () => {
  test("metrics prints the traffic by group and the peers by state; --json gives the record", async () => {
    const text = await sn(["metrics", addr]);
    expect(text.code).toBe(0);
    expect(text.stdout).toStartWith("peers: 0 alive, 0 suspect, 0 offline; up ");
    expect(text.stdout).toMatch(/^GROUP +CALLS SENT +CALLS RECEIVED +BYTES SENT +BYTES RECEIVED$/m);
    for (const group of ["rpc", "membership", "conversation", "other", "total"]) expect(text.stdout).toMatch(new RegExp(`^${group} +\\d+ +\\d+ +\\d+ +\\d+$`, "m"));
    expect(text.stdout).toMatch(/^conversation: events_received 0, events_forwarded 0, duplicates_dropped 0, batches_sent 0, batches_received 0, repairs 0$/m);
    const json = await sn(["metrics", addr, "--json"]);
    expect(json.code).toBe(0);
    const record = JSON.parse(json.stdout);
    expect(Object.keys(record)).toEqual(Object.keys(node.metrics()));
    expect(record.traffic.other.calls_received).toBeGreaterThanOrEqual(1);
  });

  test("a node that serves no metrics (Python) exits 1 saying so", async () => {
    const py = new PythonLikeServer().start();
    const result = await sn(["metrics", `127.0.0.1:${py.port}`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`error: unsupported: 127.0.0.1:${py.port} serves no metrics (_synapse.metrics): a Python node, which speaks the original protocol only\n`);
    // The pool did not send it: the Python node read the hello alone.
    expect(py.log.map((r) => r.endpoint)).toEqual(["_synapse.hello"]);
  });
});

describe("cli query - call", () => {
  test("positional arguments are JSON when they parse", async () => {
    const sum = await sn(["call", addr, "sum", "1", "2"]);
    expect(sum).toMatchObject({ code: 0, stdout: "3\n" });

    const echo = await sn(["call", addr, "echo", '{"a":1}', "ada", '"1"', "true", "null", "[1,2]", "--json", "--", "-3", "--kw"]);
    expect(echo.code).toBe(0);
    expect(JSON.parse(echo.stdout)).toEqual([{ a: 1 }, "ada", "1", true, null, [1, 2], -3, "--kw"]);

    // Negative numbers are values, not flags, also without `--`.
    const negative = await sn(["call", addr, "echo", "ada", "-1", "-2.5", "--json"]);
    expect(negative.code).toBe(0);
    expect(JSON.parse(negative.stdout)).toEqual(["ada", -1, -2.5]);
  });

  test("an argument that starts like JSON but does not parse is refused before anything is sent", async () => {
    const broken = await sn(["call", addr, "echo", "ada", '{"formal":true']);
    expect(broken.code).toBe(2);
    expect(broken.stdout).toBe("");
    expect(broken.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(broken.stderr).toStartWith('error: argument 2 looks like JSON but does not parse');
    expect(broken.stderr).toContain('{"formal":true');
    const kw = await sn(["call", addr, "kwargs", "--kw", "data=[1,2"]);
    expect(kw.code).toBe(2);
    expect(kw.stderr).toStartWith("error: --kw data looks like JSON but does not parse");
  });

  test("--kw binds keyword arguments by name, values parsed the same way", async () => {
    const sum = await sn(["call", addr, "sum", "--kw", "a=1", "--kw=b=41"]);
    expect(sum).toMatchObject({ code: 0, stdout: "42\n" });
    const mixed = await sn(["call", addr, "sum", "40", "--kw", "b=2"]);
    expect(mixed.stdout).toBe("42\n");

    const kwargs = await sn(["call", addr, "kwargs", "--kw", 'data={"k":[1,2]}', "--kw", "name=ada", "--kw", "eq=x=y", "--json"]);
    expect(JSON.parse(kwargs.stdout)).toEqual({ data: { k: [1, 2] }, name: "ada", eq: "x=y" });
  });

  test("results print as JSON: pretty by default, one line with --json, bytes as base64", async () => {
    const pretty = await sn(["call", addr, "echo", '{"a":[1]}']);
    expect(pretty.stdout).toBe('[\n  {\n    "a": [\n      1\n    ]\n  }\n]\n');
    const bytes = await sn(["call", addr, "bytes", "--json"]);
    expect(JSON.parse(bytes.stdout)).toEqual({ $base64: "AQID" });
  });

  test("an unknown endpoint exits 1 with the error's code and message", async () => {
    const result = await sn(["call", addr, "nope", "1"]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe("error: bad_request: Unregistered endpoint called: nope\n");

    const json = await sn(["call", addr, "nope", "--json"]);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({ error: { code: "bad_request", message: "Unregistered endpoint called: nope" } });
  });

  test("a failing handler exits 1 with internal_error", async () => {
    const result = await sn(["call", addr, "boom"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe("error: internal_error: kaboom\n");
  });

  test("--timeout: no answer in time exits 1 with a timeout naming the endpoint", async () => {
    const result = await sn(["call", addr, "slow", "--timeout", "0.2"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toStartWith("error: timeout: call to slow on ");
  });

  test("an unreachable address exits 1 with a connection error", async () => {
    const port = freePort();
    const result = await sn(["call", `127.0.0.1:${port}`, "sum", "1", "2"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`error: connection_closed: nothing accepts connections at 127.0.0.1:${port}: is a node running there? check the host and port\n`);
    const ping = await sn(["ping", `127.0.0.1:${port}`, "--json"]);
    expect(ping.code).toBe(1);
    expect((JSON.parse(ping.stdout) as { error: { code: string } }).error.code).toBe("connection_closed");
  });
});
