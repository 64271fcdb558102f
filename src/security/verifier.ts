/**
 * Signature checks off the event loop: a {@link VerifyService} runs the Ed25519 checks of signed
 * records (events, replies) on a worker thread of its own, so that a node checking many records at
 * once (a 50-peer broadcast with replies checks 50 a node; 2,550 when 51 nodes share a process)
 * leaves its event loop to the rest of the work and the check to a second core.
 *
 * - Checks asked within one turn of the event loop go in one batch: one `postMessage` of one
 *   transferred buffer, answered by one message of one byte per check. Results are promises, and
 *   they settle in the order the checks were asked (batches are answered in order; a batch checked
 *   inline goes only when no batch is on the thread), so records are filed in the order they came.
 * - On a machine of one core every check is done inline: the thread would only take turns with
 *   the event loop, at the cost of the round trips.
 * - A few checks (fewer than {@link INLINE_BELOW}) with no batch on the thread are done inline: a
 *   round trip to the thread costs about as much as a check and adds latency (docs/security.md#cost).
 * - One thread per process, shared by the nodes of the process ({@link sharedVerifier}); it is
 *   started on the first batch (a process that checks nothing starts none), `unref`'d (it never
 *   keeps the process alive) and terminated when the last user stops ({@link VerifyService.release}).
 * - A thread that does not get a core (it had less than {@link STARVED_BELOW} of the CPU while it
 *   checked, over a window of {@link STARVED_WINDOW} batches: several nodes' processes on each core,
 *   or a machine busy with other work) is left for {@link STARVED_FOR} s, checks going inline; then
 *   it is tried again. Where the cores are all busy the thread's round trips and wake-ups only add CPU
 *   (docs/security.md#cost): 4 processes of 13 nodes on 2 cores gave the thread 6 to 16% of the wall
 *   time while it checked, one process 26 to 89%.
 * - A thread that fails to start, dies or hangs (no answer in {@link HANG_AFTER} s): every check
 *   it held is done inline, in order, and so is every later one until the last user stops (then a
 *   later batch tries a new thread). No check is lost and none fails for it.
 *
 * @module
 */
import { availableParallelism } from "node:os";
import { createLogger } from "../log.ts";
import { threadScript } from "./verify-thread.ts";

const log = createLogger("security");

/**
 * Seconds a batch may wait for the thread's answer before the thread is taken as hung (a batch of
 * a broadcast's checks takes milliseconds): it is then dropped as if it had died.
 */
export const HANG_AFTER = 5;

/**
 * Checks of fewer than this, with no batch on the thread, are done inline. A batch's round trip
 * costs about as much as a check whatever its size (a lone check: 48 µs inline, 67-160 µs by the
 * thread, `bench/lib/verify-service.ts`), and where the cores are busy (4 processes of 13 nodes on
 * 2 cores) small batches on the thread cost a node 2.3 ms of CPU more per 50-peer broadcast than
 * inline checks, 0.6 ms with this threshold (docs/security.md#cost).
 */
export const INLINE_BELOW = 8;

/**
 * The share of the wall time the thread must have had on the CPU while checking (its CPU time over
 * its wall time, summed over a window of batches) to keep it; below it the thread is left for
 * {@link STARVED_FOR} s (see the module header for what was measured).
 */
export const STARVED_BELOW = 0.35;
/** Batches answered before the thread's share of the CPU is judged (and again after each judgement). */
export const STARVED_WINDOW = 8;
/** Seconds a starved thread is left, checks going inline, before it is tried again. */
export const STARVED_FOR = 10;

/** Whether the machine has a core besides the event loop's for the thread (see the module header). */
const SPARE_CORE = availableParallelism() > 1;

/** A check done on the event loop: true when `sig` is `id`'s signature of `bytes`. */
export type InlineCheck = (id: string, bytes: Uint8Array, sig: Uint8Array) => boolean;

interface Job {
  id: string;
  bytes: Uint8Array;
  sig: Uint8Array;
  resolve: (ok: boolean) => void;
}

/** Counters of a {@link VerifyService}, for tests and the bench. */
export interface VerifyServiceStats {
  /** Batches posted to the thread. */
  batches: number;
  /** Checks answered by the thread. */
  onThread: number;
  /** Checks done on the event loop (lone checks, and every check while the thread is down). */
  inline: number;
  /** Times the thread failed to start or died (its checks were then done inline). */
  failures: number;
  /** Times the thread was found starved (less than {@link STARVED_BELOW} of the CPU) and left for {@link STARVED_FOR} s. */
  starved: number;
  /** The thread's share of the CPU while it checked, over the last window judged (NaN before one). */
  share: number;
}

/**
 * One buffer holding a batch (read by verify-thread.ts): the count (uint32), then per check the
 * signer's public key (32 bytes, from its hex id), the signature (64 bytes), the length of the
 * signed bytes (uint32) and the bytes.
 */
function packBatch(jobs: Job[]): ArrayBuffer {
  let size = 4;
  for (const j of jobs) size += 100 + j.bytes.length;
  const buf = Buffer.alloc(size);
  buf.writeUInt32BE(jobs.length, 0);
  let at = 4;
  for (const j of jobs) {
    buf.write(j.id, at, 32, "hex");
    buf.set(j.sig, at + 32);
    buf.writeUInt32BE(j.bytes.length, at + 96);
    buf.set(j.bytes, at + 100);
    at += 100 + j.bytes.length;
  }
  // `Buffer.alloc` of a size past the pool's half is a buffer of its own, whole: transferable.
  return buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength ? (buf.buffer as ArrayBuffer) : (buf.buffer.slice(buf.byteOffset, buf.byteOffset + size) as ArrayBuffer);
}

/**
 * Checks of Ed25519 signatures on a worker thread, batched per turn of the event loop (see the
 * module header). The caller has checked the shapes: `id` is 64 hex characters, `sig` 64 bytes.
 */
export class VerifyService {
  readonly stats: VerifyServiceStats = { batches: 0, onThread: 0, inline: 0, failures: 0, starved: 0, share: Number.NaN };
  private thread: Worker | null = null;
  /** The thread failed: inline until the last user stops. */
  private failed = false;
  private queue: Job[] = [];
  private scheduled = false;
  /** Batches on the thread, by id, in the order posted, each with its hang timer. */
  private readonly posted = new Map<number, { jobs: Job[]; timer: ReturnType<typeof setTimeout> }>();
  private nextBatch = 0;
  private users = 0;
  /** The current window's batches, and the thread's CPU and wall microseconds on them. */
  private window = { batches: 0, cpu: 0, wall: 0 };
  /** Until when (`performance.now()` ms) the thread is left as starved; 0: not. */
  private starvedUntil = 0;

  /**
   * @param inline the check done on the event loop (lone checks, and the fallback).
   * @param script the thread's module, or a function that gives it (default: verify-thread.ts's
   *   program as a `blob:` URL, which a compiled binary can start too; a test passes one that dies).
   * @param inlineBelow batches smaller than this go inline when the thread holds none (default {@link INLINE_BELOW}; the bench varies it).
   * @param hangAfter seconds without an answer after which the thread is dropped (default {@link HANG_AFTER}; tests shorten it).
   */
  constructor(
    private readonly inline: InlineCheck,
    private readonly script: string | (() => string) = threadScript,
    private readonly inlineBelow: number = INLINE_BELOW,
    private readonly hangAfter: number = HANG_AFTER,
  ) {}

  /**
   * The share of the CPU under which the thread is left as starved (default {@link STARVED_BELOW});
   * 0 keeps it whatever it gets (the bench compares the two; tests set it).
   */
  starvedBelow = STARVED_BELOW;
  /** Seconds a starved thread is left (default {@link STARVED_FOR}; tests shorten it). */
  starvedFor = STARVED_FOR;

  /** A node starts using the service. */
  acquire(): void {
    this.users++;
  }

  /**
   * A node stops using it: after the last one, the thread is terminated (checks still queued or on
   * it are done inline, so that every promise settles) and a later batch may start a new one.
   */
  release(): void {
    if (this.users === 0) return;
    this.users--;
    if (this.users > 0) return;
    const thread = this.thread;
    this.thread = null;
    this.failed = false;
    this.window = { batches: 0, cpu: 0, wall: 0 };
    this.starvedUntil = 0;
    if (thread) {
      this.rescue();
      thread.terminate();
    }
  }

  /** Nodes using the service. */
  get userCount(): number {
    return this.users;
  }

  /** True while a thread is running. */
  get running(): boolean {
    return this.thread !== null;
  }

  /** True when `sig` is `id`'s signature of `bytes`, checked with the turn's other checks. */
  check(id: string, bytes: Uint8Array, sig: Uint8Array): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      this.queue.push({ id, bytes, sig, resolve });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Post the turn's checks (or do them inline: see {@link INLINE_BELOW}). */
  private flush(): void {
    this.scheduled = false;
    const jobs = this.queue;
    this.queue = [];
    if (jobs.length === 0) return;
    if (this.posted.size === 0 && (jobs.length < this.inlineBelow || this.starved())) return this.checkInline(jobs);
    if (!this.start()) return this.checkInline(jobs);
    const id = this.nextBatch++;
    const timer = setTimeout(() => {
      if (this.posted.has(id)) this.fail(`no answer in ${this.hangAfter} s`);
    }, this.hangAfter * 1000);
    timer.unref?.();
    this.posted.set(id, { jobs, timer });
    this.stats.batches++;
    try {
      const batch = packBatch(jobs);
      this.thread!.postMessage({ id, batch }, [batch]);
    } catch (error) {
      this.fail(error);
    }
  }

  /** The thread, started if need be; false when it cannot run or would not pay (checks go inline). */
  private start(): boolean {
    if (this.thread) return true;
    if (this.failed || this.users === 0 || !SPARE_CORE) return false;
    try {
      const thread = new Worker(typeof this.script === "string" ? this.script : this.script());
      thread.unref();
      thread.onmessage = (e: MessageEvent<{ id: number; out: Uint8Array; cpu: number; wall: number }>) => this.answered(e.data);
      thread.addEventListener("error", (e) => this.fail((e as ErrorEvent).message ?? e));
      // Exit without an error event (terminated by someone else): the same as dying.
      thread.addEventListener("close", () => {
        if (this.thread === thread) this.fail("the thread exited");
      });
      this.thread = thread;
      return true;
    } catch (error) {
      this.fail(error);
      return false;
    }
  }

  /** A batch's answer: one byte per check, and the thread's CPU and wall microseconds on it. */
  private answered({ id, out, cpu, wall }: { id: number; out: Uint8Array; cpu: number; wall: number }): void {
    const batch = this.posted.get(id);
    if (!batch) return;
    this.posted.delete(id);
    clearTimeout(batch.timer);
    const jobs = batch.jobs;
    this.stats.onThread += jobs.length;
    this.judge(cpu, wall);
    for (let i = 0; i < jobs.length; i++) jobs[i]!.resolve(out[i] === 1);
  }

  /** Count a batch's CPU and wall time; at the end of a window, leave the thread if it was starved. */
  private judge(cpu: number, wall: number): void {
    const w = this.window;
    w.batches++;
    if (Number.isFinite(cpu) && Number.isFinite(wall) && cpu >= 0 && wall >= 0) {
      w.cpu += cpu;
      w.wall += wall;
    }
    if (w.batches < STARVED_WINDOW) return;
    if (w.wall > 0) {
      this.stats.share = w.cpu / w.wall;
      if (this.stats.share < this.starvedBelow) {
        this.stats.starved++;
        this.starvedUntil = performance.now() + this.starvedFor * 1000;
      }
    }
    this.window = { batches: 0, cpu: 0, wall: 0 };
  }

  /** True while the thread is left as starved (see {@link STARVED_BELOW}). */
  private starved(): boolean {
    if (this.starvedUntil === 0) return false;
    if (performance.now() < this.starvedUntil) return true;
    this.starvedUntil = 0;
    return false;
  }

  /** The thread failed to start, died or hung: its checks, and every later one, are done inline. */
  private fail(reason: unknown): void {
    if (this.failed) return;
    this.stats.failures++;
    log.warn(`signature thread failed (${reason instanceof Error ? reason.message : String(reason)}): checking signatures on the event loop`);
    this.failed = true;
    const thread = this.thread;
    this.thread = null;
    this.rescue();
    thread?.terminate();
  }

  /** Check inline, in order, every batch the thread held and whatever is queued. */
  private rescue(): void {
    const held: Job[] = [];
    for (const batch of this.posted.values()) {
      clearTimeout(batch.timer);
      held.push(...batch.jobs);
    }
    this.posted.clear();
    this.checkInline(held);
  }

  private checkInline(jobs: Job[]): void {
    this.stats.inline += jobs.length;
    for (const j of jobs) {
      let ok = false;
      try {
        ok = this.inline(j.id, j.bytes, j.sig);
      } catch {
        ok = false;
      }
      j.resolve(ok);
    }
  }
}
