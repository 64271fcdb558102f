/**
 * Answers of `_synapse.conversation.sync` and `.list` that always fit in one frame.
 *
 * A Python caller (no `page` keyword) gets the plain answer, trimmed to what fits under the frame
 * limit: the oldest events first, so that it can ask again with `since` = the last `created_at` it
 * got (Python's own sync semantics), or the newest conversation ids. A Bun caller whose peer offered
 * the `sync_pages` hello feature sends `page` and gets pages with an exact cursor, so events that
 * share a `created_at` are never lost between pages (docs/protocol.md).
 *
 * @module
 */
import type { ConversationEvent } from "../types.ts";
import { EndpointError, ErrorCode } from "../errors.ts";
import { createLogger } from "../log.ts";
import { isMap } from "../util/guards.ts";
import { encode } from "../wire/codec.ts";
import { DEFAULT_MAX_FRAME } from "../wire/frame.ts";

const log = createLogger("conversation");

/**
 * Bytes an answer's events (or ids) may take: the 4 MiB frame limit every peer (Python's included)
 * accepts, less room for the response envelope (id, the `events` key, `more`, `cursor`).
 */
export const PAGE_BUDGET = DEFAULT_MAX_FRAME - 64 * 1024;

/** The smallest byte budget a caller may ask for (so that every ordinary event fits in a page). */
export const MIN_PAGE_BYTES = 1024;

/** Where a sync page starts: after the first `n` events created at `t` (events with `created_at` < t come earlier). */
export type SyncCursor = [t: number, n: number];

/** A Bun caller's `page` keyword argument of `_synapse.conversation.sync`. */
export interface SyncPageRequest {
  /** Start after this cursor (null: from `since`). */
  cursor: SyncCursor | null;
  /** At most this many events (null: as many as fit). */
  limit: number | null;
  /** At most this many bytes of events (at most {@link PAGE_BUDGET}). */
  maxBytes: number;
}

/** The answer to a paged sync: `more` is true when events remain after `cursor`. */
export interface SyncPage {
  events: ConversationEvent[];
  more: boolean;
  cursor: SyncCursor | null;
}

/** A Bun caller's `page` keyword argument of `_synapse.conversation.list`. */
export interface ListPageRequest {
  /** Ids already received (the list is in the order the node first heard of them). */
  offset: number;
  limit: number | null;
  maxBytes: number;
}

/** The answer to a paged list: `next` is the offset of the next page, or null after the last. */
export interface ListPage {
  ids: string[];
  next: number | null;
}

function bad(message: string): never {
  throw new EndpointError(ErrorCode.BadRequest, message);
}

function readLimit(raw: unknown): number | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== "number" || !Number.isInteger(raw) || raw < 1) bad("page.limit must be an integer >= 1");
  return raw;
}

function readMaxBytes(raw: unknown): number {
  if (raw === undefined || raw === null) return PAGE_BUDGET;
  if (typeof raw !== "number" || !Number.isInteger(raw) || raw < MIN_PAGE_BYTES) bad(`page.max_bytes must be an integer >= ${MIN_PAGE_BYTES}`);
  return Math.min(raw, PAGE_BUDGET);
}

/** Read a sync `page` keyword argument. @throws {EndpointError} `bad_request` for a malformed one. */
export function readSyncPage(raw: unknown): SyncPageRequest {
  if (!isMap(raw)) bad("page must be a map");
  let cursor: SyncCursor | null = null;
  if (raw.cursor !== undefined && raw.cursor !== null) {
    const c = raw.cursor;
    if (!Array.isArray(c) || c.length !== 2 || typeof c[0] !== "number" || !Number.isFinite(c[0]) || !Number.isInteger(c[1]) || (c[1] as number) < 0) {
      bad("page.cursor must be [created_at, count]");
    }
    cursor = [c[0] as number, c[1] as number];
  }
  return { cursor, limit: readLimit(raw.limit), maxBytes: readMaxBytes(raw.max_bytes) };
}

/** Read a list `page` keyword argument. @throws {EndpointError} `bad_request` for a malformed one. */
export function readListPage(raw: unknown): ListPageRequest {
  if (!isMap(raw)) bad("page must be a map");
  const offset = raw.offset ?? 0;
  if (typeof offset !== "number" || !Number.isInteger(offset) || offset < 0) bad("page.offset must be an integer >= 0");
  return { offset, limit: readLimit(raw.limit), maxBytes: readMaxBytes(raw.max_bytes) };
}

/** The largest float below `t`: `events(id, below(t))` are those created at or after `t`. */
export function below(t: number): number {
  if (t === 0) return -Number.MIN_VALUE;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, t);
  view.setBigInt64(0, view.getBigInt64(0) + (t > 0 ? -1n : 1n));
  return view.getFloat64(0);
}

/**
 * The items (from the first) that fit in `maxBytes` and `limit`. An item that alone is larger than
 * `maxBytes` can never be sent: it is skipped and reported in `oversize`. `consumed` counts the items
 * passed (taken or skipped); `rest` is true when items remain after them.
 */
function fit<T>(items: readonly T[], maxBytes: number, limit: number | null): { take: T[]; oversize: T[]; consumed: number; rest: boolean } {
  const take: T[] = [];
  const oversize: T[] = [];
  let bytes = 0;
  let i = 0;
  for (; i < items.length; i++) {
    if (limit !== null && take.length >= limit) break;
    const size = encode(items[i]).length;
    if (size > maxBytes) {
      oversize.push(items[i]!);
      continue;
    }
    if (bytes + size > maxBytes) break;
    bytes += size;
    take.push(items[i]!);
  }
  return { take, oversize, consumed: i, rest: i < items.length };
}

function warnOversize(conversationId: string, oversize: ConversationEvent[]): void {
  for (const e of oversize) log.warn(`sync of ${conversationId}: event ${e.event_id} is larger than a frame and is left out`);
}

/**
 * The plain answer for a caller that cannot page (a Python node): the oldest events after `since`
 * that fit under {@link PAGE_BUDGET}. When it must cut inside a run of events created at the same
 * time, the run is left for the next call (whose `since` is the last `created_at` returned), unless
 * the run alone fills the page.
 */
export function plainSyncAnswer(conversationId: string, events: readonly ConversationEvent[]): { events: ConversationEvent[] } {
  const { take, oversize, consumed, rest } = fit(events, PAGE_BUDGET, null);
  warnOversize(conversationId, oversize);
  if (!rest) return { events: take };
  const cutAt = events[consumed]!.created_at;
  let end = take.length;
  while (end > 0 && take[end - 1]!.created_at === cutAt) end--;
  return { events: end > 0 ? take.slice(0, end) : take };
}

/**
 * One page of a sync for a Bun caller. `atOrAfter` are the conversation's events created at or
 * after the cursor's time (or after `since` for the first page), oldest first.
 */
export function syncPage(conversationId: string, atOrAfter: readonly ConversationEvent[], request: SyncPageRequest): SyncPage {
  const cursor = request.cursor;
  let start = 0;
  if (cursor) {
    // Skip what came before the cursor: events created before its time, and the first n at it.
    let seenAtT = 0;
    while (start < atOrAfter.length) {
      const t = atOrAfter[start]!.created_at;
      if (t > cursor[0] || (t === cursor[0] && seenAtT >= cursor[1])) break;
      if (t === cursor[0]) seenAtT++;
      start++;
    }
  }
  const remaining = atOrAfter.slice(start);
  const { take, oversize, consumed, rest } = fit(remaining, request.maxBytes, request.limit);
  warnOversize(conversationId, oversize);
  const passed = remaining.slice(0, consumed);
  const last = passed[passed.length - 1];
  if (!last) return { events: take, more: false, cursor };
  let n = 0;
  for (const e of passed) if (e.created_at === last.created_at) n++;
  if (cursor && cursor[0] === last.created_at) n += cursor[1];
  return { events: take, more: rest, cursor: [last.created_at, n] };
}

/**
 * The plain answer of `.list` for a caller that cannot page: the newest ids that fit under
 * {@link PAGE_BUDGET} (a list longer than a frame cannot be answered whole; the newest are the ones
 * a catching-up peer most likely lacks).
 */
export function plainListAnswer(ids: readonly string[]): string[] {
  const reversed = [...ids].reverse();
  return fit(reversed, PAGE_BUDGET, null).take.reverse();
}

/** One page of `.list` for a Bun caller. */
export function listPage(ids: readonly string[], request: ListPageRequest): ListPage {
  const { take, consumed, rest } = fit(ids.slice(request.offset), request.maxBytes, request.limit);
  return { ids: take, next: rest ? request.offset + consumed : null };
}
