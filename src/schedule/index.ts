/**
 * Periodic tasks: schedules (`every`, `cron`, `solar`) and the {@link Scheduler} that runs
 * functions on them.
 *
 * ```ts
 * import { Scheduler, every, cron, solar } from "./schedule/index.ts";
 *
 * const scheduler = new Scheduler();
 * scheduler.add(every({ seconds: 30 }), () => console.log("tick"));
 * scheduler.add(cron("0 8 * * mon-fri", { tz: "Europe/London" }), () => console.log("good morning"));
 * scheduler.add(solar("sunset", { latitude: 51.5074, longitude: -0.1278, tz: "Europe/London" }), () => console.log("lights on"));
 * scheduler.start();
 * ```
 *
 * @module
 */

export { isSchedule, type Schedule, type ScheduleLike } from "./schedule.ts";
export { every, formatDuration, IntervalSchedule, toSchedule, type EveryOptions } from "./every.ts";
export { cron, CronSchedule, type CronScheduleOptions } from "./cron.ts";
export {
  solar,
  SolarSchedule,
  SOLAR_EVENTS,
  SOLAR_SEARCH_DAYS,
  type CanonicalSolarEvent,
  type SolarEvent,
  type SolarOptions,
} from "./solar.ts";
export { MAX_TIMER_DELAY_MS } from "../util/time.ts";
export {
  PeriodicTask,
  Scheduler,
  type AddTaskOptions,
  type SchedulerOptions,
  type TaskFunction,
  type TaskInfo,
} from "./scheduler.ts";
