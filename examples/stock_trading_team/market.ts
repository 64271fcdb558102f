/**
 * The paper market's clock: when it is open. Either real exchange hours (09:30 to 16:00 in New
 * York, Monday to Friday; holidays are not modelled) or a simulated session that runs fast enough
 * to watch: closed for a few seconds, open for a few, and so on.
 */

/** When the market is open. */
export interface MarketClock {
  isOpen(now: Date): boolean;
  /** Start the clock, where it has a start (a simulated session); later calls do nothing. */
  begin?(now: Date): void;
  /** For people: "NYSE hours, 09:30-16:00 America/New_York, Mon-Fri". */
  describe(): string;
}

/** Real hours: 09:30 to 16:00 in New York on weekdays. */
export function exchangeHours(): MarketClock {
  const parts = new Intl.DateTimeFormat("en-US", { timeZone: "America/New_York", weekday: "short", hour: "numeric", minute: "numeric", hourCycle: "h23" });
  return {
    isOpen(now) {
      const get = (type: string) => parts.formatToParts(now).find((p) => p.type === type)?.value ?? "";
      if (get("weekday") === "Sat" || get("weekday") === "Sun") return false;
      const minutes = Number(get("hour")) * 60 + Number(get("minute"));
      return minutes >= 9 * 60 + 30 && minutes < 16 * 60;
    },
    describe: () => "NYSE hours, 09:30-16:00 America/New_York, Mon-Fri",
  };
}

/**
 * A simulated session: closed `closed` seconds, open `open` seconds, repeating. Closed until
 * `begin()` (the exchange calls it on the first HTTP request, the trader's), so that a slow start
 * of the other nodes never eats into the session.
 */
export function simulatedSession(closed: number, open: number): MarketClock {
  let start: number | null = null;
  return {
    begin(now) {
      start ??= now.getTime();
    },
    isOpen(now) {
      if (start === null) return false;
      const into = ((now.getTime() - start) / 1000) % (closed + open);
      return into >= closed;
    },
    describe: () => `simulated: closed ${closed} s, then open ${open} s, repeating`,
  };
}

/** `real`, or `CLOSED:OPEN` in seconds (e.g. `2:5`); throws a message for anything else. */
export function parseSession(text: string): MarketClock {
  if (text === "real") return exchangeHours();
  const match = /^(\d+(?:\.\d+)?):(\d+(?:\.\d+)?)$/.exec(text);
  if (!match || Number(match[2]) <= 0) throw new Error(`--session must be "real" or CLOSED:OPEN seconds such as 2:5, got ${JSON.stringify(text)}`);
  return simulatedSession(Number(match[1]), Number(match[2]));
}
