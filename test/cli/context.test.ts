/**
 * Saved contexts (`sn context save|use|ls|show|rm`), in a temporary XDG_CONFIG_HOME (or HOME): the
 * files they write, the defaults they give the swarm commands, and the order flag > SN_* variable >
 * context > built-in.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CallContext } from "../../src/index.ts";
import { cliEnvironment, configDir } from "../../src/cli/context-store.ts";
import { parseCommandLine } from "../../src/cli/parse.ts";
import { findCommand } from "../../src/cli/spec.ts";
import { swarmOptions } from "../../src/cli/swarm.ts";
import { startNode, stopAll } from "../helpers/net.ts";
import { jsonLines, killAll, sn } from "./run-sn.ts";

const dirs: string[] = [];

afterEach(async () => {
  await killAll();
  await stopAll();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A fresh config home, and the environment that points `sn` at it. */
function home(): { dir: string; env: Record<string, string> } {
  const dir = mkdtempSync(join(tmpdir(), "sn-context-"));
  dirs.push(dir);
  return { dir, env: { XDG_CONFIG_HOME: join(dir, "xdg"), HOME: join(dir, "home") } };
}

/** The swarm options `sn ask` would resolve from `argv` in environment `env`. */
function resolved(argv: string[], env: Record<string, string | undefined>) {
  const parsed = parseCommandLine(findCommand("ask")!, argv);
  return swarmOptions(parsed, "asker", cliEnvironment(env));
}

describe("cli context - the commands and their files", () => {
  test("save, ls, use, show, rm: NATS-like contexts under $XDG_CONFIG_HOME/synapse-p2p", async () => {
    const { dir, env } = home();
    const root = join(dir, "xdg", "synapse-p2p");
    expect((await sn(["context", "ls"], 15_000, env)).stdout).toContain("no saved contexts in");

    const saved = await sn(["context", "save", "lab", "--swarm", "lab", "-s", "10.0.0.5:9999", "-t", "red", "--description", "the lab"], 15_000, env);
    expect(saved).toMatchObject({ code: 0, stderr: "" });
    expect(saved.stdout).toContain(`saved context lab (swarm lab, seeds 10.0.0.5:9999, team red  # the lab) in ${join(root, "context", "lab.json")}`);
    expect(JSON.parse(readFileSync(join(root, "context", "lab.json"), "utf8"))).toEqual({ swarm: "lab", seeds: ["10.0.0.5:9999"], team: "red", description: "the lab" });
    expect(existsSync(join(root, "context.txt"))).toBe(false); // saving does not select

    // Saving again updates the values given and keeps the others.
    await sn(["context", "save", "lab", "--no-mdns", "--port", "7000"], 15_000, env);
    expect(JSON.parse(readFileSync(join(root, "context", "lab.json"), "utf8"))).toEqual({ swarm: "lab", seeds: ["10.0.0.5:9999"], team: "red", description: "the lab", mdns: false, port: 7000 });
    await sn(["context", "save", "local", "--swarm", "dev", "--seed", "127.0.0.1:9999,127.0.0.1:9998", "--select"], 15_000, env);
    expect(readFileSync(join(root, "context.txt"), "utf8")).toBe("local\n");

    const ls = await sn(["context", "ls"], 15_000, env);
    expect(ls.stdout.split("\n").filter(Boolean)).toEqual([
      "  lab    swarm lab, seeds 10.0.0.5:9999, team red, port 7000, no mDNS  # the lab",
      "* local  swarm dev, seeds 127.0.0.1:9999,127.0.0.1:9998",
    ]);
    expect(jsonLines((await sn(["context", "ls", "--json"], 15_000, env)).stdout)).toEqual([
      { name: "lab", selected: false, swarm: "lab", seeds: ["10.0.0.5:9999"], team: "red", description: "the lab", mdns: false, port: 7000 },
      { name: "local", selected: true, swarm: "dev", seeds: ["127.0.0.1:9999", "127.0.0.1:9998"] },
    ]);

    expect((await sn(["context", "use", "lab"], 15_000, env)).stdout).toBe("using context lab (swarm lab, seeds 10.0.0.5:9999, team red, port 7000, no mDNS  # the lab)\n");
    expect((await sn(["context", "show"], 15_000, env)).stdout).toBe("lab: swarm lab, seeds 10.0.0.5:9999, team red, port 7000, no mDNS  # the lab\n");
    expect(jsonLines((await sn(["context", "show", "local", "--json"], 15_000, env)).stdout)).toEqual([{ name: "local", swarm: "dev", seeds: ["127.0.0.1:9999", "127.0.0.1:9998"] }]);

    // Removing the selected context unselects it.
    expect((await sn(["context", "rm", "lab"], 15_000, env)).stdout).toBe("removed context lab\n");
    expect(existsSync(join(root, "context", "lab.json"))).toBe(false);
    expect(existsSync(join(root, "context.txt"))).toBe(false);
    await sn(["context", "use", "local"], 15_000, env);
    expect((await sn(["context", "use", "--none"], 15_000, env)).stdout).toBe("no context selected\n");
    expect(existsSync(join(root, "context.txt"))).toBe(false);
  }, 60_000);

  test("without XDG_CONFIG_HOME (or with a relative one) contexts live in $HOME/.config/synapse-p2p", async () => {
    const { dir } = home();
    const env = { XDG_CONFIG_HOME: "", HOME: join(dir, "home") };
    expect(configDir(env)).toBe(join(dir, "home", ".config", "synapse-p2p"));
    expect(configDir({ XDG_CONFIG_HOME: "relative/dir", HOME: "/h" })).toBe("/h/.config/synapse-p2p");
    const r = await sn(["context", "save", "x", "--swarm", "s"], 15_000, env);
    expect(r.code).toBe(0);
    expect(existsSync(join(dir, "home", ".config", "synapse-p2p", "context", "x.json"))).toBe(true);
  }, 60_000);

  test("mistakes: one line on stderr, exit 2, nothing written", async () => {
    const { dir, env } = home();
    const cases: Array<[string[], string]> = [
      [["context", "frob"], 'error: unknown action "frob" for `sn context`: save, use, ls, show, rm'],
      [["context", "save", "x"], "error: nothing to save: give --swarm, --seed, --team, --bind, --port, --[no-]mdns or --description"],
      [["context", "save", "../evil", "--swarm", "s"], 'error: invalid context name "../evil"'],
      [["context", "save", "x", "--seed", "host:notaport"], "error: "],
      [["context", "save", "x", "--port", "99999"], "error: "],
      [["context", "save"], "error: `sn context save` needs NAME"],
      [["context", "use", "ghost"], 'error: no context named "ghost"'],
      [["context", "rm", "ghost"], 'error: no context named "ghost"'],
      [["context", "ls", "--swarm", "s"], "error: --swarm does not go with `sn context ls`"],
      [["context", "use", "x", "--json"], "error: --json does not go with `sn context use`"],
    ];
    for (const [args, message] of cases) {
      const r = await sn(args, 15_000, env);
      expect({ args, code: r.code, lines: r.stderr.trim().split("\n").length, stdout: r.stdout }).toEqual({ args, code: 2, lines: 1, stdout: "" });
      expect(r.stderr).toStartWith(message);
    }
    expect(existsSync(join(dir, "xdg", "synapse-p2p", "context"))).toBe(false);
  }, 60_000);

  test("a broken context file or a missing SN_CONTEXT is one clear line, not a stack trace", async () => {
    const { dir, env } = home();
    const root = join(dir, "xdg", "synapse-p2p");
    mkdirSync(join(root, "context"), { recursive: true });
    writeFileSync(join(root, "context", "bad.json"), "{ not json");
    writeFileSync(join(root, "context.txt"), "bad\n");
    const broken = await sn(["ask", "lab", "hi?", "--no-mdns", "--seed", "127.0.0.1:1"], 15_000, env);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toStartWith(`error: ${join(root, "context", "bad.json")} is not valid JSON`);
    const missing = await sn(["ask", "lab", "hi?", "--no-mdns", "--seed", "127.0.0.1:1"], 15_000, { ...env, SN_CONTEXT: "nope" });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toStartWith('error: context "nope" (SN_CONTEXT) does not exist');
  }, 60_000);
});

describe("cli context - defaults for the swarm commands: flag > SN_* > context > built-in", () => {
  test("each value comes from the highest layer that has it", () => {
    const { dir, env } = home();
    const root = join(dir, "xdg", "synapse-p2p");
    mkdirSync(join(root, "context"), { recursive: true });
    writeFileSync(join(root, "context", "c.json"), JSON.stringify({ swarm: "ctx-swarm", seeds: ["127.0.0.1:7001"], team: "ctx-team", bind: "127.0.0.1", port: 7100, mdns: false }));
    // No context: built-in defaults.
    expect(resolved(["lab", "q"], env)).toMatchObject({ team: "default", seeds: [], mdns: true, bind: "0.0.0.0", port: 0 });
    // The selected context.
    writeFileSync(join(root, "context.txt"), "c\n");
    expect(resolved(["lab", "q"], env)).toMatchObject({ team: "ctx-team", seeds: ["127.0.0.1:7001"], mdns: false, bind: "127.0.0.1", port: 7100 });
    // SN_* variables win over the context (a set but empty one too: SN_SEEDS="" means no seeds).
    const vars = { ...env, SN_TEAM: "env-team", SN_SEEDS: "127.0.0.1:7002", SN_MDNS: "1", SN_PORT: "7200" };
    expect(resolved(["lab", "q"], vars)).toMatchObject({ team: "env-team", seeds: ["127.0.0.1:7002"], mdns: true, bind: "127.0.0.1", port: 7200 });
    // Flags win over both.
    expect(resolved(["lab", "q", "-t", "flag-team", "-s", "127.0.0.1:7003", "--no-mdns", "--bind", "127.0.0.2", "--port", "7300"], vars)).toMatchObject({
      team: "flag-team",
      seeds: ["127.0.0.1:7003"],
      mdns: false,
      bind: "127.0.0.2",
      port: 7300,
    });
    // SN_CONTEXT picks another context for one command; empty: none at all.
    writeFileSync(join(root, "context", "d.json"), JSON.stringify({ team: "d-team" }));
    expect(resolved(["lab", "q"], { ...env, SN_CONTEXT: "d" })).toMatchObject({ team: "d-team", seeds: [], mdns: true });
    expect(resolved(["lab", "q"], { ...env, SN_CONTEXT: "" })).toMatchObject({ team: "default", mdns: true });
    expect(cliEnvironment({ ...env, SN_SWARM: "env-swarm" }).SN_SWARM).toBe("env-swarm");
    expect(cliEnvironment(env).SN_SWARM).toBe("ctx-swarm");
  }, 60_000);

  test("a command with no SWARM and no seed runs from the selected context alone", async () => {
    const seed = await startNode({ name: "seed", swarm: "ctx-run", heartbeatInterval: null });
    seed.endpoint("synapse.message", async (_message: string, ctx: CallContext) => {
      await seed.reply(ctx.broadcast!, { received_by: "seed" });
      return null;
    });
    const { env } = home();
    const save = await sn(["context", "save", "here", "--swarm", "ctx-run", "--seed", `127.0.0.1:${seed.port}`, "--no-mdns", "--select"], 15_000, env);
    expect(save.code).toBe(0);
    const r = await sn(["broadcast", "hello from a context", "--timeout", "2", "--json"], 15_000, env);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(jsonLines(r.stdout).some((rec) => JSON.stringify(rec).includes("received_by"))).toBe(true);
    // A flag still wins: another swarm finds no peer in this one (the seed refuses the join).
    const other = await sn(["broadcast", "elsewhere", "hi", "--timeout", "1", "--discover", "0.5"], 15_000, env);
    expect(other.code).toBe(1);
  }, 60_000);
});
