/**
 * The bridge's part in rumour mongering with feedback: a message to a member that does not know
 * this node yet goes out with this node's claim first (an introduction), so the receiver's `stale`
 * positions refer to the message as sent and are renumbered to the core's message.
 */
import { describe, expect, test } from "bun:test";
import { restale } from "../../src/membership/gossip.ts";

describe("gossip bridge - stale positions", () => {
  test("an introduction put first: positions shift back by one, the claim's own is dropped", () => {
    // Sent: [claim added here, core's 0, core's 1, core's 2].
    expect(restale({ kind: "ack", from: "b", updates: [], stale: [0, 1, 3] }, [-1, 0, 1, 2])).toEqual({ kind: "ack", from: "b", updates: [], stale: [0, 2] });
  });

  test("a queued claim of this node moved first: positions follow it", () => {
    // The core's message had this node's claim at 2; sent: [core's 2, core's 0, core's 1, core's 3].
    expect(restale({ kind: "nack", from: "b", updates: [], stale: [0, 2, 3] }, [2, 0, 1, 3])).toMatchObject({ stale: [2, 1, 3] });
  });

  test("anything else is left for the core to read: no stale, a malformed one, positions out of range", () => {
    const plain = { kind: "ack", from: "b", updates: [] };
    expect(restale(plain, [-1, 0])).toBe(plain);
    expect(restale("nonsense", [-1, 0])).toBe("nonsense");
    expect(restale({ ...plain, stale: "x" }, [-1, 0])).toEqual({ ...plain, stale: "x" });
    expect(restale({ ...plain, stale: [7, "y", 1] }, [-1, 0])).toEqual({ ...plain, stale: [0] });
  });
});
