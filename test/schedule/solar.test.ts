import { describe, expect, test } from "bun:test";
import { ScheduleError } from "../../src/errors.ts";
import { SOLAR_EVENTS, SOLAR_SEARCH_DAYS, solar, SolarSchedule, type SolarEvent } from "../../src/schedule/index.ts";

const LONDON = { latitude: 51.5074, longitude: -0.1278, tz: "Europe/London" };
const TROMSO = { latitude: 69.65, longitude: 18.96, tz: "Europe/Oslo" };
const LONGYEARBYEN = { latitude: 78.22, longitude: 15.65, tz: "Arctic/Longyearbyen" };
const MINUTE = 60_000;

/** Milliseconds between `actual` and the UTC time given as an ISO string. */
function distance(actual: Date, expectedIso: string): number {
  return Math.abs(actual.getTime() - new Date(expectedIso).getTime());
}

/** Wall-clock `HH:MM` of `date` in `tz`. */
function clock(date: Date, tz: string): string {
  return date.toLocaleTimeString("en-GB", { timeZone: tz, hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
}

describe("solar() in London", () => {
  test("sunrise on 21 June 2026 is about 04:43 BST", () => {
    const sunrise = solar("sunrise", LONDON).nextAfter(new Date("2026-06-21T00:00:00+01:00"));
    expect(distance(sunrise, "2026-06-21T04:43:00+01:00")).toBeLessThan(MINUTE);
    expect(clock(sunrise, "Europe/London")).toBe("04:43");
  });

  test("sunrise on 21 December 2026 is about 08:04 GMT", () => {
    const sunrise = solar("sunrise", LONDON).nextAfter(new Date("2026-12-21T00:00:00Z"));
    expect(distance(sunrise, "2026-12-21T08:04:00Z")).toBeLessThan(MINUTE);
  });

  test("sunset and solar noon on 21 June 2026", () => {
    const from = new Date("2026-06-21T00:00:00+01:00");
    expect(distance(solar("sunset", LONDON).nextAfter(from), "2026-06-21T21:21:00+01:00")).toBeLessThan(MINUTE);
    expect(distance(solar("solar_noon", LONDON).nextAfter(from), "2026-06-21T13:02:00+01:00")).toBeLessThan(MINUTE);
  });

  test("nextAfter is strictly after the date and moves to the next day", () => {
    const schedule = solar("sunrise", LONDON);
    const first = schedule.nextAfter(new Date("2026-06-21T00:00:00Z"));
    const second = schedule.nextAfter(first);
    expect(second.getTime()).toBeGreaterThan(first.getTime());
    expect(clock(second, "Europe/London")).toBe("04:43");
    expect(second.toISOString().slice(0, 10)).toBe("2026-06-22");
    // Asked in the afternoon, the next sunrise is tomorrow's.
    const afternoon = schedule.nextAfter(new Date("2026-06-21T15:00:00Z"));
    expect(afternoon.toISOString().slice(0, 10)).toBe("2026-06-22");
  });

  test("consecutive sunrises across the spring clock change", () => {
    const schedule = solar("sunrise", LONDON);
    let at = new Date("2026-03-28T00:00:00Z");
    const clocks: string[] = [];
    for (let i = 0; i < 3; i++) {
      at = schedule.nextAfter(at);
      clocks.push(`${at.toISOString().slice(0, 10)} ${clock(at, "Europe/London")}`);
    }
    expect(clocks).toEqual(["2026-03-28 05:45", "2026-03-29 06:42", "2026-03-30 06:40"]);
  });

  test("events of a spring day come in order", () => {
    const order: SolarEvent[] = [
      "astronomical_twilight_begin",
      "nautical_twilight_begin",
      "civil_twilight_begin",
      "sunrise",
      "solar_noon",
      "sunset",
      "civil_twilight_end",
      "nautical_twilight_end",
      "astronomical_twilight_end",
    ];
    const times = order.map((event) => solar(event, LONDON).on(2026, 3, 20));
    for (const time of times) expect(time).toBeInstanceOf(Date);
    const ms = times.map((time) => (time as Date).getTime());
    expect([...ms].sort((a, b) => a - b)).toEqual(ms);
    // Sunrise to sunset is close to 12 hours at the equinox.
    expect(Math.abs(ms[5]! - ms[3]! - 12 * 60 * MINUTE)).toBeLessThan(15 * MINUTE);
  });

  test("without tz the local day comes from the longitude", () => {
    const { latitude, longitude } = LONDON;
    const noTz = solar("sunrise", { latitude, longitude });
    expect(noTz.tz).toBeUndefined();
    const from = new Date("2026-06-21T00:00:00Z");
    expect(noTz.nextAfter(from).getTime()).toBe(solar("sunrise", LONDON).nextAfter(from).getTime());
    expect(noTz.describe()).toBe("solar sunrise at 51.5074,-0.1278 (mean solar time)");
  });

  test("astronomical twilight does not occur in a London June and is skipped", () => {
    const dawn = solar("astronomical_twilight_begin", LONDON);
    expect(dawn.on(2026, 6, 21)).toBeNull();
    const next = dawn.nextAfter(new Date("2026-06-21T00:00:00Z"));
    expect(next.getTime()).toBeGreaterThan(new Date("2026-07-10T00:00:00Z").getTime());
    expect(next.getTime()).toBeLessThan(new Date("2026-08-01T00:00:00Z").getTime());
    const dusk = solar("astronomical_dusk", LONDON).nextAfter(new Date("2026-06-21T00:00:00Z"));
    expect(dusk.getTime()).toBeGreaterThan(new Date("2026-07-10T00:00:00Z").getTime());
    expect(dusk.getTime()).toBeLessThan(new Date("2026-08-01T00:00:00Z").getTime());
  });
});

describe("solar() near the poles", () => {
  test("Tromsø: no sunrise in the polar night; the next one is in mid-January", () => {
    const schedule = solar("sunrise", TROMSO);
    expect(schedule.on(2026, 12, 21)).toBeNull();
    const next = schedule.nextAfter(new Date("2026-12-21T00:00:00Z"));
    expect(next.getUTCFullYear()).toBe(2027);
    expect(next.getUTCMonth()).toBe(0); // January
    expect(next.getUTCDate()).toBeGreaterThanOrEqual(10);
    expect(next.getUTCDate()).toBeLessThanOrEqual(20);
  });

  test("Tromsø: no sunset under the midnight sun; the next one is late July", () => {
    const next = solar("sunset", TROMSO).nextAfter(new Date("2026-06-21T00:00:00Z"));
    expect(next.getTime()).toBeGreaterThan(new Date("2026-07-20T00:00:00Z").getTime());
    expect(next.getTime()).toBeLessThan(new Date("2026-08-01T00:00:00Z").getTime());
  });

  test("Svalbard summer: solar noon every day, but the sun next sets in late August", () => {
    const from = new Date("2026-06-21T00:00:00Z");
    const noon = solar("noon", LONGYEARBYEN).nextAfter(from);
    expect(noon.toISOString().slice(0, 10)).toBe("2026-06-21");
    const sunset = solar("sunset", LONGYEARBYEN).nextAfter(from);
    expect(sunset.getUTCMonth()).toBe(7); // August
    expect(sunset.getUTCDate()).toBeGreaterThanOrEqual(20);
    expect(solar("sunrise", LONGYEARBYEN).on(2026, 6, 21)).toBeNull();
  });

  test("an event that never occurs within the search window is a clear error", () => {
    // suncalc finds no rise or set at the pole itself.
    const pole = solar("sunrise", { latitude: 90, longitude: 0 });
    expect(() => pole.nextAfter(new Date("2026-06-21T00:00:00Z"))).toThrow(ScheduleError);
    expect(() => pole.nextAfter(new Date("2026-06-21T00:00:00Z"))).toThrow(`does not occur within ${SOLAR_SEARCH_DAYS} days`);
  });
});

describe("solar() far from Greenwich", () => {
  test.each([
    ["Tokyo", 35.68, 139.69, "Asia/Tokyo"],
    ["Honolulu", 21.3, -157.86, "Pacific/Honolulu"],
    ["Auckland", -36.85, 174.76, "Pacific/Auckland"],
    ["Kiritimati (UTC+14)", 1.87, -157.4, "Pacific/Kiritimati"],
  ] as const)("%s: on() gives the sunrise of that local calendar day", (_name, latitude, longitude, tz) => {
    const sunrise = solar("sunrise", { latitude, longitude, tz }).on(2026, 6, 21) as Date;
    expect(sunrise).toBeInstanceOf(Date);
    expect(sunrise.toLocaleDateString("en-CA", { timeZone: tz })).toBe("2026-06-21");
    const hour = Number(clock(sunrise, tz).slice(0, 2));
    expect(hour).toBeGreaterThanOrEqual(4);
    expect(hour).toBeLessThanOrEqual(8);
  });
});

describe("solar() events and aliases", () => {
  test.each([
    ["noon", "solar_noon"],
    ["dawn", "civil_twilight_begin"],
    ["civil_dawn", "civil_twilight_begin"],
    ["dusk", "civil_twilight_end"],
    ["civil_dusk", "civil_twilight_end"],
    ["nautical_dawn", "nautical_twilight_begin"],
    ["nautical_dusk", "nautical_twilight_end"],
    ["astronomical_dawn", "astronomical_twilight_begin"],
    ["astronomical_dusk", "astronomical_twilight_end"],
  ] as const)("%s is %s", (alias, canonical) => {
    const viaAlias = solar(alias, LONDON);
    expect(viaAlias.event).toBe(canonical);
    const from = new Date("2026-03-20T00:00:00Z");
    expect(viaAlias.nextAfter(from).getTime()).toBe(solar(canonical, LONDON).nextAfter(from).getTime());
  });

  test("lists every accepted name", () => {
    expect(SOLAR_EVENTS).toHaveLength(18);
    expect(SOLAR_EVENTS).toContain("sunrise");
    expect(SOLAR_EVENTS).toContain("astronomical_dusk");
  });

  test("civil dawn comes before sunrise, civil dusk after sunset", () => {
    const from = new Date("2026-09-01T00:00:00Z");
    expect(solar("dawn", LONDON).nextAfter(from).getTime()).toBeLessThan(solar("sunrise", LONDON).nextAfter(from).getTime());
    expect(solar("dusk", LONDON).nextAfter(from).getTime()).toBeGreaterThan(solar("sunset", LONDON).nextAfter(from).getTime());
  });

  test("describes itself", () => {
    const schedule = solar("dawn", LONDON);
    expect(schedule).toBeInstanceOf(SolarSchedule);
    expect(schedule.describe()).toBe("solar civil_twilight_begin at 51.5074,-0.1278 (Europe/London)");
  });
});

describe("solar() rejects bad input", () => {
  test.each(["moonrise", "Sunrise", "", "sun_rise", "toString", "__proto__"])("unknown event %p", (event) => {
    expect(() => solar(event as SolarEvent, LONDON)).toThrow(ScheduleError);
  });

  test("the unknown-event message lists the valid names", () => {
    expect(() => solar("moonrise" as SolarEvent, LONDON)).toThrow(/unknown event "moonrise"; expected one of sunrise, sunset/);
  });

  test.each([90.5, -91, Number.NaN, Number.POSITIVE_INFINITY])("latitude %p", (latitude) => {
    expect(() => solar("sunrise", { ...LONDON, latitude })).toThrow(/latitude must be a number between -90 and 90/);
  });

  test.each([180.01, -181, Number.NaN, Number.NEGATIVE_INFINITY])("longitude %p", (longitude) => {
    expect(() => solar("sunrise", { ...LONDON, longitude })).toThrow(/longitude must be a number between -180 and 180/);
  });

  test("coordinates that are not numbers", () => {
    expect(() => solar("sunrise", { latitude: "51.5" as never, longitude: 0 })).toThrow(ScheduleError);
    expect(() => solar("sunrise", { latitude: 51.5 } as never)).toThrow(ScheduleError);
    expect(() => solar("sunrise", undefined as never)).toThrow(ScheduleError);
  });

  test("the limits themselves are allowed", () => {
    expect(solar("sunrise", { latitude: -90, longitude: 180 }).latitude).toBe(-90);
    expect(solar("sunrise", { latitude: 90, longitude: -180 }).longitude).toBe(-180);
  });

  test.each(["Mars/Olympus", "", "London"])("unknown time zone %p", (tz) => {
    expect(() => solar("sunrise", { ...LONDON, tz })).toThrow(ScheduleError);
  });
});
