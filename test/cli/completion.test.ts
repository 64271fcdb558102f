import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { completionScript } from "../../src/cli/completion.ts";
import { COMMANDS } from "../../src/cli/spec.ts";
import { sn } from "./run-sn.ts";

/** What bash's completion offers for the words typed so far (the last one being completed). */
function bashComplete(script: string, words: string[]): string[] {
  const quoted = words.map((w) => `'${w}'`).join(" ");
  const out = spawnSync("bash", ["-c", `${script}\nCOMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _sn; printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: "utf8" });
  if (out.status !== 0) throw new Error(`bash: ${out.stderr}`);
  return out.stdout.split("\n").filter((l) => l !== "");
}

const hasBash = spawnSync("bash", ["--version"]).status === 0;

describe("cli completion", () => {
  test("`sn completion bash|zsh|fish` prints the script; another shell is refused", async () => {
    for (const shell of ["bash", "zsh", "fish"] as const) {
      const result = await sn(["completion", shell]);
      expect(result.code).toBe(0);
      expect(result.stdout).toBe(completionScript(shell));
    }
    const tcsh = await sn(["completion", "tcsh"]);
    expect(tcsh.code).toBe(2);
    expect(tcsh.stderr).toBe('error: unknown shell "tcsh": choose bash, zsh or fish (see `sn completion --help`)\n');
  });

  test.skipIf(!hasBash)("bash completes commands, each command's flags, and shells", () => {
    const script = completionScript("bash");
    expect(bashComplete(script, ["sn", "pi"])).toEqual(["ping"]);
    expect(bashComplete(script, ["sn", "list"])).toEqual(["list-swarms"]);
    expect(bashComplete(script, ["sn", "dash"])).toEqual(["dashboard"]);
    expect(bashComplete(script, ["sn", "dashboard", "lab", "--li"])).toEqual(["--listen"]);
    expect(bashComplete(script, ["sn", "watch", "lab", "--no-m"])).toEqual(["--no-mdns"]);
    expect(bashComplete(script, ["sn", "ask", "lab", "--con"])).toEqual(["--context"]);
    expect(bashComplete(script, ["sn", "ping", "--ti"])).toEqual(["--timeout"]);
    expect(bashComplete(script, ["sn", "completion", "z"])).toEqual(["zsh"]);
    expect(bashComplete(script, ["sn", "watch", "--seed", "--"])).toEqual([]); // a value is expected, not a flag
    expect(bashComplete(script, ["sn", "context", ""])).toEqual(["save", "use", "ls", "show", "rm"]);
    expect(bashComplete(script, ["sn", "context", "save", "x", "--se"])).toEqual(["--seed", "--select"]);
  });

  test.skipIf(!hasBash)("bash completes `sn context use|show|rm` with the saved contexts' names", () => {
    const dir = mkdtempSync(join(tmpdir(), "sn-completion-"));
    try {
      mkdirSync(join(dir, "synapse-p2p", "context"), { recursive: true });
      for (const name of ["lab", "local", "prod"]) writeFileSync(join(dir, "synapse-p2p", "context", `${name}.json`), "{}");
      const script = `export XDG_CONFIG_HOME='${dir}'\n${completionScript("bash")}`;
      expect(bashComplete(script, ["sn", "context", "use", "l"])).toEqual(["lab", "local"]);
      expect(bashComplete(script, ["sn", "context", "rm", ""])).toEqual(["lab", "local", "prod"]);
      expect(bashComplete(script, ["sn", "context", "ls", ""])).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("zsh and fish scripts name every command and every flag", () => {
    const zsh = completionScript("zsh");
    const fish = completionScript("fish");
    expect(zsh).toStartWith("#compdef sn\n");
    for (const command of COMMANDS) {
      expect(zsh).toContain(`'${command.name}:`);
      expect(zsh).toContain(`    ${command.name})\n`);
      expect(fish).toContain(`-a ${command.name} -d `);
      for (const flag of command.flags) {
        expect(zsh).toContain(`--${flag.name}`);
        expect(fish).toContain(`-n '__fish_seen_subcommand_from ${command.name}' -l ${flag.name}`);
        if (flag.negatable) expect(fish).toContain(`-n '__fish_seen_subcommand_from ${command.name}' -l no-${flag.name}`);
      }
    }
  });
});
