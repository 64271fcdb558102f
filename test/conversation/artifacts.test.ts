import { afterEach, describe, expect, test } from "bun:test";
import { Client } from "../../src/rpc/client.ts";
import { ConfigError } from "../../src/errors.ts";
import { agentCard, ArtifactStore } from "../../src/conversation/artifacts.ts";
import { remoteError, startNode, stopAll } from "./swarm.ts";

afterEach(stopAll);

// Sizes and digests computed by CPython 3 (json.dumps(sort_keys=True, separators=(",", ":")), UTF-8
// for text, raw bytes, hashlib.sha256).
const CARD = { name: "Zoë", city: "Kraków", emoji: "🦀", cjk: "日本語", nested: { z: { y: 1, x: [true, false, null] }, a: "\u0000\u001f\u007f\"\\\n\t/" } };
const CARD_SHA = "480d68c230dacee55f22eff800f80acdd7d00dc968cd7099eaf0d6410e57b3fa";
const TEXT = "héllo wörld ☃";
const TEXT_SHA = "197a152db0d9da8d291382523cbe9fc690eaed31f5b9d597814c825624770688";
const BYTES = Uint8Array.from({ length: 256 }, (_, i) => i);
const BYTES_SHA = "40aff2e9d2d8922e47afd4648e6967497158785fbd1da870e7110266bf944880";

describe("conversation - artifacts", () => {
  test("_synapse.artifacts lists descriptors with Python's size and sha256 for json, text and bytes", async () => {
    const node = await startNode({ name: "librarian" });
    node.artifact("card", CARD, { kind: "agent_card", description: "who I am", metadata: { v: 1 } });
    node.artifact("motto", TEXT);
    node.artifact("blob", BYTES, { mimeType: "application/x-test" });
    // Each is signed by its node (docs/security.md): its id and signature in the metadata.
    const signed = { _signer: node.id, _sig: expect.any(String) };
    const list = await new Client("127.0.0.1", node.port).call<Array<Record<string, unknown>>>("_synapse.artifacts");
    expect(list).toEqual([
      { name: "card", mime_type: "application/json", kind: "agent_card", description: "who I am", encoding: "json", size: 169, sha256: CARD_SHA, metadata: { v: 1, ...signed } },
      { name: "motto", mime_type: "text/plain", kind: "metadata", description: "", encoding: "text", size: 17, sha256: TEXT_SHA, metadata: signed },
      { name: "blob", mime_type: "application/x-test", kind: "metadata", description: "", encoding: "base64", size: 256, sha256: BYTES_SHA, metadata: signed },
    ]);
    for (const d of list) expect(Object.keys(d)).toEqual(["name", "mime_type", "kind", "description", "encoding", "size", "sha256", "metadata"]);
  });

  test("_synapse.artifact.get returns the content after mime_type (structure, text, base64)", async () => {
    const node = await startNode({ name: "librarian" });
    node.artifact("card", CARD);
    node.artifact("motto", TEXT);
    node.artifact("blob", BYTES);
    const client = new Client("127.0.0.1", node.port);
    const card = await client.call<Record<string, unknown>>("_synapse.artifact.get", "card");
    expect(Object.keys(card)).toEqual(["name", "mime_type", "content", "kind", "description", "encoding", "size", "sha256", "metadata"]);
    expect(card.content).toEqual(CARD);
    expect(card.sha256).toBe(CARD_SHA);
    expect((await client.call<Record<string, unknown>>("_synapse.artifact.get", "motto")).content).toBe(TEXT);
    const blob = await client.call<Record<string, unknown>>("_synapse.artifact.get", "blob");
    expect(new Uint8Array(Buffer.from(blob.content as string, "base64"))).toEqual(BYTES);
    expect(blob.encoding).toBe("base64");
  });

  test("unknown artifact: bad_request 'unknown artifact: NAME'", async () => {
    const node = await startNode({ name: "librarian" });
    const error = await remoteError(new Client("127.0.0.1", node.port).call("_synapse.artifact.get", "nope"));
    expect(error.code).toBe("bad_request");
    expect(error.message).toBe("unknown artifact: nope");
  });

  test("replacing, explicit encodings, copies and refusals", () => {
    const store = new ArtifactStore();
    const content = { a: 1 };
    store.set("x", content);
    content.a = 2; // later changes do not leak into the artifact
    expect(store.get("x").content).toEqual({ a: 1 });
    // A string published as JSON is its JSON text: "plain string" (14 bytes, Python's digest).
    const asJson = store.set("s", "plain string", { encoding: "json" });
    expect([asJson.size, asJson.sha256]).toEqual([14, "100e95befce5c34a8927f2359d07d340222625dd67a32ea9c96031c7f9b5f74a"]);
    expect(store.set("x", [1, 2]).size).toBe(5);
    expect(store.list().map((d) => d.name)).toEqual(["x", "s"]);
    expect(() => store.set("t", 5, { encoding: "text" })).toThrow(ConfigError);
    expect(() => store.set("b", "not bytes", { encoding: "base64" })).toThrow(ConfigError);
    expect(() => store.set("", 1)).toThrow(ConfigError);
    expect(() => store.set("f", { f: () => 1 })).toThrow(ConfigError);
    expect(store.delete("s")).toBe(true);
    expect(() => store.get("s")).toThrow("unknown artifact: s");
  });

  test("agentCard has the Python examples' shape; publishAgentCard is found by a Python planner (issue #11)", async () => {
    const node = await startNode({ name: "scribe", role: "writer", description: "writes things", capabilities: [{ name: "write", description: "prose" }, "python"] });
    node.endpoint("write", { description: "Write a paragraph" }, (topic: string) => `About ${topic}`);
    const card = agentCard(node, { languages: ["en"] });
    expect(Object.keys(card).slice(0, 4)).toEqual(["name", "role", "capabilities", "description"]);
    expect(card).toEqual({
      name: "scribe",
      role: "writer",
      capabilities: ["write", "python"],
      description: "writes things",
      id: node.id,
      swarm: null,
      team: "default",
      capability_details: [
        { name: "write", description: "prose", input_schema: {}, output_schema: {} },
        { name: "python", description: "", input_schema: {}, output_schema: {} },
      ],
      endpoints: [{ name: "write", description: "Write a paragraph" }],
      languages: ["en"],
    });
    const d = node.publishAgentCard({ languages: ["en"] });
    expect([d.name, d.mime_type, d.kind]).toEqual(["agent-card", "application/vnd.synapse.agent-card+json", "metadata"]);

    // What a Python planner does: list the artifacts, take the one with the agent-card MIME type,
    // fetch it, and test `"python" in card["capabilities"]`.
    const client = new Client("127.0.0.1", node.port);
    const listed = await client.call<Array<{ name: string; mime_type: string }>>("_synapse.artifacts");
    const found = listed.find((a) => a.mime_type === "application/vnd.synapse.agent-card+json")!;
    const got = await client.call<{ content: { capabilities: unknown[]; description: unknown; role: unknown }; sha256: string }>("_synapse.artifact.get", found.name);
    expect(got.content.capabilities.includes("python")).toBe(true);
    expect(typeof got.content.description).toBe("string");
    expect(got.content).toEqual(card);
    expect(got.sha256).toBe(d.sha256);

    // An unset role and description are "", never nil.
    const bare = await startNode({ name: "bare" });
    expect([agentCard(bare).role, agentCard(bare).description]).toEqual(["", ""]);
  });
});
