/**
 * The bench's child processes end with their parent. A worker that holds listening nodes keeps its
 * event loop alive after its parent is gone (killed, or stopped by a signal), and would run on, taking
 * CPU from whatever is measured next: {@link exitWithParent} ends it when its IPC channel closes. A
 * parent whose children have no IPC channel stops them itself on SIGINT or SIGTERM
 * ({@link stopChildrenOnSignal}).
 *
 * @module
 */
import type { Subprocess } from "bun";

/** In a worker spawned with `ipc`: exit as soon as the channel to the parent closes. */
export function exitWithParent(): void {
  process.on("disconnect", () => process.exit(0));
}

/**
 * In a parent: on SIGINT or SIGTERM, send SIGTERM to every child still running that `children()`
 * gives, wait for them (at most `seconds`, then SIGKILL), run `after` (files to remove), and exit
 * with 128 + the signal's number.
 */
export function stopChildrenOnSignal(children: () => Iterable<Subprocess>, { seconds = 5, after }: { seconds?: number; after?: () => void } = {}): void {
  const stop = async (signal: "SIGINT" | "SIGTERM") => {
    const running = [...children()].filter((c) => c.exitCode === null && c.signalCode === null);
    for (const c of running) c.kill("SIGTERM");
    const late = setTimeout(() => {
      for (const c of running) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    }, seconds * 1000);
    await Promise.all(running.map((c) => c.exited));
    clearTimeout(late);
    after?.();
    process.exit(signal === "SIGINT" ? 130 : 143);
  };
  process.once("SIGINT", () => void stop("SIGINT"));
  process.once("SIGTERM", () => void stop("SIGTERM"));
}
