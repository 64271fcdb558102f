/**
 * A garden caretaker that lives on a timetable.
 *
 * It looks after a (simulated) greenhouse: it checks the soil every few seconds and waters when
 * it gets dry, writes a digest at 08:00 on weekdays, opens the vents at sunrise and switches the
 * path lights on at sunset. It is a Synapse node: the jobs run on `node.periodic`, and peers can
 * ask it how the greenhouse is doing through the `garden.status` endpoint.
 *
 *     bun examples/periodic_tasks/caretaker.ts                        # until Ctrl-C
 *     CARETAKER_SECONDS=10 bun examples/periodic_tasks/caretaker.ts   # for ten seconds
 */

import { Node, cron, every, solar } from "../../src/index.ts";

// Where the garden is. The solar jobs need the coordinates; the time zone decides what
// "08:00" means for the digest and which local day a sunrise belongs to.
const GARDEN = { name: "Kew Gardens", latitude: 51.4787, longitude: -0.2956, tz: "Europe/London" };

// Formats times on the garden's wall clock (see clock() at the bottom).
const wallClock = new Intl.DateTimeFormat("en-GB", {
  timeZone: GARDEN.tz,
  hourCycle: "h23",
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  timeZoneName: "short",
});

// How long to stay: CARETAKER_SECONDS, or until Ctrl-C when it is not set.
const stayFor = parseSeconds(process.env.CARETAKER_SECONDS);

// The greenhouse the caretaker looks after. The soil dries out a little between checks.
const greenhouse = { moisture: 48, waterings: 0, checks: 0, ventsOpen: false, lightsOn: false };

// The caretaker is a node on this machine (loopback only; a free port). A failing task never
// stops the others, nor its own later runs: the node logs it with the task's name.
const node = new Node({ name: "caretaker", bind: "127.0.0.1", role: "gardener", capabilities: ["garden.status"] });
node.endpoint("garden.status", { description: "How the greenhouse is doing" }, () => ({ ...greenhouse }));

// 1. The watering check, every three seconds. Watering takes a moment (the pump runs), so the
//    task is async; skipIfRunning makes sure two checks never run the pump at the same time.
//    Runs are planned from the previous planned time, so the pump's run time does not make the
//    cadence drift.
node.periodic(
  every({ seconds: 3 }),
  async () => {
    greenhouse.checks++;
    greenhouse.moisture -= 6;
    const moisture = greenhouse.moisture;
    if (moisture >= 30) {
      say(`watering check #${greenhouse.checks}: soil moisture ${moisture}%, no water needed`);
      return;
    }
    say(`watering check #${greenhouse.checks}: soil moisture ${moisture}%, running the pump`);
    await Bun.sleep(200);
    greenhouse.moisture = 60;
    greenhouse.waterings++;
    say(`watering check #${greenhouse.checks}: watered, soil moisture back to 60%`);
  },
  { name: "watering-check", skipIfRunning: true },
);

// 2. A digest at 08:00 London time, Monday to Friday. Cron expressions are read in the time zone,
//    so it stays at 08:00 on the wall clock through the clock changes.
node.periodic(
  cron("0 8 * * mon-fri", { tz: GARDEN.tz }),
  () => {
    say(
      `digest: ${greenhouse.checks} check(s), ${greenhouse.waterings} watering(s), soil at ${greenhouse.moisture}%, ` +
        `vents ${greenhouse.ventsOpen ? "open" : "closed"}, lights ${greenhouse.lightsOn ? "on" : "off"}`,
    );
  },
  { name: "morning-digest" },
);

// 3. and 4. Sunrise and sunset at the garden. A solar schedule fires once on every local day on
//    which its event happens. Every task also runs once as soon as the node starts: for
//    these two that is the arrival round, where the caretaker sets the vents and lights for the
//    time of day instead of pretending the sun has just risen (or set).
const sunrise = solar("sunrise", GARDEN);
const sunset = solar("sunset", GARDEN);

/** True between sunrise and sunset: the next sunset comes before the next sunrise. */
function sunIsUp(): boolean {
  const now = new Date();
  return sunset.nextAfter(now).getTime() < sunrise.nextAfter(now).getTime();
}

let ventRounds = 0;
node.periodic(
  sunrise,
  () => {
    ventRounds++;
    if (ventRounds === 1 && !sunIsUp()) {
      say("arrival: the sun is down, the greenhouse vents stay closed until sunrise");
      return;
    }
    greenhouse.ventsOpen = true;
    say(ventRounds === 1 ? "arrival: the sun is up, opening the greenhouse vents" : "sunrise: opening the greenhouse vents");
  },
  { name: "sunrise-vents" },
);

let lightRounds = 0;
node.periodic(
  sunset,
  () => {
    lightRounds++;
    if (lightRounds === 1 && sunIsUp()) {
      greenhouse.lightsOn = false;
      say("arrival: daylight, the path lights stay off until sunset");
      return;
    }
    greenhouse.ventsOpen = false;
    greenhouse.lightsOn = true;
    say(lightRounds === 1 ? "arrival: it is dark, path lights on and vents closed" : "sunset: closing the vents, path lights on");
  },
  { name: "sunset-lights" },
);

say(`caretaker arriving at ${GARDEN.name} (${GARDEN.latitude}, ${GARDEN.longitude}, ${GARDEN.tz})`);
await node.start();
say(`serving garden.status on 127.0.0.1:${node.port}`);

// The first runs start right away; once they have started, every task knows its next run.
await new Promise((resolve) => setTimeout(resolve, 0));
say("timetable:");
for (const task of node.scheduler.list()) {
  const next = task.nextRun ? clock(task.nextRun) : "never";
  console.log(`    ${task.name.padEnd(16)} ${task.schedule.padEnd(52)} next run ${next}`);
}

// Leave after CARETAKER_SECONDS, or on Ctrl-C. node.stop() cancels every pending run and closes
// the listener; the process exits by itself once a pump that is still running has finished.
let leaveTimer: ReturnType<typeof setTimeout> | undefined;
function leave(reason: string): void {
  if (leaveTimer !== undefined) clearTimeout(leaveTimer);
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  void node.stop();
  const runs = node.scheduler.list().map((task) => `${task.name} ${task.runs}`).join(", ");
  say(`caretaker leaving (${reason}); runs: ${runs}`);
}
function onSignal(signal: NodeJS.Signals): void {
  leave(signal);
}
process.on("SIGINT", onSignal);
process.on("SIGTERM", onSignal);
if (stayFor === null) say("running until Ctrl-C");
else leaveTimer = setTimeout(() => leave(`${stayFor} s are up`), stayFor * 1000);

/** Print a line with the garden's local time. */
function say(message: string): void {
  console.log(`[${clock(new Date())}] ${message}`);
}

/** A date as the garden's wall-clock time, such as `2026-06-21 04:43:06 BST`. */
function clock(date: Date): string {
  const parts: Record<string, string> = {};
  for (const { type, value } of wallClock.formatToParts(date)) parts[type] = value;
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second} ${parts.timeZoneName}`;
}

/** CARETAKER_SECONDS as a positive number of seconds, or null when unset. */
function parseSeconds(value: string | undefined): number | null {
  if (value === undefined || value.trim() === "") return null;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    console.error(`CARETAKER_SECONDS must be a positive number of seconds, got ${JSON.stringify(value)}`);
    process.exit(2);
  }
  return seconds;
}
