/**
 * What a node of the original protocol (a Python node) takes, as the pool checks it before a call
 * to a peer that refused the hello (`originalRefusal` in wire/protocol.ts): the original built-ins
 * with their parameters, no extension endpoint, no keyword a built-in has no parameter for.
 */
import { describe, expect, test } from "bun:test";
import { HELLO_ENDPOINT, LEAVE_ENDPOINT, ORIGINAL_BUILTINS, SWIM_ENDPOINTS, isExtensionEndpoint, originalRefusal } from "../../src/wire/protocol.ts";
import { METRICS_ENDPOINT } from "../../src/node-metrics.ts";
import { ConversationEndpoint } from "../../src/conversation/contracts.ts";

const PROTOCOL = await Bun.file(new URL("../../../shared/PROTOCOL.md", import.meta.url)).text();

describe("original built-ins", () => {
  test("the list is PROTOCOL.md's built-in _synapse.* endpoints, no more, no fewer, each with the parameters it names", () => {
    const section = PROTOCOL.slice(PROTOCOL.indexOf("## Built-in endpoints"), PROTOCOL.indexOf("## Broadcast"));
    const named = new Set([...section.matchAll(/`(_synapse\.[a-z_.]+)`/g)].map((m) => m[1]!));
    expect([...ORIGINAL_BUILTINS.keys()].sort()).toEqual([...named].sort());
    // Each signature as the spec writes it: "`name`: (a, b: Type, kwargs c=<any>) -> ...".
    const signatures = [...section.matchAll(/`(_synapse\.[a-z_.]+)`: \(([^)]*)\)/g)].map((m) => [
      m[1]!,
      m[2]!
        .split(",")
        .map((p) => p.trim().replace(/^kwargs /, "").split(/[:=]/)[0]!.trim())
        .filter((p) => p.length > 0),
    ]);
    expect(signatures.length).toBe(named.size);
    expect(Object.fromEntries(signatures)).toEqual(Object.fromEntries(ORIGINAL_BUILTINS));
  });

  test("every endpoint this implementation adds is an extension; the hello, the built-ins and the application's are not", () => {
    for (const e of [METRICS_ENDPOINT, LEAVE_ENDPOINT, ConversationEndpoint.Batch, ...Object.values(SWIM_ENDPOINTS)]) expect([e, isExtensionEndpoint(e)]).toEqual([e, true]);
    for (const e of [HELLO_ENDPOINT, ...ORIGINAL_BUILTINS.keys(), "_node.ask", "_node.info", "synapse.ask", "sum"]) expect([e, isExtensionEndpoint(e)]).toEqual([e, false]);
  });

  test("originalRefusal: too many positional arguments, an unknown keyword, an extension; what Python binds passes", () => {
    expect(originalRefusal("_synapse.join", [{}], {})).toBe(null);
    expect(originalRefusal("_synapse.join", [], { peer: {} })).toBe(null);
    expect(originalRefusal("_synapse.join", [{}], { sig: new Uint8Array(64) })).toBe("_synapse.join takes no keyword argument sig there");
    expect(originalRefusal("_synapse.heartbeat", [{}, {}], {})).toBe("_synapse.heartbeat takes 1 positional argument there, not 2");
    expect(originalRefusal("_synapse.broadcast.reply", ["n", {}], { result: 1 })).toBe(null);
    expect(originalRefusal("_synapse.conversation.sync", ["c"], { since: 1.5 })).toBe(null);
    expect(originalRefusal("_synapse.conversation.sync", ["c"], { since: 0, page: 100 })).toBe("_synapse.conversation.sync takes no keyword argument page there");
    expect(originalRefusal("_synapse.ping", [1], {})).toBe("_synapse.ping takes 0 positional arguments there, not 1");
    expect(originalRefusal(ConversationEndpoint.Batch, [], {})).toBe("_synapse.conversation.batch is an extension of synapse-p2p for Bun");
    // The hello is how a node tells Python from Bun; user endpoints and _node.* are the application's to check.
    expect(originalRefusal(HELLO_ENDPOINT, [{ features: [] }], {})).toBe(null);
    expect(originalRefusal("_node.ask", ["task"], { context: {}, anything: 1 })).toBe(null);
    expect(originalRefusal("sum", [1, 2, 3], { x: 1 })).toBe(null);
  });
});
