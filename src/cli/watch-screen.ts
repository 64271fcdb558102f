/**
 * The full-screen view of `sn watch` on a terminal: {@link renderScreen} turns the
 * {@link WatchModel} into exactly `height` lines of at most `width` characters (a header, the
 * peer table, a rolling event log), and {@link Screen} puts them on the terminal's alternate
 * screen, redrawing on a timer, on events and on resize. Lines are never longer than the
 * terminal and the last one ends without a newline, so the terminal never scrolls; leaving (q,
 * Ctrl+C, SIGTERM, an error) restores the screen, the cursor and the keyboard mode.
 *
 * @module
 */
import { STATUS_MARKS, type PeerStatus, type WatchEvent, type WatchModel } from "./watch-model.ts";
import type { Colour, Painter } from "./color.ts";
import { clock, conversationTag, shortId } from "./output.ts";

/** Who is watching: the header's facts. */
export interface ScreenHeader {
  swarm: string;
  team: string;
  name: string;
  id: string;
  address: string;
}

/** Options of {@link renderScreen}. */
export interface RenderOptions {
  width: number;
  height: number;
  now: number;
  header: ScreenHeader;
  /** Show the capabilities column. */
  capabilities: boolean;
  paint: Painter;
}

const STATUS_COLOURS: Record<PeerStatus, Colour> = { fresh: "cyan", online: "green", stale: "yellow", offline: "red" };

const KIND_COLOURS: Record<string, Colour> = {
  JOINED: "green",
  OFFLINE: "red",
  BEAT: "gray",
  ASK: "cyan",
  MESSAGE: "magenta",
  CALL: "cyan",
  ACK: "blue",
  REPLY: "green",
  ERROR: "red",
};

/** Cut `text` to `width` characters (by code point), with an ellipsis when cut. */
export function clip(text: string, width: number): string {
  const chars = [...text];
  if (chars.length <= width) return text;
  return width <= 0 ? "" : `${chars.slice(0, width - 1).join("")}…`;
}

/** Pad or cut to exactly `width` characters. */
function cell(text: string, width: number): string {
  const clipped = clip(text, width);
  return clipped + " ".repeat(Math.max(0, width - [...clipped].length));
}

/** Seconds as `12s`, `3m`, `2h`. */
function age(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return s < 60 ? `${s}s` : s < 3600 ? `${Math.floor(s / 60)}m` : `${Math.floor(s / 3600)}h`;
}

/** One event-log line (plain, then painted). */
function eventLine(event: WatchEvent, width: number, paint: Painter): string {
  const time = clock(new Date(event.time * 1000)).slice(0, 8);
  const kind = cell(event.kind, 8);
  const who = cell(event.who, 16);
  const rest = clip(`${event.text}${event.tag ? `  ${event.tag}` : ""}`, Math.max(0, width - 8 - 2 - 8 - 1 - 16 - 2));
  const plainLine = `${time}  ${kind} ${who}  ${rest}`;
  if ([...plainLine].length > width) return clip(plainLine, width);
  return `${paint("gray", time)}  ${paint(KIND_COLOURS[event.kind] ?? "yellow", kind)} ${paint("bold", who)}  ${rest}`;
}

/**
 * The screen as `height` lines, each at most `width` characters wide (colour codes aside).
 * The peer table gets up to half of the rows below the header; the event log the rest, newest at
 * the bottom.
 */
export function renderScreen(model: WatchModel, o: RenderOptions): string[] {
  const { width, height, now, header, paint } = o;
  const lines: string[] = [];
  const push = (plainText: string, painted?: string) => lines.push([...plainText].length > width || painted === undefined ? clip(plainText, width) : painted);

  const peers = model.list(now);
  const counts = { fresh: 0, online: 0, stale: 0, offline: 0 } as Record<PeerStatus, number>;
  for (const p of peers) counts[p.status]++;
  const title = `sn watch  swarm ${header.swarm}  team ${header.team}  as ${header.name} ${shortId(header.id)} on ${header.address}`;
  const time = clock(new Date(now * 1000)).slice(0, 8);
  const gap = width - [...title].length - time.length;
  push(gap >= 1 ? `${title}${" ".repeat(gap)}${time}` : title, gap >= 1 ? `${paint("bold", title)}${" ".repeat(gap)}${paint("gray", time)}` : undefined);
  const summary = `${counts.fresh + counts.online} online, ${counts.stale} stale, ${counts.offline} offline`;
  const legend = (Object.keys(STATUS_MARKS) as PeerStatus[]).map((s) => `${STATUS_MARKS[s]} ${s}`).join("  ");
  const help = "q / Ctrl+C quit";
  push(`${summary}   ${legend}   ${help}`, `${summary}   ${(Object.keys(STATUS_MARKS) as PeerStatus[]).map((s) => paint(STATUS_COLOURS[s], `${STATUS_MARKS[s]} ${s}`)).join("  ")}   ${paint("gray", help)}`);
  push("");

  // The peer table: up to half of what is left (at least 2 rows: its header and one peer).
  const body = Math.max(0, height - lines.length);
  const tableRows = Math.max(2, Math.min(peers.length + 1, Math.floor(body / 2)));
  const columns = ["NAME", "ID", "ADDRESS", "KIND", "ROLE", ...(o.capabilities ? ["CAPABILITIES"] : [])];
  const rows = peers.map((p) => ({
    status: p.status,
    cells: [
      p.peer.name || "?",
      shortId(p.peer.id),
      `${p.peer.address}:${p.peer.port}`,
      p.peer.kind,
      p.role ?? "-",
      ...(o.capabilities ? [p.peer.capabilities.length ? p.peer.capabilities.join(",") : "-"] : []),
    ],
    seen: p.status === "offline" ? `offline ${age(now - p.offlineAt!)}` : p.status === "stale" ? `silent ${age(now - p.lastSeen)}` : "",
  }));
  const caps = [20, 8, 21, 8, 12, 40];
  const widths = columns.map((c, i) => Math.min(caps[i]!, Math.max(c.length, ...rows.map((r) => [...r.cells[i]!].length))));
  const joinCells = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? clip(c, widths[i]!) : cell(c, widths[i]!))).join("  ");
  const head = `  ${joinCells(columns)}`.trimEnd();
  push(head, paint("bold", head));
  if (peers.length === 0) push("  (no peers yet: waiting for the swarm...)", paint("gray", "  (no peers yet: waiting for the swarm...)"));
  const room = tableRows - 1;
  const shown = peers.length > room ? rows.slice(0, Math.max(0, room - 1)) : rows;
  for (const r of shown) {
    const mark = STATUS_MARKS[r.status];
    const text = joinCells(r.cells);
    const note = r.seen ? `  (${r.seen})` : "";
    push(`${mark} ${text}${note}`, `${paint(STATUS_COLOURS[r.status], mark)} ${r.status === "offline" ? paint("dim", text) : text}${note ? paint(STATUS_COLOURS[r.status], note) : ""}`);
  }
  if (shown.length < rows.length) push(`  … ${rows.length - shown.length} more peer(s)`);

  // The event log: a rule, then the newest events that fit, oldest at the top.
  if (lines.length < height) push("");
  if (lines.length < height) {
    const rule = `── events ${"─".repeat(Math.max(0, width - 10))}`;
    push(rule, paint("gray", clip(rule, width)));
  }
  const left = Math.max(0, height - lines.length);
  const recent = left > 0 ? model.events.slice(-left) : [];
  if (recent.length === 0 && left > 0) push("(nothing yet)", paint("gray", "(nothing yet)"));
  for (const event of recent) lines.push(eventLine(event, width, paint));
  while (lines.length < height) lines.push("");
  return lines.slice(0, height);
}

/** The event-log tag of a conversation: its short nonce. */
export function tagOf(conversationId: string): string {
  return conversationTag(conversationId);
}

/** What {@link Screen} needs from the process (a fake in tests). */
export interface Terminal {
  columns: number;
  rows: number;
  write(text: string): void;
  onResize(listener: () => void): () => void;
  /** Keys typed, in raw mode; returns how to stop listening (and leave raw mode). */
  onKeys(listener: (keys: string) => void): () => void;
}

/** The process's own terminal. */
export function processTerminal(): Terminal {
  const out = process.stdout;
  return {
    get columns() {
      return out.columns || 80;
    },
    get rows() {
      return out.rows || 24;
    },
    write: (text) => void out.write(text),
    onResize(listener) {
      out.on("resize", listener);
      process.on("SIGWINCH", listener);
      return () => {
        out.off("resize", listener);
        process.off("SIGWINCH", listener);
      };
    },
    onKeys(listener) {
      const input = process.stdin;
      if (!input.isTTY) return () => {};
      const onData = (data: Buffer) => listener(data.toString("utf8"));
      input.setRawMode(true);
      input.on("data", onData);
      input.resume();
      return () => {
        input.off("data", onData);
        input.setRawMode(false);
        input.pause();
      };
    },
  };
}

const ENTER = "\u001b[?1049h\u001b[?25l\u001b[H\u001b[2J"; // alternate screen, hide the cursor, clear
const LEAVE = "\u001b[?25h\u001b[?1049l"; // show the cursor, back to the normal screen

/** The live view on a terminal: enter, redraw, leave. */
export class Screen {
  private timer: ReturnType<typeof setInterval> | null = null;
  private pending = false;
  private stops: Array<() => void> = [];
  private active = false;
  private readonly restoreOnExit = () => this.leave();

  constructor(
    private readonly terminal: Terminal,
    private readonly draw: (width: number, height: number) => string[],
    private readonly intervalSeconds: number,
  ) {}

  /** Switch to the alternate screen and draw every `interval` seconds; `quit` runs on q or Ctrl+C. */
  enter(quit: () => void): void {
    this.active = true;
    this.terminal.write(ENTER);
    process.on("exit", this.restoreOnExit);
    this.stops.push(this.terminal.onResize(() => this.redraw(true)));
    this.stops.push(
      this.terminal.onKeys((keys) => {
        // Ctrl+C arrives as a key in raw mode (no SIGINT); q and Esc quit too.
        if (keys.includes("\u0003") || keys.includes("q") || keys === "\u001b") quit();
      }),
    );
    this.timer = setInterval(() => this.redraw(), Math.max(50, this.intervalSeconds * 1000));
    this.redraw();
  }

  /** Draw soon (coalesces bursts of events into one redraw); `clear` after a resize. */
  redraw(clear = false): void {
    if (!this.active) return;
    if (clear) this.terminal.write("\u001b[2J");
    if (this.pending) return;
    this.pending = true;
    queueMicrotask(() => {
      this.pending = false;
      if (!this.active) return;
      // The real size, however small: a line wider than the terminal would wrap and scroll it.
      const width = Math.max(1, this.terminal.columns);
      const height = Math.max(1, this.terminal.rows);
      const lines = this.draw(width, height);
      // Home, then every line cleared to its end; no newline after the last one: never scrolls.
      this.terminal.write(`\u001b[H${lines.map((l) => `${l}\u001b[K`).join("\r\n")}`);
    });
  }

  /** Leave the alternate screen and restore the cursor and the keyboard (idempotent). */
  leave(): void {
    if (!this.active) return;
    this.active = false;
    if (this.timer) clearInterval(this.timer);
    for (const stop of this.stops.splice(0)) stop();
    process.off("exit", this.restoreOnExit);
    this.terminal.write(LEAVE);
  }
}
