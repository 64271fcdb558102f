/**
 * The README's membership section runs. Its ```ts blocks are loopback programs, run with every other
 * README block by test/readme.test.ts. Its ```typescript block uses mDNS on a real interface, so it
 * runs here only, inside two network namespaces made for it, joined by veth ends named `eth0`.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Netns, cleanupNamespaces, linkPair, netnsUnavailable } from "../helpers/netns.ts";

const root = join(import.meta.dir, "..", "..");
// The section of the README between "## Swarm membership" and the next top-level heading.
const readme = await Bun.file(join(root, "README.md")).text();
const doc = readme.slice(readme.indexOf("## Swarm membership\n")).split(/\n## (?!#)/)[0]!;
const loopbackBlocks = [...doc.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
const mdnsBlocks = [...doc.matchAll(/```typescript\n([\s\S]*?)```/g)].map((m) => m[1]!);
const dir = join(root, ".tmp", "membership-docs");
mkdirSync(dir, { recursive: true });

const unavailable = netnsUnavailable();

afterEach(cleanupNamespaces);

async function run(cmd: string[], timeoutMs: number): Promise<{ code: number; out: string; err: string }> {
  const proc = Bun.spawn(cmd, { cwd: root, stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { code, out, err };
}

describe("membership - docs", () => {
  test("the README has the section with runnable examples", () => {
    expect(doc.startsWith("## Swarm membership\n")).toBe(true);
    expect(loopbackBlocks.length).toBeGreaterThanOrEqual(2);
    expect(mdnsBlocks.length).toBeGreaterThanOrEqual(1);
    expect(doc).not.toContain("BENCH_TABLE");
  });

  (unavailable ? test.skip : test)(
    "membership - docs mDNS block runs in two namespaces and each node finds the other",
    async () => {
      const code = mdnsBlocks[0]!;
      const file = join(dir, "mdns-block.ts");
      writeFileSync(file, code);
      const left = Netns.create({ loopback: "up" });
      const right = Netns.create({ loopback: "up" });
      linkPair(left, right, "eth0", "eth0", "192.0.2.1", "192.0.2.2");
      const [a, b] = await Promise.all([
        run(["ip", "netns", "exec", left.name, process.execPath, file], 20_000),
        run(["ip", "netns", "exec", right.name, process.execPath, file], 20_000),
      ]);
      for (const [r, other] of [
        [a, "192.0.2.2"],
        [b, "192.0.2.1"],
      ] as const) {
        if (r.code !== 0) console.error(r.out, r.err);
        expect(r.code).toBe(0);
        expect(r.out).toMatch(new RegExp(`found greenhouse at ${other.replace(/\./g, "\\.")}:\\d+`));
        expect(r.out).toContain("1 peer(s) after discovery");
      }
    },
    40_000,
  );
});

if (unavailable) console.warn(`SKIP membership docs mDNS block: ${unavailable}`);
