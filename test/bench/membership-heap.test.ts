/**
 * bench/lib/membership-heap.ts: the owners it reports for the difference between two heap
 * snapshots of this process. Objects held in a named class's map are the map's entries (JSC's
 * snapshots leave out a map's edges to them, so they start trees of their own, named by their
 * properties that hold references); what they hold (their strings) goes with them; the map's storage goes to the class.
 */
import { expect, test } from "bun:test";
import { owners } from "../../bench/lib/membership-heap.ts";

class TracedHolder {
  readonly byKey = new Map<string, { tracedAlpha: string; tracedBeta: number }>();
}

type Snapshot = Parameters<typeof owners>[0];

test("membership-heap - a map's entries and their strings are one owner; the map's storage another", () => {
  const holder = new TracedHolder();
  (globalThis as { tracedHolder?: TracedHolder }).tracedHolder = holder;
  Bun.gc(true);
  const before = owners(JSON.parse(Bun.generateHeapSnapshot("v8")) as Snapshot);
  // Bounded: 2,000 entries, each with a 40-character string of its own (flat, as a decoder makes them).
  for (let i = 0; i < 2000; i++) holder.byKey.set(`k${i}`, { tracedAlpha: Buffer.from(String(i).padStart(40, "v")).toString(), tracedBeta: i });
  Bun.gc(true);
  const after = owners(JSON.parse(Bun.generateHeapSnapshot("v8")) as Snapshot, "orphan Object{tracedAlpha");
  const grown = (key: string) => (after.get(key)?.count ?? 0) - (before.get(key)?.count ?? 0);
  // The entries (objects, named by the properties that hold references) and their strings, split
  // by type with `detail`.
  expect(grown("orphan Object{tracedAlpha} :: object:Object")).toBe(2000);
  expect(grown("orphan Object{tracedAlpha} :: string:length 40")).toBe(2000);
  // The map's own storage hangs from the class's property.
  expect((after.get("TracedHolder.byKey")?.bytes ?? 0) - (before.get("TracedHolder.byKey")?.bytes ?? 0)).toBeGreaterThan(0);
  delete (globalThis as { tracedHolder?: TracedHolder }).tracedHolder;
});
