import { afterAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteConversationLog } from "../../src/conversation/sqlite-log.ts";
import { makeEvent } from "../../src/conversation/events.ts";
import { encode } from "../../src/wire/codec.ts";
import { ConfigError } from "../../src/errors.ts";
import { disableLogging, enableLogging } from "../../src/log.ts";
import type { Peer } from "../../src/types.ts";

// The Python package's SqliteConversationLog, as PROTOCOL.md states it: this DDL, Python's default
// connection settings (rollback journal), `json.dumps(event.to_dict(), default=str)` in `data`,
// INSERT OR IGNORE + commit, reads of compacted = 0 by created_at then rowid, tombstones.
const PYTHON_DDL = `
CREATE TABLE IF NOT EXISTS events (event_id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL, created_at REAL NOT NULL, compacted INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS idx_events_conversation ON events (conversation_id, created_at);
`;
const PY_APPEND = "INSERT OR IGNORE INTO events (event_id, conversation_id, created_at, data) VALUES (?, ?, ?, ?)";
const PY_READ = "SELECT data FROM events WHERE conversation_id = ? AND compacted = 0 ORDER BY created_at, rowid";

const PEER_JSON =
  '{"id": "bbbbbbbb", "address": "127.0.0.1", "port": 9002, "swarm": "golden", "team": "default", "name": "beta", "kind": "node", "capabilities": ["python"], "last_seen": 1700000001.5}';
/** Rows as a Python node writes them (text produced by CPython's json.dumps). */
const PYTHON_ROWS: Array<[string, string, number, number, string]> = [
  ["n1", "n1", 1700000000.0, 0, `{"conversation_id": "n1", "event_id": "n1", "kind": "message", "peer": ${PEER_JSON}, "payload": {"endpoint": "synapse.message", "args": ["Zo\\u00eb \\ud83e\\udd80"], "kwargs": {}}, "parent_id": null, "created_at": 1700000000.0, "metadata": {}}`],
  ["old", "n1", 1700000000.5, 1, ""],
  ["a1", "n1", 1700000001.25, 0, `{"conversation_id": "n1", "event_id": "a1", "kind": "ack", "peer": ${PEER_JSON}, "payload": {"score": NaN, "max": Infinity, "min": -Infinity}, "parent_id": "n1", "created_at": 1700000001.25, "metadata": {"via": "py"}}`],
  ["broken", "n1", 1700000002.0, 0, "{not json"],
  ["r1", "n1", 1700000003.0, 0, `{"conversation_id": "n1", "event_id": "r1", "kind": "reply", "peer": ${PEER_JSON}, "payload": {"result": {"received_by": "beta"}}, "parent_id": "n1", "created_at": 1700000003.0, "metadata": {}}`],
];

const dir = mkdtempSync(join(tmpdir(), "synapse-pylog-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function pythonFile(name: string): string {
  const path = join(dir, name);
  const db = new Database(path, { create: true });
  db.exec(PYTHON_DDL);
  const insert = db.prepare("INSERT INTO events (event_id, conversation_id, created_at, compacted, data) VALUES (?, ?, ?, ?, ?)");
  for (const row of PYTHON_ROWS) insert.run(...row);
  db.close();
  return path;
}

/** SQLite's header byte 18: 1 = rollback journal, 2 = WAL. */
function journalByte(path: string): number {
  return readFileSync(path)[18]!;
}

const peer: Peer = { id: "c".repeat(8), address: "127.0.0.1", port: 9003, swarm: "golden", team: "default", name: "gamma", kind: "node", capabilities: [], last_seen: 1700000010.5 };

describe("conversation - SQLite file shared with the Python package", () => {
  test("a Python file opens here: events read, tombstones remembered, a bad row skipped and logged, journal mode kept", () => {
    const path = pythonFile("python.db");
    expect(journalByte(path)).toBe(1);
    const warnings: string[] = [];
    enableLogging("warn", (_level, _scope, message) => void warnings.push(message));
    const log = new SqliteConversationLog(path);
    try {
      const events = log.events("n1");
      expect(events.map((e) => e.event_id)).toEqual(["n1", "a1", "r1"]);
      expect(events[0]!.payload).toEqual({ endpoint: "synapse.message", args: ["Zoë 🦀"], kwargs: {} });
      expect(events[0]!.peer.name).toBe("beta");
      expect(events[1]!.payload).toEqual({ score: Number.NaN, max: Number.POSITIVE_INFINITY, min: Number.NEGATIVE_INFINITY });
      expect(events[1]!.metadata).toEqual({ via: "py" });
      expect(warnings.some((w) => w.includes("row broken skipped"))).toBe(true);
      expect(log.has("old")).toBe(true); // a Python tombstone
      expect(log.append(makeEvent({ conversationId: "n1", eventId: "old", kind: "note", peer }))).toBe(false);
      expect(log.count("n1")).toBe(4); // live rows, the undecodable one included
      expect(log.conversations()).toEqual(["n1"]);
      expect(log.events("n1", 1700000001.25).map((e) => e.event_id)).toEqual(["r1"]);
    } finally {
      disableLogging();
      log.close();
    }
    expect(journalByte(path)).toBe(1); // not switched to WAL
  });

  test("what this side writes is Python's json.dumps text, and Python's reads and appends work on it", () => {
    const path = join(dir, "bun.db");
    const log = new SqliteConversationLog(path);
    const event = makeEvent({
      conversationId: "c1",
      eventId: "e1",
      kind: "message",
      peer,
      payload: { text: "Kraków", n: 2.5, list: [1, null, true] },
      parentId: null,
      createdAt: 1700000000.25,
      metadata: {},
    });
    log.append(event);
    log.close();

    const db = new Database(path);
    const schema = db.query("SELECT sql FROM sqlite_master WHERE name = 'events'").get() as { sql: string };
    expect(schema.sql.replace(/\s+/g, " ")).toContain("event_id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL, created_at REAL NOT NULL, compacted INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL");
    expect(db.query("SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'idx_events_conversation'").get()).not.toBeNull();
    expect(db.query("SELECT name FROM sqlite_master WHERE type = 'table'").all()).toEqual([{ name: "events" }]);
    const { data } = db.query(PY_READ).get("c1") as { data: string };
    expect(data).toBe(
      '{"conversation_id": "c1", "event_id": "e1", "kind": "message", "peer": {"id": "cccccccc", "address": "127.0.0.1", "port": 9003, "swarm": "golden", "team": "default", "name": "gamma", "kind": "node", "capabilities": [], "last_seen": 1700000010.5}, "payload": {"text": "Krak\\u00f3w", "n": 2.5, "list": [1, null, true]}, "parent_id": null, "created_at": 1700000000.25, "metadata": {}}',
    );
    // A Python node appends to the same file; this side reads its row.
    db.prepare(PY_APPEND).run("e2", "c1", 1700000001.0, PYTHON_ROWS[2]![4].replace('"n1", "event_id": "a1"', '"c1", "event_id": "e2"'));
    db.close();
    const again = new SqliteConversationLog(path);
    expect(again.events("c1").map((e) => e.event_id)).toEqual(["e1", "e2"]);
    again.close();
  });

  test("compaction leaves tombstones as Python does; pruning deletes every row", () => {
    const path = join(dir, "compact.db");
    const log = new SqliteConversationLog(path);
    for (let i = 1; i <= 3; i++) log.append(makeEvent({ conversationId: "c", eventId: `e${i}`, kind: "note", peer, createdAt: i }));
    log.compact("c", ["e1", "e2"], makeEvent({ conversationId: "c", eventId: "s", kind: "summary", peer, createdAt: 2, payload: { summary: "two" } }));
    const db = new Database(path, { readonly: true });
    expect(db.query("SELECT event_id, compacted, data FROM events WHERE compacted = 1 ORDER BY event_id").all()).toEqual([
      { event_id: "e1", compacted: 1, data: "" },
      { event_id: "e2", compacted: 1, data: "" },
    ]);
    db.close();
    expect(log.prune(10)).toEqual(["c"]);
    const after = new Database(path, { readonly: true });
    expect(after.query("SELECT COUNT(*) AS n FROM events").get()).toEqual({ n: 0 });
    after.close();
    log.close();
  });

  test("bytes survive here as a tagged map; a Python reader sees plain JSON", () => {
    const log = new SqliteConversationLog(join(dir, "bytes.db"));
    const bytes = new Uint8Array([0, 1, 255]);
    log.append(makeEvent({ conversationId: "b", eventId: "b1", kind: "blob", peer, payload: { bytes, nested: [{ also: bytes }] } }));
    expect(log.events("b")[0]!.payload).toEqual({ bytes, nested: [{ also: bytes }] });
    log.close();
    const db = new Database(join(dir, "bytes.db"), { readonly: true });
    const { data } = db.query(PY_READ).get("b") as { data: string };
    expect(JSON.parse(data).payload.bytes).toEqual({ __bytes__: "AAH/" });
    db.close();
  });

  test("a file of another layout is refused with ConfigError and left byte-identical", () => {
    const path = join(dir, "foreign.db");
    const db = new Database(path, { create: true });
    db.exec("CREATE TABLE events (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO events (body) VALUES ('mine')");
    db.close();
    const before = readFileSync(path);
    expect(() => new SqliteConversationLog(path)).toThrow(ConfigError);
    expect(() => new SqliteConversationLog(path)).toThrow(/not a synapse conversation log \(it has an events table with columns id, body\)/);
    expect(() => SqliteConversationLog.migrate(path)).toThrow(ConfigError);
    expect(readFileSync(path).equals(before)).toBe(true);

    const other = join(dir, "other-app.db");
    const app = new Database(other, { create: true });
    app.exec("CREATE TABLE users (name TEXT)");
    app.close();
    const appBefore = readFileSync(other);
    expect(() => new SqliteConversationLog(other)).toThrow(/tables users and no events table/);
    expect(readFileSync(other).equals(appBefore)).toBe(true);

    const text = join(dir, "notes.txt");
    writeFileSync(text, "this is not a database, just some text that is long enough to have a header\n".repeat(20));
    const textBefore = readFileSync(text);
    expect(() => new SqliteConversationLog(text)).toThrow(ConfigError);
    expect(readFileSync(text).equals(textBefore)).toBe(true);
  });

  test("this package's old layout: refused with the way forward, then migrated once", () => {
    const path = join(dir, "legacy.db");
    const db = new Database(path, { create: true });
    db.exec(`
      CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL UNIQUE, conversation_id TEXT NOT NULL, created_at REAL NOT NULL, data BLOB NOT NULL);
      CREATE INDEX events_by_conversation ON events (conversation_id, created_at, event_id);
      CREATE TABLE forgotten (event_id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL);
    `);
    const bytes = new Uint8Array([7, 8]);
    const events = [
      makeEvent({ conversationId: "z", eventId: "z1", kind: "message", peer, createdAt: 5, payload: { bytes } }),
      makeEvent({ conversationId: "a", eventId: "a1", kind: "note", peer, createdAt: 1 }),
      makeEvent({ conversationId: "z", eventId: "zs", kind: "summary", peer, createdAt: 6, payload: { summary: "s" } }),
    ];
    const insert = db.prepare("INSERT INTO events (event_id, conversation_id, created_at, data) VALUES (?, ?, ?, ?)");
    for (const e of events) insert.run(e.event_id, e.conversation_id, e.created_at, encode(e).slice());
    db.prepare("INSERT INTO forgotten VALUES (?, ?)").run("gone", "z");
    db.close();
    const before = readFileSync(path);

    expect(() => new SqliteConversationLog(path)).toThrow(/SqliteConversationLog\.migrate\(/);
    expect(readFileSync(path).equals(before)).toBe(true);

    expect(SqliteConversationLog.migrate(path)).toEqual({ events: 3, tombstones: 1 });
    expect(SqliteConversationLog.migrate(path)).toEqual({ events: 3, tombstones: 1 }); // idempotent
    const log = new SqliteConversationLog(path);
    expect(log.conversations()).toEqual(["z", "a"]);
    expect(log.events("z")).toEqual([events[0]!, events[2]!]);
    expect(log.has("gone")).toBe(true);
    expect(log.append(makeEvent({ conversationId: "z", eventId: "gone", kind: "note", peer }))).toBe(false);
    log.close();
    const check = new Database(path, { readonly: true });
    expect((check.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as Array<{ name: string }>).map((t) => t.name)).toEqual(["events"]);
    check.close();
  });
});
