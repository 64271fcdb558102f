/**
 * A member list's records as full-state answers send them, made once and kept for a short window.
 *
 * In a mass join a node answers many whole states within a second or two: the members of the seed's
 * page each give every joiner that picked them about N records, and the seed answers every joiner's
 * catch-up pulls with what changed since each one's last look. Made afresh, each answer copied every
 * record into a new object that was then encoded anew for the wire. Kept here, a record is one
 * frozen object while the member's version holds (the list stamps every change: `SwimMember.version`),
 * and its packed bytes are kept with it (`swim-wire.ts` encodes a frozen update once), so every answer
 * after the first within the window costs a copy of the bytes per record.
 *
 * The records are dropped together {@link RECORDS_WINDOW} probe intervals after the first was kept,
 * so a node that answers no whole state holds none of this (steady state costs no heap); a record
 * that changed is made anew at its next use.
 *
 * @module
 */
import type { MemberUpdate } from "./swim-types.ts";
import { keptRecord } from "./swim-wire.ts";

/** Probe intervals for which kept records live (counted from the first one kept). */
export const RECORDS_WINDOW = 1;

/** A member's record as the list holds it, as far as needed here. */
interface Versioned extends MemberUpdate {
  readonly version: number;
}

/** The kept records of one member list (see the module header). */
export class SentRecords {
  readonly #kept = new Map<string, { version: number; update: Readonly<MemberUpdate> }>();
  #cancel: (() => void) | null = null;

  constructor(
    private readonly schedule: (delay: number, fn: () => void) => () => void,
    /** Seconds records are kept for. */
    private readonly window: number,
    /** A member's record as an update (wire fields only). */
    private readonly make: (m: MemberUpdate) => MemberUpdate,
  ) {}

  /** `m`'s record as an update: the same frozen object while `m.version` holds, within the window. */
  get(m: Versioned): Readonly<MemberUpdate> {
    const hit = this.#kept.get(m.id);
    if (hit !== undefined && hit.version === m.version) return hit.update;
    const update = keptRecord(this.make(m));
    this.#kept.set(m.id, { version: m.version, update });
    this.#cancel ??= this.schedule(this.window, () => {
      this.#cancel = null;
      this.#kept.clear();
    });
    return update;
  }

  /** Records kept now (for tests). */
  get size(): number {
    return this.#kept.size;
  }

  /** Drop every kept record and the timer (the core stops). */
  clear(): void {
    this.#cancel?.();
    this.#cancel = null;
    this.#kept.clear();
  }
}
