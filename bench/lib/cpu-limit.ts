/**
 * A bench run on fewer cores than the machine has: `--cpus C` puts the bench's process, and so
 * every worker process it starts afterwards, in a control group of its own whose CPU quota is C
 * cores (Linux, as root; cgroup v2's `cpu.max`, or v1's `cpu.cfs_quota_us` where the `cpu`
 * controller is mounted the old way). The swarm figures follow how close their work comes to the
 * cores there are (docs/performance.md#fewer-cores-than-the-machine-has): on a quicker machine a
 * quota puts the swarm as near saturation as a slower machine's two cores do, and a quota runs
 * steadier than that machine's speed, which moves from one half hour to the next.
 *
 * A quota models fewer cores, not a slower CPU: each system call and page fault costs what it costs
 * on this machine. {@link cpuQuota} tells the quota a process runs under, whoever set it (this
 * module, a container, a shell that moved the bench), for a result's environment.
 *
 * @module
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";

/** The quota's period: short, so that a saturated run is held back in slices of 20 ms, not 100. */
const PERIOD_US = 20_000;

/** Where the kernel mounts the control groups. */
const ROOT = "/sys/fs/cgroup";

/** A quota this module could not set; `code` names why. */
export class CpuLimitError extends Error {
  constructor(
    readonly code: "BAD_CPUS" | "NOT_ROOT" | "NO_CPU_CONTROLLER" | "CGROUP_WRITE",
    message: string,
  ) {
    super(message);
    this.name = "CpuLimitError";
  }
}

/** Where one process's CPU quota is kept: the `cpu` controller's hierarchy and the process's group in it. */
interface CpuGroup {
  /** `v2`: `cpu.max`; `v1`: `cpu.cfs_quota_us` and `cpu.cfs_period_us`. */
  kind: "v1" | "v2";
  /** The hierarchy's mount point. */
  mount: string;
  /** The process's group, relative to the mount (`/` for the root). */
  path: string;
}

/**
 * The `cpu` controller's hierarchy and this process's group in it (`/proc/self/cgroup`), or null
 * where there is none (not Linux, or no `cpu` controller).
 */
function cpuGroup(): CpuGroup | null {
  let lines: string[];
  try {
    lines = readFileSync("/proc/self/cgroup", "utf8").trim().split("\n");
  } catch {
    return null;
  }
  // Each line is `<id>:<controllers>:<path>` (the path may itself hold colons).
  for (const line of lines) {
    const first = line.indexOf(":");
    const second = line.indexOf(":", first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second).split(",");
    if (controllers.includes("cpu") && existsSync(join(ROOT, "cpu"))) return { kind: "v1", mount: join(ROOT, "cpu"), path: line.slice(second + 1) };
  }
  const unified = lines.find((line) => line.startsWith("0::"));
  if (unified === undefined) return null;
  // A pure v2 machine mounts the unified hierarchy at the root; a hybrid one under `unified`, where
  // the `cpu` controller is bound to v1 (and was found above) or to nothing.
  for (const mount of [ROOT, join(ROOT, "unified")]) {
    if (readQuiet(join(mount, "cgroup.controllers"))?.split(/\s+/).includes("cpu")) return { kind: "v2", mount, path: unified.slice(3) };
  }
  return null;
}

function readQuiet(file: string): string | null {
  try {
    return readFileSync(file, "utf8").trim();
  } catch {
    return null;
  }
}

/** The quota of one group in cores, or null where it has none. */
function groupQuota(group: CpuGroup, path: string): number | null {
  const dir = join(group.mount, path);
  if (group.kind === "v2") {
    const [max, period] = (readQuiet(join(dir, "cpu.max")) ?? "max").split(/\s+/);
    return max === "max" || max === undefined ? null : Number(max) / Number(period);
  }
  const quota = Number(readQuiet(join(dir, "cpu.cfs_quota_us")) ?? -1);
  return quota > 0 ? quota / Number(readQuiet(join(dir, "cpu.cfs_period_us"))) : null;
}

/**
 * The CPU quota this process runs under, in cores: the least of its group's and its ancestors'
 * quotas; null without one (or without control groups). Recorded with every result
 * (`environment.cpuQuota`).
 */
export function cpuQuota(): number | null {
  const group = cpuGroup();
  if (group === null) return null;
  let least: number | null = null;
  for (let path = group.path; ; path = path.slice(0, path.lastIndexOf("/")) || "/") {
    const quota = groupQuota(group, path);
    if (quota !== null && (least === null || quota < least)) least = quota;
    if (path === "/") return least;
  }
}

/** `--cpus C` as given, checked: a number of cores from 0.05 to the machine's; a mistake is a {@link CpuLimitError}. */
export function parseCpus(spec: string, cores = availableParallelism()): number {
  const cpus = Number(spec);
  if (!Number.isFinite(cpus) || cpus < 0.05 || cpus > cores) throw new CpuLimitError("BAD_CPUS", `--cpus ${spec}: give a number of cores from 0.05 to ${cores} (as 1.3)`);
  return cpus;
}

/** The directory of this process's group in the `cpu` controller's hierarchy, or null without one. */
export function cpuGroupDir(): string | null {
  const group = cpuGroup();
  return group === null ? null : join(group.mount, group.path);
}

/** This process's group where {@link limitCpus} can set a quota, else why it cannot (not root, no `cpu` controller). */
function limitableGroup(): CpuGroup | CpuLimitError {
  if (process.getuid?.() !== 0) return new CpuLimitError("NOT_ROOT", `--cpus needs root: it makes a control group with a CPU quota (this run is uid ${process.getuid?.()})`);
  return cpuGroup() ?? new CpuLimitError("NO_CPU_CONTROLLER", "--cpus needs Linux control groups with the cpu controller (none found in /proc/self/cgroup)");
}

/** Why {@link limitCpus} cannot set a quota here (not root, no `cpu` controller), or null when it can. */
export function cpuLimitUnavailable(): string | null {
  const group = limitableGroup();
  return group instanceof CpuLimitError ? group.message : null;
}

/**
 * Put this process in a control group of its own (`synapse-bench-<pid>`, beside its present
 * one) with a quota of `cpus` cores; the processes it starts afterwards are in it too. When the
 * process exits it moves back and removes the group (its children are gone by then: a group
 * that still holds one is left, and the kernel keeps its quota until it is removed). Returns the
 * group's directory.
 */
export function limitCpus(cpus: number): string {
  const group = limitableGroup();
  if (group instanceof CpuLimitError) throw group;
  const parent = join(group.mount, group.path);
  const dir = join(parent, `synapse-bench-${process.pid}`);
  const quota = Math.round(cpus * PERIOD_US);
  try {
    if (group.kind === "v2") {
      // A v2 group gets the cpu controller only if its parent hands it down.
      const handed = readQuiet(join(parent, "cgroup.subtree_control")) ?? "";
      if (!handed.split(/\s+/).includes("cpu")) writeFileSync(join(parent, "cgroup.subtree_control"), "+cpu");
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "cpu.max"), `${quota} ${PERIOD_US}`);
    } else {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "cpu.cfs_period_us"), String(PERIOD_US));
      writeFileSync(join(dir, "cpu.cfs_quota_us"), String(quota));
    }
    writeFileSync(join(dir, "cgroup.procs"), String(process.pid));
  } catch (error) {
    try {
      rmdirSync(dir); // made, but the process is not in it
    } catch {
      // Never made.
    }
    throw new CpuLimitError("CGROUP_WRITE", `--cpus: could not set a quota in ${dir}: ${(error as Error).message}`);
  }
  process.once("exit", () => {
    try {
      writeFileSync(join(parent, "cgroup.procs"), String(process.pid));
      rmdirSync(dir);
    } catch {
      // A child still in the group (or a group gone already): left as it is.
    }
  });
  return dir;
}

/**
 * `--cpus <spec>` applied: parsed ({@link parseCpus}), then this process and those it starts put
 * under that quota ({@link limitCpus}). Returns the quota; a mistake, or a machine where it cannot
 * be done, is a {@link CpuLimitError} whose message is the one line to show.
 */
export function setCpus(spec: string): number {
  const cpus = parseCpus(spec);
  limitCpus(cpus);
  return cpus;
}

/**
 * A bench's `--cpus C` (see the module doc): applied when given, before the bench measures or
 * starts anything; a mistake, or a machine where it cannot be done, is one line (`fail`: printed,
 * and the run stops). Returns the quota set, or null without the flag.
 */
export function applyCpusFlag(
  argv: readonly string[] = process.argv,
  fail: (message: string) => never = (message) => {
    console.error(message);
    process.exit(2);
  },
): number | null {
  const at = argv.indexOf("--cpus");
  if (at < 0) return null;
  try {
    return setCpus(argv[at + 1] ?? "");
  } catch (error) {
    if (!(error instanceof CpuLimitError)) throw error;
    return fail(error.message);
  }
}
