/**
 * Draws `docs/membership-sim.svg` from `bench/results/membership-sim.json` (written by
 * `membership-sim.ts`): two panels over the number of nodes (log scale): the times the simulation
 * measured (SWIM cores up to 1,000 nodes, the one-update model up to 10,000), and the messages each
 * node sends per second in gossip mode (measured, and from its settings) and in mesh mode. Plain
 * SVG, no dependency. Run: `bun bench/sim/chart.ts [results.json] [out.svg]`.
 *
 * @module
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

interface Row {
  nodes: number;
  [key: string]: number | null;
}

interface Series {
  label: string;
  color: string;
  points: Array<[number, number]>;
  dashed?: boolean;
}

const W = 440;
const H = 300;
const M = { left: 56, right: 16, top: 34, bottom: 46 };

function niceTicks(min: number, max: number, log: boolean): number[] {
  if (log) {
    const out: number[] = [];
    for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) out.push(10 ** e);
    return out;
  }
  const span = max - min || 1;
  const step = 10 ** Math.floor(Math.log10(span / 4));
  const nice = [1, 2, 5, 10].map((m) => m * step).find((s) => span / s <= 6) ?? step * 10;
  const out: number[] = [];
  const top = Math.ceil(max / nice) * nice;
  for (let v = Math.floor(min / nice) * nice; v <= top + 1e-9; v += nice) out.push(Number(v.toPrecision(6)));
  return out;
}

function label(v: number): string {
  return v >= 1000 ? `${v / 1000}k` : String(v);
}

/** One panel: an x axis of node counts (log), a y axis (log or linear), lines with dots and a legend. */
function panel(x0: number, title: string, yLabel: string, series: Series[], yLog: boolean): string {
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1])).filter((y) => !yLog || y > 0);
  const xTicks = niceTicks(Math.min(...xs), Math.max(...xs), true);
  // Head room above the highest point (linear axis) for the legend.
  const yTicks = niceTicks(yLog ? Math.min(...ys) : 0, Math.max(...ys) * (yLog ? 1 : 1.6), yLog);
  const [xa, xb] = [Math.log10(xTicks[0]!), Math.log10(xTicks[xTicks.length - 1]!)];
  const [ya, yb] = yLog ? [Math.log10(yTicks[0]!), Math.log10(yTicks[yTicks.length - 1]!)] : [yTicks[0]!, yTicks[yTicks.length - 1]!];
  const px = (x: number) => x0 + M.left + ((Math.log10(x) - xa) / (xb - xa || 1)) * (W - M.left - M.right);
  const py = (y: number) => H - M.bottom - (((yLog ? Math.log10(y) : y) - ya) / (yb - ya || 1)) * (H - M.top - M.bottom);
  const parts: string[] = [];
  parts.push(`<text x="${x0 + W / 2}" y="18" text-anchor="middle" font-weight="bold">${title}</text>`);
  for (const t of xTicks) {
    parts.push(`<line x1="${px(t)}" y1="${M.top}" x2="${px(t)}" y2="${H - M.bottom}" stroke="#eee"/>`);
    parts.push(`<text x="${px(t)}" y="${H - M.bottom + 16}" text-anchor="middle">${label(t)}</text>`);
  }
  for (const t of yTicks) {
    parts.push(`<line x1="${x0 + M.left}" y1="${py(t)}" x2="${x0 + W - M.right}" y2="${py(t)}" stroke="#eee"/>`);
    parts.push(`<text x="${x0 + M.left - 6}" y="${py(t) + 4}" text-anchor="end">${label(t)}</text>`);
  }
  parts.push(`<text x="${x0 + W / 2}" y="${H - 8}" text-anchor="middle">nodes (log scale)</text>`);
  parts.push(`<text transform="translate(${x0 + 14},${(H - M.bottom + M.top) / 2}) rotate(-90)" text-anchor="middle">${yLabel}</text>`);
  series.forEach((s, i) => {
    const pts = s.points.filter((p) => !yLog || p[1] > 0);
    if (pts.length === 0) return;
    const path = pts.map((p, j) => `${j === 0 ? "M" : "L"}${px(p[0]).toFixed(1)},${py(p[1]).toFixed(1)}`).join(" ");
    parts.push(`<path d="${path}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5,4"' : ""}/>`);
    for (const p of pts) parts.push(`<circle cx="${px(p[0]).toFixed(1)}" cy="${py(p[1]).toFixed(1)}" r="3" fill="${s.color}"/>`);
    const ly = M.top + 6 + i * 16;
    parts.push(`<line x1="${x0 + M.left + 8}" y1="${ly}" x2="${x0 + M.left + 28}" y2="${ly}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5,4"' : ""}/>`);
    parts.push(`<text x="${x0 + M.left + 32}" y="${ly + 4}">${s.label}</text>`);
  });
  return parts.join("\n");
}

/** What `membership-sim.ts` writes (the parts drawn). */
export interface SimResults {
  config: { probeInterval: number; pushPullInterval: number };
  gossip: Row[];
  model: Row[];
  mesh: Row[];
}

/**
 * Messages a node sends per second in a quiet gossip swarm, from the configuration: one probe and
 * one ack answered per probe interval, and a push-pull and its answer every push-pull interval,
 * which the core stretches past 32 members (× ⌈log2 N − 5⌉ + 1). The simulation's measured points
 * sit on it.
 */
export function gossipSteadyMessages(n: number, config: SimResults["config"]): number {
  const scale = n <= 32 ? 1 : Math.ceil(Math.log2(n) - 5) + 1;
  return 2 / config.probeInterval + 2 / (config.pushPullInterval * scale);
}

/** The SVG for a results file's content. */
export function chart(results: SimResults): string {
  const pick = (rows: Row[], key: string): Array<[number, number]> =>
    rows.filter((r) => typeof r[key] === "number").map((r) => [r.nodes, r[key] as number]);
  const times = panel(
    0,
    "Gossip: seconds of swarm time",
    "seconds",
    [
      { label: "one join known by 99%: SWIM cores", color: "#1f77b4", points: pick(results.gossip, "joinKnown99") },
      { label: "one update at 99%: model", color: "#1f77b4", points: pick(results.model, "p99"), dashed: true },
      { label: "first suspicion of a killed node", color: "#2ca02c", points: pick(results.gossip, "firstSuspicion") },
      { label: "killed node dead everywhere", color: "#d62728", points: pick(results.gossip, "deadEverywhere") },
    ],
    false,
  );
  const load = panel(
    W,
    "Messages sent per node per second",
    "messages / node / s (log)",
    [
      { label: "gossip: SWIM cores", color: "#1f77b4", points: pick(results.gossip, "msgsPerNodePerSec") },
      { label: "gossip: from its settings", color: "#1f77b4", points: results.mesh.map((m) => [m.nodes, gossipSteadyMessages(m.nodes, results.config)]), dashed: true },
      { label: "mesh, heartbeat 1 s", color: "#ff7f0e", points: pick(results.mesh, "msgsPerNodePerSec"), dashed: true },
    ],
    true,
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${H}" viewBox="0 0 ${2 * W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    times,
    load,
    "</svg>",
    "",
  ].join("\n");
}

if (import.meta.main) {
  const root = join(import.meta.dir, "..", "..");
  const input = process.argv[2] ?? join(root, "bench", "results", "membership-sim.json");
  const output = process.argv[3] ?? join(root, "docs", "membership-sim.svg");
  const data = JSON.parse(readFileSync(input, "utf8")) as SimResults;
  writeFileSync(output, chart(data));
  console.log(`wrote ${output}`);
}
