/**
 * docs/membership.md runs: every ```ts block is a loopback program run as a script (output lines
 * annotated `// => text` must appear); every ```typescript block uses mDNS on a real interface,
 * so it runs only inside two network namespaces made here, joined by veth ends named `eth0`.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Netns, cleanupNamespaces, linkPair, netnsUnavailable } from "../helpers/netns.ts";

const root = join(import.meta.dir, "..", "..");
const doc = await Bun.file(join(root, "docs", "membership.md")).text();
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
  test("the document starts with the section heading and has runnable examples", () => {
    expect(doc.startsWith("## Swarm membership\n")).toBe(true);
    expect(loopbackBlocks.length).toBeGreaterThanOrEqual(2);
    expect(mdnsBlocks.length).toBeGreaterThanOrEqual(1);
    expect(doc).not.toContain("BENCH_TABLE");
  });

  loopbackBlocks.forEach((code, i) => {
    test(`membership - docs block ${i + 1} runs`, async () => {
      const file = join(dir, `block-${i + 1}.ts`);
      writeFileSync(file, code);
      const { code: exit, out, err } = await run([process.execPath, file], 15_000);
      if (exit !== 0) console.error(`block ${i + 1} failed:\n${out}\n${err}`);
      expect(exit).toBe(0);
      const expected = [...code.matchAll(/\/\/ => (.*)$/gm)].map((m) => m[1]!.trim());
      expect(expected.length).toBeGreaterThan(0);
      for (const line of expected) expect(out).toContain(line);
    });
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
