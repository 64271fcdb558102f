/**
 * The two entries: `synapse-p2p` (the public API, everything the README's examples import) and
 * `synapse-p2p/internal` (the wire and transport internals, kept out of the public one).
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, markdownFiles } from "./helpers/markdown.ts";
import * as main from "../src/index.ts";
import * as internal from "../src/internal.ts";

/** Value names (not `type X`) imported from `entry` by the TypeScript blocks of the docs. */
function importedValues(entry: string): Set<string> {
  const names = new Set<string>();
  const pattern = new RegExp(`import\\s*\\{([^}]*)\\}\\s*from\\s*"${entry.replace("/", "\\/")}"`, "g");
  for (const file of markdownFiles()) {
    const text = readFileSync(file, "utf8");
    for (const block of text.matchAll(/```ts\n([\s\S]*?)```/g)) {
      for (const m of block[1]!.matchAll(pattern)) {
        for (const part of m[1]!.split(",")) {
          const name = part.trim();
          if (name && !name.startsWith("type ")) names.add(name.split(/\s+as\s+/)[0]!);
        }
      }
    }
  }
  return names;
}

/** Wire and transport internals: only the internal entry has them. */
const WIRE_INTERNALS = [
  "encode",
  "decode",
  "fastEncodeInto",
  "fastDecode",
  "FrameDecoder",
  "HEADER_SIZE",
  "DEFAULT_MAX_FRAME",
  "request",
  "okResponse",
  "errorResponse",
  "parseMessage",
  "peekResponseId",
  "Connection",
  "Listener",
  "PeerChannel",
];

describe("exports", () => {
  test("exports - the main entry has every value the docs import from synapse-p2p", () => {
    const used = [...importedValues("synapse-p2p")];
    expect(used.length).toBeGreaterThan(5); // the pattern still finds the README's imports
    expect(used.filter((name) => !(name in main))).toEqual([]);
  });

  test("exports - the main entry has the classes and values a user receives or catches", () => {
    for (const name of [
      "Node",
      "Client",
      "kw",
      "EndpointRegistry",
      "Pool",
      "Emitter",
      "waitFor",
      "Scheduler",
      "PeriodicTask",
      "IntervalSchedule",
      "CronSchedule",
      "SolarSchedule",
      "Conversations",
      "ArtifactStore",
      "ErrorCode",
      "SynapseError",
      "WaitTimeoutError",
      "ScheduleError",
    ]) {
      expect(main).toHaveProperty(name);
    }
  });

  test("exports - the wire internals are in synapse-p2p/internal, not in synapse-p2p", () => {
    expect(WIRE_INTERNALS.filter((name) => !(name in internal))).toEqual([]);
    expect(WIRE_INTERNALS.filter((name) => name in main)).toEqual([]);
  });

  test("exports - package.json maps synapse-p2p/internal, and the name resolves", async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { exports: Record<string, Record<string, string>> };
    expect(pkg.exports["./internal"]?.default).toBe("./src/internal.ts");
    expect(pkg.exports["."]?.default).toBe("./src/index.ts");
    const byName = await import("synapse-p2p/internal");
    expect(byName.encode).toBe(internal.encode);
    expect((await import("synapse-p2p")).Node).toBe(main.Node);
  });
});
