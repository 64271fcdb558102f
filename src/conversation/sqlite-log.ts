/**
 * A durable {@link ConversationLog} on `bun:sqlite`: conversations survive restarts, and an event
 * whose {@link SqliteConversationLog.append} returned is on disk even if the process is killed right
 * after (write-ahead log; each append is its own transaction).
 *
 * @module
 */
import { Database, type Statement } from "bun:sqlite";
import type { ConversationEvent } from "../types.ts";
import type { ConversationLog } from "./log.ts";
import { decode, encode } from "../wire/codec.ts";

/** Options of {@link SqliteConversationLog}. */
export interface SqliteLogOptions {
  /**
   * `"normal"` (default): a returned append survives the process dying; the last appends may be
   * lost if the whole machine loses power. `"full"`: every append is synced to the disk (slower).
   */
  synchronous?: "normal" | "full";
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id TEXT NOT NULL UNIQUE,
  conversation_id TEXT NOT NULL,
  created_at REAL NOT NULL,
  data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_conversation ON events (conversation_id, created_at, event_id);
CREATE TABLE IF NOT EXISTS forgotten (
  event_id TEXT PRIMARY KEY,
  conversation_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS forgotten_by_conversation ON forgotten (conversation_id);
`;

/**
 * Conversation events in a SQLite file (or `":memory:"`). Events are stored as MessagePack, so
 * binary payloads come back as they went in.
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
  private readonly deleteEvent: Statement;
  private readonly forget: Statement;
  private readonly stale: Statement;
  private readonly dropEvents: Statement;
  private readonly dropForgotten: Statement;
  private closed = false;

  constructor(path: string, options: SqliteLogOptions = {}) {
    this.path = path;
    this.db = new Database(path, { create: true, strict: true });
    this.db.exec("PRAGMA journal_mode = WAL");
    this.db.exec(`PRAGMA synchronous = ${options.synchronous === "full" ? "FULL" : "NORMAL"}`);
    this.db.exec("PRAGMA busy_timeout = 5000");
    this.db.exec(SCHEMA);
    this.insert = this.db.prepare(
      `INSERT OR IGNORE INTO events (event_id, conversation_id, created_at, data)
       SELECT ?1, ?2, ?3, ?4 WHERE NOT EXISTS (SELECT 1 FROM forgotten WHERE event_id = ?1)`,
    );
    this.known = this.db.prepare(
      "SELECT 1 FROM events WHERE event_id = ?1 UNION ALL SELECT 1 FROM forgotten WHERE event_id = ?1 LIMIT 1",
    );
    this.selectAll = this.db.prepare("SELECT data FROM events WHERE conversation_id = ?1 ORDER BY created_at, event_id");
    this.selectSince = this.db.prepare(
      "SELECT data FROM events WHERE conversation_id = ?1 AND created_at > ?2 ORDER BY created_at, event_id",
    );
    this.countOne = this.db.prepare("SELECT COUNT(*) AS n FROM events WHERE conversation_id = ?1");
    this.listIds = this.db.prepare("SELECT conversation_id FROM events GROUP BY conversation_id ORDER BY MIN(seq)");
    this.deleteEvent = this.db.prepare("DELETE FROM events WHERE event_id = ?1 AND conversation_id = ?2");
    this.forget = this.db.prepare("INSERT OR IGNORE INTO forgotten (event_id, conversation_id) VALUES (?1, ?2)");
    this.stale = this.db.prepare(
      "SELECT conversation_id FROM events GROUP BY conversation_id HAVING MAX(created_at) < ?1",
    );
    this.dropEvents = this.db.prepare("DELETE FROM events WHERE conversation_id = ?1");
    this.dropForgotten = this.db.prepare("DELETE FROM forgotten WHERE conversation_id = ?1");
  }

  append(event: ConversationEvent): boolean {
    const data = encode(event).slice(); // encode() returns a view into a shared buffer
    const result = this.insert.run(event.event_id, event.conversation_id, event.created_at, data);
    return result.changes > 0;
  }

  has(eventId: string): boolean {
    return this.known.get(eventId) !== null;
  }

  events(conversationId: string, since?: number): ConversationEvent[] {
    const rows = (since === undefined ? this.selectAll.all(conversationId) : this.selectSince.all(conversationId, since)) as Array<{
      data: Uint8Array;
    }>;
    return rows.map((row) => decode(row.data) as ConversationEvent);
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
        this.deleteEvent.run(id, conversationId);
        this.forget.run(id, conversationId);
      }
      this.append(summary);
    })();
  }

  prune(before: number): string[] {
    return this.db.transaction(() => {
      const ids = (this.stale.all(before) as Array<{ conversation_id: string }>).map((r) => r.conversation_id);
      for (const id of ids) {
        this.dropEvents.run(id);
        this.dropForgotten.run(id);
      }
      return ids;
    })();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}
