/**
 * Solar events on top of `suncalc` v2: `solar("sunrise", { latitude, longitude, tz })`.
 *
 * @module
 */

import { getTimes, type SunTimeName } from "suncalc";
import { ScheduleError } from "../errors.ts";
import type { Schedule } from "./schedule.ts";
import { instantOfWallTime, resolveTimeZone, wallTimeAt } from "./time-zone.ts";
import { assertValidDate, describeValue } from "./validate.ts";

/** The canonical solar event names. */
export type CanonicalSolarEvent =
  | "sunrise"
  | "sunset"
  | "solar_noon"
  | "civil_twilight_begin"
  | "civil_twilight_end"
  | "nautical_twilight_begin"
  | "nautical_twilight_end"
  | "astronomical_twilight_begin"
  | "astronomical_twilight_end";

/** Every accepted solar event name: the canonical names and their aliases. */
export type SolarEvent =
  | CanonicalSolarEvent
  | "noon"
  | "dawn"
  | "civil_dawn"
  | "dusk"
  | "civil_dusk"
  | "nautical_dawn"
  | "nautical_dusk"
  | "astronomical_dawn"
  | "astronomical_dusk";

/** Canonical event name to the suncalc `getTimes` field that holds it. */
const SUNCALC_FIELD: Readonly<Record<CanonicalSolarEvent, SunTimeName | "solarNoon">> = {
  sunrise: "sunrise",
  sunset: "sunset",
  solar_noon: "solarNoon",
  civil_twilight_begin: "dawn",
  civil_twilight_end: "dusk",
  nautical_twilight_begin: "nauticalDawn",
  nautical_twilight_end: "nauticalDusk",
  astronomical_twilight_begin: "nightEnd",
  astronomical_twilight_end: "night",
};

const ALIASES: Readonly<Record<Exclude<SolarEvent, CanonicalSolarEvent>, CanonicalSolarEvent>> = {
  noon: "solar_noon",
  dawn: "civil_twilight_begin",
  civil_dawn: "civil_twilight_begin",
  dusk: "civil_twilight_end",
  civil_dusk: "civil_twilight_end",
  nautical_dawn: "nautical_twilight_begin",
  nautical_dusk: "nautical_twilight_end",
  astronomical_dawn: "astronomical_twilight_begin",
  astronomical_dusk: "astronomical_twilight_end",
};

/** Every accepted event name (canonical names first, then aliases). */
export const SOLAR_EVENTS: readonly SolarEvent[] = Object.freeze([
  ...(Object.keys(SUNCALC_FIELD) as CanonicalSolarEvent[]),
  ...(Object.keys(ALIASES) as Array<keyof typeof ALIASES>),
]);

/** How many days {@link SolarSchedule.nextAfter} looks ahead for an event before giving up. */
export const SOLAR_SEARCH_DAYS = 400;

/** Options of {@link solar}. */
export interface SolarOptions {
  /** Latitude in degrees, -90 (south pole) to 90 (north pole). */
  latitude: number;
  /** Longitude in degrees, -180 to 180, positive east of Greenwich. */
  longitude: number;
  /**
   * IANA time zone of the place, such as `"Europe/London"`. It decides which local day an event
   * belongs to; without it the day is approximated from the longitude (mean solar time).
   */
  tz?: string;
}

const DAY_MS = 86_400_000;

/** A local calendar day (month 1-12). */
interface LocalDay {
  year: number;
  month: number;
  day: number;
}

/**
 * A solar event at a place: it fires once on every local day on which the event occurs. Days on
 * which it does not occur (polar day or night, or no astronomical twilight in a high-latitude
 * summer) are skipped.
 */
export class SolarSchedule implements Schedule {
  /** The canonical event name (aliases are resolved). */
  readonly event: CanonicalSolarEvent;
  /** Latitude in degrees. */
  readonly latitude: number;
  /** Longitude in degrees. */
  readonly longitude: number;
  /** Canonical IANA time zone, or `undefined` when days follow mean solar time. */
  readonly tz: string | undefined;

  /**
   * Prefer {@link solar}.
   *
   * @throws {ScheduleError} for an unknown event, an out-of-range coordinate or an unknown time zone.
   */
  constructor(event: SolarEvent, options: SolarOptions) {
    this.event = resolveEvent(event);
    if (typeof options !== "object" || options === null) {
      throw new ScheduleError(`solar(): options { latitude, longitude, tz? } are required, got ${describeValue(options)}`);
    }
    this.latitude = checkCoordinate(options.latitude, "latitude", 90);
    this.longitude = checkCoordinate(options.longitude, "longitude", 180);
    this.tz = options.tz === undefined ? undefined : resolveTimeZone(options.tz, "solar(): tz");
  }

  /**
   * The event on the given local calendar day, or `null` when it does not occur that day.
   *
   * @param year full year.
   * @param month 1 (January) to 12.
   * @param day day of the month.
   */
  on(year: number, month: number, day: number): Date | null {
    const times = getTimes(new Date(this.#localNoon({ year, month, day })), this.latitude, this.longitude);
    const value = times[SUNCALC_FIELD[this.event]];
    return value instanceof Date && !Number.isNaN(value.getTime()) ? value : null;
  }

  /**
   * The first occurrence strictly after `date`, looking at most {@link SOLAR_SEARCH_DAYS} days
   * ahead.
   *
   * @throws {ScheduleError} when the event does not occur in that window.
   */
  nextAfter(date: Date): Date {
    assertValidDate(date);
    const after = date.getTime();
    const today = this.#localDay(after);
    // Start a day early: an evening event of yesterday's solar day (a late astronomical dusk in
    // summer) can fall after midnight.
    for (let offset = -1; offset <= SOLAR_SEARCH_DAYS; offset++) {
      const day = addDays(today, offset);
      const at = this.on(day.year, day.month, day.day);
      if (at !== null && at.getTime() > after) return at;
    }
    throw new ScheduleError(`${this.describe()} does not occur within ${SOLAR_SEARCH_DAYS} days after ${date.toISOString()}`);
  }

  /** For example `solar sunrise at 51.5074,-0.1278 (Europe/London)`. */
  describe(): string {
    return `solar ${this.event} at ${this.latitude},${this.longitude} (${this.tz ?? "mean solar time"})`;
  }

  /** The local calendar day that contains `instant`. */
  #localDay(instant: number): LocalDay {
    if (this.tz !== undefined) return wallTimeAt(instant, this.tz);
    const shifted = new Date(instant + this.#meanSolarOffset());
    return { year: shifted.getUTCFullYear(), month: shifted.getUTCMonth() + 1, day: shifted.getUTCDate() };
  }

  /**
   * Local noon of a calendar day. suncalc v2 returns the events of the solar day nearest the
   * instant it is given, so asking at local noon (not midnight UTC) names the intended day.
   */
  #localNoon(day: LocalDay): number {
    if (this.tz !== undefined) return instantOfWallTime(day.year, day.month, day.day, 12, 0, this.tz);
    return Date.UTC(day.year, day.month - 1, day.day, 12) - this.#meanSolarOffset();
  }

  /** Mean solar time offset from UTC at this longitude: 4 minutes per degree east. */
  #meanSolarOffset(): number {
    return (this.longitude / 360) * DAY_MS;
  }
}

/**
 * A schedule that fires at a solar event at a place, once on every local day on which the event
 * occurs.
 *
 * Events: `sunrise`, `sunset`, `solar_noon` (alias `noon`), `civil_twilight_begin` (`dawn`,
 * `civil_dawn`), `civil_twilight_end` (`dusk`, `civil_dusk`), `nautical_twilight_begin`
 * (`nautical_dawn`), `nautical_twilight_end` (`nautical_dusk`), `astronomical_twilight_begin`
 * (`astronomical_dawn`) and `astronomical_twilight_end` (`astronomical_dusk`).
 *
 * ```ts
 * solar("sunrise", { latitude: 51.5074, longitude: -0.1278, tz: "Europe/London" });
 * ```
 *
 * @throws {ScheduleError} for an unknown event, a latitude outside [-90, 90], a longitude outside
 * [-180, 180] or an unknown time zone.
 */
export function solar(event: SolarEvent, options: SolarOptions): SolarSchedule {
  return new SolarSchedule(event, options);
}

function resolveEvent(event: unknown): CanonicalSolarEvent {
  if (typeof event === "string") {
    if (Object.hasOwn(SUNCALC_FIELD, event)) return event as CanonicalSolarEvent;
    if (Object.hasOwn(ALIASES, event)) return ALIASES[event as keyof typeof ALIASES];
  }
  throw new ScheduleError(`solar(): unknown event ${describeValue(event)}; expected one of ${SOLAR_EVENTS.join(", ")}`);
}

function checkCoordinate(value: unknown, what: "latitude" | "longitude", limit: number): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < -limit || value > limit) {
    throw new ScheduleError(`solar(): ${what} must be a number between ${-limit} and ${limit}, got ${describeValue(value)}`);
  }
  return value;
}

function addDays(day: LocalDay, offset: number): LocalDay {
  const date = new Date(Date.UTC(day.year, day.month - 1, day.day + offset));
  return { year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate() };
}
