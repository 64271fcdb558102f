import { afterEach, describe, expect, test } from "bun:test";
import { checkPositionals } from "../../src/cli/main.ts";
import { UsageError, closest, parseCommandLine } from "../../src/cli/parse.ts";
import { findCommand } from "../../src/cli/spec.ts";
import { swarmOptions } from "../../src/cli/swarm.ts";
import { ConfigError } from "../../src/errors.ts";
import { startNode, stopAll } from "../helpers/net.ts";
import { freePort, killAll, sn, SnStream } from "./run-sn.ts";

afterEach(async () => {
  await killAll();
  await stopAll();
});

const spec = (name: string) => findCommand(name)!;

describe("cli parse - flags and positionals", () => {
  test("long, short, inline and repeated flags; --no- booleans; -- ends the flags", () => {
    const p = parseCommandLine(spec("ask"), ["lab", "-c", "a=1", "--context=b=2", "-s", "h:1", "--seed", "h:2", "--no-mdns", "-t", "ops", "Review", "--json", "--", "--x"]);
    expect(p.positionals).toEqual(["lab", "Review", "--x"]);
    expect(p.flags).toEqual({ context: ["a=1", "b=2"], seed: ["h:1", "h:2"], mdns: false, team: "ops", json: true });
    expect(p.help).toBe(false);
    expect(parseCommandLine(spec("watch"), ["lab", "--mdns", "-h"])).toMatchObject({ flags: { mdns: true }, help: true });
  });

  test("negative numbers are positional values", () => {
    expect(parseCommandLine(spec("call"), ["h:1", "sum", "-1", "-2.5", "-.5"]).positionals).toEqual(["h:1", "sum", "-1", "-2.5", "-.5"]);
  });

  test("unknown flags are refused with a suggestion; a flag without its value too", () => {
    expect(() => parseCommandLine(spec("ping"), ["h", "--tiemout", "1"])).toThrow("unknown option --tiemout for `sn ping`; did you mean --timeout?");
    expect(() => parseCommandLine(spec("watch"), ["lab", "--no-mnds"])).toThrow("did you mean --no-mdns?");
    expect(() => parseCommandLine(spec("watch"), ["lab", "-x"])).toThrow(UsageError);
    expect(() => parseCommandLine(spec("ping"), ["h", "--timeout"])).toThrow("--timeout needs a value (S)");
    expect(() => parseCommandLine(spec("ping"), ["h", "--json=maybe"])).toThrow("--json takes no value");
    expect(() => parseCommandLine(spec("ping"), ["h", "--no-json"])).toThrow(UsageError); // not negatable
  });

  test("did-you-mean finds typos and unique prefixes, not unrelated words", () => {
    const names = ["watch", "dashboard", "ask", "broadcast", "broadcast-call", "list-swarms", "ping", "info", "methods", "peers", "metrics", "call", "completion"];
    expect(closest("pnig", names)).toBe("ping");
    expect(closest("brodcast", names)).toBe("broadcast");
    expect(closest("list", names)).toBe("list-swarms");
    expect(closest("frobnicate", names)).toBeNull();
  });

  test("positionals: SWARM from SN_SWARM when left out; missing and extra ones refused", () => {
    const watch = parseCommandLine(spec("watch"), []);
    checkPositionals(spec("watch"), watch, { SN_SWARM: "lab" });
    expect(watch.positionals).toEqual(["lab"]);
    const ask = parseCommandLine(spec("ask"), ["the task"]);
    checkPositionals(spec("ask"), ask, { SN_SWARM: "lab" });
    expect(ask.positionals).toEqual(["lab", "the task"]);
    expect(() => checkPositionals(spec("ask"), parseCommandLine(spec("ask"), ["lab"]), {})).toThrow("`sn ask` needs TASK");
    expect(() => checkPositionals(spec("watch"), parseCommandLine(spec("watch"), []), {})).toThrow("needs SWARM (or set SN_SWARM, or save it in a context)");
    const dashboard = parseCommandLine(spec("dashboard"), ["--listen", "127.0.0.1:9000", "--open", "--no-mdns", "-t", "ops"]);
    checkPositionals(spec("dashboard"), dashboard, { SN_SWARM: "lab" });
    expect(dashboard).toMatchObject({ positionals: ["lab"], flags: { listen: "127.0.0.1:9000", open: true, mdns: false, team: "ops" } });
    expect(() => checkPositionals(spec("ask"), parseCommandLine(spec("ask"), ["lab", "a", "b"]), {})).toThrow('quote the task: sn ask lab "a b"');
    expect(() => checkPositionals(spec("ping"), parseCommandLine(spec("ping"), ["h", "x"]), {})).toThrow('unexpected argument "x"');
  });
});

describe("cli swarm options - flags, environment, loopback", () => {
  const opts = (argv: string[], env: Record<string, string> = {}) => swarmOptions(parseCommandLine(spec("watch"), argv), "watcher", env);

  test("mDNS on by default: bind 0.0.0.0, nothing advertised", () => {
    expect(opts(["lab"])).toEqual({ swarm: "lab", team: "default", name: "watcher", seeds: [], mdns: true, bind: "0.0.0.0", port: 0, advertise: null });
  });

  test("every seed on loopback and mDNS off: bind and advertise 127.0.0.1", () => {
    expect(opts(["lab", "--no-mdns", "-s", "127.0.0.1:4000", "--seed", "localhost:4001"])).toMatchObject({ mdns: false, bind: "127.0.0.1", advertise: "127.0.0.1", seeds: ["127.0.0.1:4000", "localhost:4001"] });
    expect(opts(["lab", "--no-mdns", "-s", "127.0.0.1:4000", "-s", "10.0.0.5:4000"])).toMatchObject({ bind: "0.0.0.0", advertise: null });
    expect(opts(["lab", "-s", "127.0.0.1:4000"])).toMatchObject({ mdns: true, bind: "0.0.0.0" });
  });

  test("SN_SEEDS, SN_TEAM, SN_BIND, SN_PORT, SN_MDNS give the defaults; flags win", () => {
    const env = { SN_SEEDS: "127.0.0.1:1, 127.0.0.1:2", SN_TEAM: "ops", SN_BIND: "127.0.0.2", SN_PORT: "4100", SN_MDNS: "0" };
    expect(opts(["lab"], env)).toMatchObject({ seeds: ["127.0.0.1:1", "127.0.0.1:2"], team: "ops", bind: "127.0.0.2", port: 4100, mdns: false });
    expect(opts(["lab", "-s", "127.0.0.1:3", "-t", "dev", "--bind", "127.0.0.1", "--port", "0", "--mdns", "-n", "me"], env)).toMatchObject({ seeds: ["127.0.0.1:3"], team: "dev", bind: "127.0.0.1", port: 0, mdns: true, name: "me" });
  });

  test("no way to find peers, or a malformed seed: a usage error", () => {
    expect(() => opts(["lab", "--no-mdns"])).toThrow("with --no-mdns, give at least one --seed");
    expect(() => opts(["lab", "-s", "h:99999"])).toThrow(ConfigError);
  });
});

describe("cli start-up - lazy loading", () => {
  test("what `sn --help` loads imports nothing of the library: each command's code comes with `load()`", async () => {
    // errors.ts is allowed too: it imports nothing (the architecture test keeps it a leaf).
    const light = ["main.ts", "spec.ts", "parse.ts", "help.ts", "color.ts", "command.ts"];
    for (const file of light) {
      const text = await Bun.file(new URL(`../../src/cli/${file}`, import.meta.url)).text();
      const imports = [...text.matchAll(/^import\s+(?!type\b)[^;]*?from\s+"([^"]+)"/gm)].map((m) => m[1]!);
      for (const path of imports) expect(`${file}: ${path}`).toMatch(new RegExp(`^${file.replace(".", "\\.")}: (\\./(${light.map((f) => f.replace(".", "\\.")).join("|")})|\\.\\./\\.\\./package\\.json|\\.\\./errors\\.ts)$`));
    }
    const spec = await Bun.file(new URL("../../src/cli/spec.ts", import.meta.url)).text();
    expect([...spec.matchAll(/load: \(\) => import\("\.\/([a-z-]+\.ts)"\)/g)].map((m) => m[1]).sort()).toEqual(
      ["ask.ts", "ask.ts", "broadcast-call.ts", "completion.ts", "context.ts", "dashboard.ts", "keygen.ts", "list-swarms.ts", "query.ts", "query.ts", "query.ts", "query.ts", "query.ts", "query.ts", "watch.ts"],
    );
  });
});

describe("cli usage - as a subprocess", () => {
  test("mistyped command and unknown flag: one line, exit 2, a suggestion", async () => {
    const typo = await sn(["pnig", "127.0.0.1:1"]);
    expect(typo).toEqual({ code: 2, stdout: "", stderr: 'error: unknown command "pnig"; did you mean ping? (see `sn --help`)\n' });
    const flag = await sn(["ping", "127.0.0.1:1", "--tiemout", "1"]);
    expect(flag).toEqual({ code: 2, stdout: "", stderr: "error: unknown option --tiemout for `sn ping`; did you mean --timeout? (see `sn ping --help`)\n" });
  });

  test("bad usage exits 2 with one line and no stack trace", async () => {
    for (const args of [["call"], ["call", "127.0.0.1:1", "sum", "--kw", "novalue"], ["ping", "127.0.0.1:99999"], ["watch", "lab", "--no-mdns"], ["ask", "lab"], ["completion", "tcsh"], ["watch", "lab", "--interval", "soon", "--no-mdns", "-s", "127.0.0.1:1"]]) {
      const result = await sn(args);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe("");
      expect(result.stderr).toStartWith("error: ");
      expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(result.stderr).not.toContain("    at ");
    }
  });

  test("a seed that does not answer: exit 1, one line, no stack trace, no lag", async () => {
    const port = freePort();
    const result = await sn(["ask", "lab", "hello", "--no-mdns", "-s", `127.0.0.1:${port}`, "--discover", "0.2"]);
    expect(result.code).toBe(1);
    const lines = result.stderr.trimEnd().split("\n");
    expect(lines.at(-1)).toStartWith("error: no_peers: no peers in swarm lab");
    expect(lines.slice(0, -1).every((l) => l.startsWith("warning: seed "))).toBe(true);
    expect(result.stderr).not.toContain("    at ");
  });

  test("--help everywhere, --version, no colours into a pipe", async () => {
    const top = await sn(["--help"]);
    expect(top.code).toBe(0);
    for (const command of ["watch", "dashboard", "ask", "broadcast", "broadcast-call", "list-swarms", "ping", "info", "methods", "peers", "metrics", "call", "completion"]) {
      expect(top.stdout).toMatch(new RegExp(`^  ${command} `, "m"));
      const help = await sn([command, "--help"]);
      expect(help.code).toBe(0);
      expect(help.stdout).toStartWith(`Usage: sn ${command}`);
      expect(help.stdout).toContain("-h, --help");
    }
    expect(top.stdout).toContain("SN_SEEDS");
    expect(top.stdout).not.toContain("\u001b[");
    const ask = await sn(["ask", "-h"]);
    expect(ask.stdout).toContain("-c, --context KEY=VALUE");
    expect(ask.stdout).toContain("--[no-]mdns");
    expect(ask.stdout).toContain("-s, --seed HOST:PORT");
    const dashboard = await sn(["dashboard", "-h"]);
    expect(dashboard.stdout).toContain("-l, --listen HOST:PORT");
    expect(dashboard.stdout).toContain("--open");
    expect(dashboard.stdout).toContain("there is no login");
    expect((await sn([])).code).toBe(2);
    const version = await sn(["--version"]);
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    expect((await sn(["-V"])).stdout).toBe(version.stdout);
  });

  test("FORCE_COLOR colours the help, NO_COLOR wins over it", async () => {
    const coloured = await sn(["--help"], 15_000, { FORCE_COLOR: "1", NO_COLOR: "" });
    expect(coloured.stdout).toContain("\u001b[1m");
    const plain = await sn(["--help"], 15_000, { FORCE_COLOR: "1", NO_COLOR: "1" });
    expect(plain.stdout).not.toContain("\u001b[");
  });

  test("Ctrl+C while a node command waits: `interrupted`, exit 130", async () => {
    const node = await startNode({ name: "slow" });
    let called!: () => void;
    const inCall = new Promise<void>((resolve) => (called = resolve));
    node.endpoint("slow", async () => {
      called();
      await Bun.sleep(30_000);
    });
    const run = SnStream.start(["call", `127.0.0.1:${node.port}`, "slow", "--timeout", "0"]);
    await inCall;
    run.signal("SIGINT");
    expect(await run.exit(10_000)).toEqual({ code: 130, stderr: "interrupted\n" });
  });
});
