/**
 * The peer views of the dissemination (`peer-view.ts`): an author's send takes a list that holds
 * every peer known at the time, without copying the peer list again when no peer came or went; the
 * others take it again every VIEW_REFRESH seconds only when peers came, went or moved, else every
 * VIEW_RENEW.
 */
import { describe, expect, spyOn, test } from "bun:test";
import { PeerViews, VIEW_REFRESH, VIEW_RENEW } from "../../src/conversation/peer-view.ts";
import { PeerTable } from "../../src/membership/peer-table.ts";
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

describe("peer views - a relay's list", () => {
  test("past VIEW_REFRESH taken again only when the host's version changed; past VIEW_RENEW in any case", () => {
    const { host, state } = fakeHost(true);
    let now = 1_000;
    const clock = spyOn(performance, "now").mockImplementation(() => now);
    try {
      const views = new PeerViews(host, () => undefined, 0.02);
      views.get();
      expect(state.taken).toBe(1);
      // Nobody came, went or moved: the list is not copied again every VIEW_REFRESH.
      now += VIEW_REFRESH * 1000 + 1;
      views.get();
      expect(state.taken).toBe(1);
      // A peer came: within VIEW_REFRESH of the last take a relay keeps its list; past it, takes it again.
      state.peers.push(record(3));
      state.version++;
      views.get();
      expect(state.taken).toBe(2);
      expect(views.find(record(3).id)?.name).toBe("p3");
      state.version++;
      now += 1;
      views.get();
      expect(state.taken).toBe(2);
      now += VIEW_REFRESH * 1000;
      views.get();
      expect(state.taken).toBe(3);
      // Nothing changed for VIEW_RENEW: taken again (a renamed peer's record is read anew).
      state.peers[0] = { ...state.peers[0]!, name: "renamed" };
      now += VIEW_RENEW * 1000 - 1;
      expect(views.find(record(1).id)?.name).toBe("p1");
      now += 2;
      expect(views.find(record(1).id)?.name).toBe("renamed");
      expect(state.taken).toBe(4);
    } finally {
      clock.mockRestore();
    }
  });

  test("the peer table's version counts a peer that moved (a new address or port), not a refresh of its record", () => {
    const table = new PeerTable();
    const p = record(1);
    table.upsert(p, "join");
    const v = table.version;
    table.upsert({ ...p, last_seen: 5, name: "other" }, "heartbeat");
    expect(table.version).toBe(v);
    table.upsert({ ...p, port: 9999 }, "heartbeat");
    expect(table.version).toBe(v + 1);
    table.upsert({ ...p, port: 9999, address: "127.0.0.2" }, "heartbeat");
    expect(table.version).toBe(v + 2);
  });
});
