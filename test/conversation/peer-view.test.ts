/**
 * The peer views of the dissemination (`peer-view.ts`): an author's send takes a list that holds
 * every peer known at the time, without copying the peer list again when no peer came or went.
 */
import { describe, expect, test } from "bun:test";
import { PeerViews } from "../../src/conversation/peer-view.ts";
import type { Peer } from "../../src/types.ts";

const record = (i: number): Peer => ({ id: `${i}`.padStart(64, "0"), name: `p${i}`, address: "127.0.0.1", port: 7000 + i, swarm: "s", team: null, kind: "node", capabilities: [], last_seen: 1 });

function fakeHost(withVersion: boolean) {
  const state = { peers: [record(1), record(2)], version: 0, taken: 0 };
  const host = {
    self: () => record(0),
    peers: () => {
      state.taken++;
      return state.peers.map((p) => ({ ...p }));
    },
    call: async () => null,
    batches: () => true,
    ...(withVersion ? { peersVersion: () => state.version } : {}),
  };
  return { host, state };
}

describe("peer views - an author's latest list", () => {
  test("taken again only when a peer came or went (the host's peersVersion), and then holding the newcomer", () => {
    const { host, state } = fakeHost(true);
    const views = new PeerViews(host, () => undefined, 0.02);
    expect(views.get().batch.length).toBe(2);
    expect(state.taken).toBe(1);
    // No peer came or went: the author's send uses the view it has.
    expect(views.get(true).batch.length).toBe(2);
    expect(state.taken).toBe(1);
    // A peer joined: the author's send takes the list now, and reaches it.
    state.peers.push(record(3));
    state.version++;
    const view = views.get(true);
    expect(state.taken).toBe(2);
    expect(view.batch.map((p) => p.name)).toEqual(["p1", "p2", "p3"]);
    // A relay (not latest) within the refresh time never takes it again.
    views.get();
    expect(state.taken).toBe(2);
  });

  test("a host that tells no version: every author's send takes the list afresh, as before", () => {
    const { host, state } = fakeHost(false);
    const views = new PeerViews(host, () => undefined, 0.02);
    views.get();
    views.get(true);
    views.get(true);
    expect(state.taken).toBe(3);
  });
});
