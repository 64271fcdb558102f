/**
 * A durable {@link ConversationLog} on `bun:sqlite`, in the file layout of the Python package's
 * `SqliteConversationLog`, so that one file serves either implementation (a node rewritten from
 * Python to Bun keeps its history, and back):
 *
 * ```sql
 * CREATE TABLE events (event_id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL,
 *   created_at REAL NOT NULL, compacted INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL);
 * CREATE INDEX idx_events_conversation ON events (conversation_id, created_at);
 * ```
 *
 * `data` is the event as Python's `json.dumps` writes it. Compacted events stay as tombstones
 * (`compacted = 1, data = ''`) so that gossip cannot bring them back. A file with any other layout
 * is refused with a {@link ConfigError} and left untouched; the layout of this package's earlier
 * versions (a `seq` column and a `forgotten` table) is converted by {@link SqliteConversationLog.migrate}.
 *
 * @module
 */
import { Database, type Statement } from "bun:sqlite";
import type { ConversationEvent } from "../types.ts";
import type { ConversationLog } from "./log.ts";
import { ConfigError } from "../errors.ts";
import { createLogger } from "../log.ts";
import { errorMessage, isMap } from "../util/guards.ts";
import { decode } from "../wire/codec.ts";
import { pythonJsonDumps } from "./canonical-json.ts";
import { pythonJsonLoads } from "./python-json.ts";
import { parseEvent } from "./events.ts";

const log = createLogger("conversation");

/** Options of {@link SqliteConversationLog}. */
export interface SqliteLogOptions {
  /**
   * `"full"` (default): every append is synced to the disk before it returns, so it survives the
   * process being killed and the machine losing power. `"normal"`: faster; in a WAL file a returned
   * append survives the process dying but the last ones may be lost on power loss.
   */
  synchronous?: "normal" | "full";
}

/** The Python package's layout: the only one this log reads and writes. */
const PYTHON_COLUMNS = [
  ["event_id", "TEXT"],
  ["conversation_id", "TEXT"],
  ["created_at", "REAL"],
  ["compacted", "INTEGER"],
  ["data", "TEXT"],
] as const;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  event_id TEXT PRIMARY KEY,
  conversation_id TEXT NOT NULL,
  created_at REAL NOT NULL,
  compacted INTEGER NOT NULL DEFAULT 0,
  data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_events_conversation ON events (conversation_id, created_at);
`;

/** Key of the one-key map that stands for bytes in `data` (JSON has no bytes; see the docs). */
const BYTES_KEY = "__bytes__";

/** What a file holds, read without writing to it. */
type Layout = "empty" | "python" | "legacy" | { unknown: string };

function readLayout(db: Database): Layout {
  const tables = (db.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as Array<{ name: string }>).map(
    (t) => t.name,
  );
  if (tables.length === 0) return "empty";
  if (!tables.includes("events")) return { unknown: `tables ${tables.join(", ")} and no events table` };
  const columns = db.query("SELECT name, type FROM pragma_table_info('events') ORDER BY cid").all() as Array<{ name: string; type: string }>;
  const names = columns.map((c) => c.name);
  if (
    columns.length === PYTHON_COLUMNS.length &&
    PYTHON_COLUMNS.every(([name, type]) => columns.some((c) => c.name === name && c.type.toUpperCase() === type))
  ) {
    return "python";
  }
  if (names.includes("seq") && names.includes("data") && tables.includes("forgotten")) return "legacy";
  return { unknown: `an events table with columns ${names.join(", ")}` };
}

/** Open `path` and check its layout before anything writes to it. */
function openChecked(path: string): { db: Database; layout: Layout } {
  let db: Database;
  try {
    db = new Database(path, { create: true, strict: true });
  } catch (error) {
    throw new ConfigError(`cannot open conversation log ${path}: ${errorMessage(error)}`, { cause: error });
  }
  try {
    return { db, layout: readLayout(db) };
  } catch (error) {
    db.close();
    throw new ConfigError(`${path} is not a SQLite conversation log: ${errorMessage(error)}`, { cause: error });
  }
}

/** The event as Python's `json.dumps(event.to_dict(), default=str)` writes it (bytes tagged). */
function eventJson(event: ConversationEvent): string {
  return pythonJsonDumps(event, (bytes) => ({ [BYTES_KEY]: Buffer.from(bytes).toString("base64") }));
}

/** Bring tagged bytes back (only walked when the text holds the tag). */
function untag(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(untag);
  if (!isMap(value)) return value;
  const keys = Object.keys(value);
  if (keys.length === 1 && keys[0] === BYTES_KEY && typeof value[BYTES_KEY] === "string") {
    return new Uint8Array(Buffer.from(value[BYTES_KEY], "base64"));
  }
  const out: Record<string, unknown> = {};
  for (const key of keys) Object.defineProperty(out, key, { value: untag(value[key]), enumerable: true, writable: true, configurable: true });
  return out;
}

/** Read one `data` cell; null (logged) when it is not an event. */
function readRow(eventId: string, data: string): ConversationEvent | null {
  try {
    const raw = pythonJsonLoads(data);
    return parseEvent(data.includes(`"${BYTES_KEY}"`) ? untag(raw) : raw);
  } catch (error) {
    log.warn(`conversation log: row ${eventId} skipped, it does not hold a readable event: ${errorMessage(error)}`);
    return null;
  }
}

/**
 * Conversation events in a SQLite file (or `":memory:"`), in the Python package's layout. A new
 * file is put in WAL mode; an existing file keeps its journal mode (a Python file keeps its rollback
 * journal). Every append is its own transaction, synced before it returns (see
 * {@link SqliteLogOptions.synchronous}).
 *
 * Bytes in a payload, which JSON cannot hold, are written as `{"__bytes__": "<base64>"}` and read
 * back as bytes (Python writes them as their `str()` text, which cannot be read back).
 *
 * @example
 * const node = new Node({ conversationLog: new SqliteConversationLog("conversations.db") });
 */
export class SqliteConversationLog implements ConversationLog {
  /** The database file path. */
  readonly path: string;
  private readonly db: Database;
  private readonly insert: Statement;
  private readonly known: Statement;
  private readonly selectAll: Statement;
  private readonly selectSince: Statement;
  private readonly countOne: Statement;
  private readonly listIds: Statement;
  private readonly tombstone: Statement;
  private readonly tombstoneNew: Statement;
  private readonly replace: Statement;
  private readonly stale: Statement;
  private readonly dropEvents: Statement;
  private closed = false;

  /**
   * @throws {ConfigError} when the file is not a SQLite database, or holds another layout (the file
   * is left as it was); for this package's old layout the message names {@link migrate}.
   */
  constructor(path: string, options: SqliteLogOptions = {}) {
    this.path = path;
    const { db, layout } = openChecked(path);
    if (layout !== "empty" && layout !== "python") {
      db.close();
      if (layout === "legacy") {
        throw new ConfigError(
          `${path} holds conversations in the layout of earlier versions of synapse-p2p for Bun; convert it once with SqliteConversationLog.migrate(${JSON.stringify(path)}) (it then opens here and in the Python package)`,
        );
      }
      throw new ConfigError(`${path} is not a synapse conversation log (it has ${layout.unknown}); it was left untouched`);
    }
    this.db = db;
    if (layout === "empty") this.db.exec("PRAGMA journal_mode = WAL");
    this.db.exec(`PRAGMA synchronous = ${options.synchronous === "normal" ? "NORMAL" : "FULL"}`);
    this.db.exec("PRAGMA busy_timeout = 5000");
    this.db.exec(SCHEMA);
    this.insert = this.db.prepare("INSERT OR IGNORE INTO events (event_id, conversation_id, created_at, compacted, data) VALUES (?1, ?2, ?3, 0, ?4)");
    this.known = this.db.prepare("SELECT 1 FROM events WHERE event_id = ?1");
    const live = "SELECT event_id, data FROM events WHERE conversation_id = ?1 AND compacted = 0";
    this.selectAll = this.db.prepare(`${live} ORDER BY created_at, event_id <> conversation_id, event_id`);
    this.selectSince = this.db.prepare(`${live} AND created_at > ?2 ORDER BY created_at, event_id <> conversation_id, event_id`);
    this.countOne = this.db.prepare("SELECT COUNT(*) AS n FROM events WHERE conversation_id = ?1 AND compacted = 0");
    this.listIds = this.db.prepare("SELECT conversation_id FROM events GROUP BY conversation_id ORDER BY MIN(rowid)");
    this.tombstone = this.db.prepare("UPDATE events SET compacted = 1, data = '' WHERE event_id = ?1 AND conversation_id = ?2");
    this.tombstoneNew = this.db.prepare(
      "INSERT OR IGNORE INTO events (event_id, conversation_id, created_at, compacted, data) VALUES (?1, ?2, ?3, 1, '')",
    );
    this.replace = this.db.prepare("INSERT OR REPLACE INTO events (event_id, conversation_id, created_at, compacted, data) VALUES (?1, ?2, ?3, 0, ?4)");
    this.stale = this.db.prepare("SELECT conversation_id FROM events GROUP BY conversation_id HAVING MAX(created_at) < ?1");
    this.dropEvents = this.db.prepare("DELETE FROM events WHERE conversation_id = ?1");
  }

  /**
   * Convert a file written by this package's earlier versions (MessagePack rows, a `seq` column, a
   * `forgotten` table) to the shared layout, in one transaction: events are rewritten as JSON,
   * forgotten ids become tombstones. A file already in the shared layout is left alone.
   *
   * @returns how many events and tombstones the file holds afterwards.
   * @throws {ConfigError} for a file in neither layout (left untouched).
   */
  static migrate(path: string): { events: number; tombstones: number } {
    const { db, layout } = openChecked(path);
    try {
      if (layout !== "legacy" && layout !== "python") {
        throw new ConfigError(`${path} is not a synapse conversation log of a known layout; it was left untouched`);
      }
      if (layout === "legacy") {
        db.transaction(() => {
          db.exec("ALTER TABLE events RENAME TO legacy_events");
          db.exec("DROP INDEX IF EXISTS events_by_conversation");
          db.exec(SCHEMA);
          const insert = db.prepare("INSERT OR IGNORE INTO events (event_id, conversation_id, created_at, compacted, data) VALUES (?1, ?2, ?3, ?4, ?5)");
          for (const row of db.query("SELECT event_id, conversation_id, created_at, data FROM legacy_events ORDER BY seq").iterate() as IterableIterator<{
            event_id: string;
            conversation_id: string;
            created_at: number;
            data: Uint8Array;
          }>) {
            insert.run(row.event_id, row.conversation_id, row.created_at, 0, eventJson(decode(row.data) as ConversationEvent));
          }
          // A forgotten id's time is unknown; the oldest time of its conversation keeps retention right.
          db.exec(`INSERT OR IGNORE INTO events (event_id, conversation_id, created_at, compacted, data)
            SELECT f.event_id, f.conversation_id, COALESCE((SELECT MIN(created_at) FROM legacy_events l WHERE l.conversation_id = f.conversation_id), 0), 1, ''
            FROM forgotten f`);
          db.exec("DROP TABLE legacy_events; DROP TABLE forgotten");
        })();
      }
      const counts = db.query("SELECT SUM(compacted = 0) AS events, SUM(compacted = 1) AS tombstones FROM events").get() as { events: number | null; tombstones: number | null };
      return { events: counts.events ?? 0, tombstones: counts.tombstones ?? 0 };
    } finally {
      db.close();
    }
  }

  append(event: ConversationEvent): boolean {
    const result = this.insert.run(event.event_id, event.conversation_id, event.created_at, eventJson(event));
    return result.changes > 0;
  }

  has(eventId: string): boolean {
    return this.known.get(eventId) !== null;
  }

  events(conversationId: string, since?: number): ConversationEvent[] {
    const rows = (since === undefined ? this.selectAll.all(conversationId) : this.selectSince.all(conversationId, since)) as Array<{
      event_id: string;
      data: string;
    }>;
    const out: ConversationEvent[] = [];
    for (const row of rows) {
      const event = readRow(row.event_id, row.data);
      if (event) out.push(event);
    }
    return out;
  }

  count(conversationId: string): number {
    return (this.countOne.get(conversationId) as { n: number }).n;
  }

  conversations(): string[] {
    return (this.listIds.all() as Array<{ conversation_id: string }>).map((r) => r.conversation_id);
  }

  compact(conversationId: string, removed: string[], summary: ConversationEvent): void {
    this.db.transaction(() => {
      for (const id of removed) {
        if (this.tombstone.run(id, conversationId).changes === 0) this.tombstoneNew.run(id, conversationId, summary.created_at);
      }
      this.replace.run(summary.event_id, summary.conversation_id, summary.created_at, eventJson(summary));
    })();
  }

  prune(before: number): string[] {
    return this.db.transaction(() => {
      const ids = (this.stale.all(before) as Array<{ conversation_id: string }>).map((r) => r.conversation_id);
      for (const id of ids) this.dropEvents.run(id);
      return ids;
    })();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}
