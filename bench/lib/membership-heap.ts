/**
 * What a worker of the membership bench holds, by owner: the difference between two V8-format heap
 * snapshots that `membership-worker.ts` writes with `BENCH_HEAP_SNAPSHOT=<dir>` (its first worker,
 * after the full GC of its baseline and after the one once the steady window is over).
 *
 * Each object's own size ("self size") goes to an owner: the nearest object of a named class (a
 * `MemberList`, a `PeerTable`, a `Connection`...) on a shortest path from the roots, labelled with
 * the property it hangs from (`PeerTable.entries`: the entries map's storage; its records are
 * owned below). JSC's snapshots leave out some edges (a map's entries among them), so an object
 * with no incoming edge starts a tree of its own, labelled `orphan` with its property names
 * (sorted: `orphan Object{address,id,meta,sig,state}` is a SWIM member record); compiled code and bytecode are
 * `(code)`. Self sizes only: memory outside the GC's cells (buffers' bytes reported as extra
 * memory) is not in a snapshot: the worker writes those figures beside each snapshot (`.json`).
 *
 * Run: `bun bench/lib/membership-heap.ts <before.heapsnapshot> <after.heapsnapshot> [--per N] [--top 40] [--detail <owner prefix>]`
 * (`--per N`: also divide by N, e.g. nodes × known peers; `--detail`: split those owners' bytes by
 * object type, and strings by length).
 *
 * @module
 */
import { readFileSync } from "node:fs";

/** Class names that say nothing about who holds an object: their owner is looked for above them. */
const GENERIC = new Set(["Object", "Array", "Map", "Set", "Cell Butterfly", "Uint8Array", "ArrayBuffer", "Function", "JSLexicalEnvironment", "Promise", "WeakMap", "WeakSet", "Structure", "Buffer", "StructureRareData", "PropertyTable", "SymbolTable", "Error", "Symbol", "Date"]);

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; edge_fields: string[]; node_types: [string[]]; edge_types: [string[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** Bytes and objects by owner (see the module header). */
export function owners(snap: Snapshot, detail?: string): Map<string, { bytes: number; count: number }> {
  const nf = snap.snapshot.meta.node_fields.length;
  const ef = snap.snapshot.meta.edge_fields.length;
  const nodeTypes = snap.snapshot.meta.node_types[0];
  const edgeTypes = snap.snapshot.meta.edge_types[0];
  const { nodes, edges, strings } = snap;
  const n = nodes.length / nf;
  const firstEdge = new Int32Array(n + 1);
  for (let i = 0, e = 0; i < n; i++) {
    firstEdge[i] = e;
    e += nodes[i * nf + 4]! * ef;
    firstEdge[i + 1] = e;
  }
  const incoming = new Int32Array(n);
  for (let e = 0; e < edges.length; e += ef) incoming[edges[e + 2]! / nf]!++;
  const name = (i: number) => strings[nodes[i * nf + 1]!] ?? "";
  const type = (i: number) => nodeTypes[nodes[i * nf]!] ?? "";
  const isCode = (i: number) => type(i) === "code" || name(i).includes("CodeBlock") || name(i).includes("Executable");
  const edgeName = (e: number) => (edgeTypes[edges[e]!] === "element" ? "[]" : String(strings[edges[e + 1]!] ?? edges[e + 1]));
  const named = (i: number) => (type(i) === "object" || type(i) === "native") && name(i) !== "" && !GENERIC.has(name(i));
  // Sorted: an object's edges come in its shape's order, which changes as properties come and go.
  const properties = (i: number) => {
    const out: string[] = [];
    for (let e = firstEdge[i]!; e < firstEdge[i + 1]! && out.length < 8; e += ef) if (edgeTypes[edges[e]!] === "property") out.push(edgeName(e));
    return `{${out.sort().join(",")}}`;
  };
  const label: string[] = new Array(n);
  const seen = new Uint8Array(n);
  const queue: number[] = [];
  const visit = (i: number, l: string) => {
    seen[i] = 1;
    label[i] = l;
    queue.push(i);
  };
  visit(0, "(root)");
  for (let i = 1; i < n; i++) if (incoming[i] === 0) visit(i, `orphan ${name(i)}${properties(i)}`);
  for (let head = 0; head < queue.length; head++) {
    const from = queue[head]!;
    for (let e = firstEdge[from]!; e < firstEdge[from + 1]!; e += ef) {
      if (edgeTypes[edges[e]!] === "weak") continue;
      const to = edges[e + 2]! / nf;
      if (seen[to]) continue;
      if (isCode(to)) visit(to, "(code)");
      else if (named(to)) visit(to, name(to));
      else if (named(from)) visit(to, `${name(from)}.${edgeName(e)}`);
      else if (from === 0) visit(to, `(root).${edgeName(e)}`);
      else visit(to, label[from]!);
    }
  }
  const out = new Map<string, { bytes: number; count: number }>();
  for (let i = 0; i < n; i++) {
    const self = nodes[i * nf + 3]!;
    if (!self) continue;
    let key = !seen[i] ? `(unreachable) ${name(i)}` : isCode(i) ? "(code)" : label[i]!;
    // Strings (flat, concatenated or sliced) by length: their names are their contents.
    if (detail !== undefined && key.startsWith(detail)) key += ` :: ${type(i)}:${type(i).endsWith("string") ? `length ${name(i).length}` : name(i)}`;
    const row = out.get(key) ?? { bytes: 0, count: 0 };
    row.bytes += self;
    row.count++;
    out.set(key, row);
  }
  return out;
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const option = (flag: string) => {
    const at = args.indexOf(flag);
    return at >= 0 ? args.splice(at, 2)[1] : undefined;
  };
  const per = Number(option("--per") ?? 1);
  const top = Number(option("--top") ?? 40);
  const detail = option("--detail");
  const [beforePath, afterPath] = args;
  if (!beforePath || !afterPath) {
    console.error("usage: bun bench/lib/membership-heap.ts <before.heapsnapshot> <after.heapsnapshot> [--per N] [--top 40] [--detail <owner prefix>]");
    process.exit(2);
  }
  const load = (path: string) => owners(JSON.parse(readFileSync(path, "utf8")) as Snapshot, detail);
  const before = load(beforePath);
  const after = load(afterPath);
  const rows = [...new Set([...before.keys(), ...after.keys()])]
    .map((key) => ({ key, bytes: (after.get(key)?.bytes ?? 0) - (before.get(key)?.bytes ?? 0), count: (after.get(key)?.count ?? 0) - (before.get(key)?.count ?? 0) }))
    .sort((a, b) => b.bytes - a.bytes);
  const total = rows.reduce((sum, r) => sum + r.bytes, 0);
  console.log(`total ${total} bytes${per !== 1 ? `, ${Math.round(total / per)} per ${per}th` : ""}`);
  console.log(`${"per".padStart(6)} ${"bytes".padStart(10)} ${"objects".padStart(8)}  owner`);
  for (const r of rows.slice(0, top)) console.log(`${String(Math.round(r.bytes / per)).padStart(6)} ${String(r.bytes).padStart(10)} ${String(r.count).padStart(8)}  ${r.key.slice(0, 160)}`);
}
