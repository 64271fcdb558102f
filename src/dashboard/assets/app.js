// The dashboard page: one WebSocket to the server (a snapshot, then batches of changes), state
// kept here, and the views redrawn at most once per frame. No framework and no build step. Every
// text from the swarm goes into the page through textContent, never as HTML.
"use strict";

const ROW = 28; // px, the height of a row in the virtualised lists (style.css .row)
const MAX_CONVERSATIONS = 1000; // the server keeps as many; the page keeps no more

const state = {
  self: null,
  peers: new Map(), // id -> peer view
  conversations: new Map(), // id -> summary
  series: [], // one sample a second, oldest first
  edges: [],
  selectedPeer: null,
  selectedConversation: null,
  peerFilter: "",
  convFilter: "",
  connected: false,
};

// --- small helpers ---

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : String(c));
  return el;
}

function svg(tag, attrs) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  return el;
}

function now() {
  return Date.now() / 1000;
}

function ago(t) {
  if (!t) return "–";
  const s = Math.max(0, now() - t);
  if (s < 1) return "now";
  if (s < 60) return `${Math.floor(s)}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  return `${Math.floor(s / 3600)}h ago`;
}

function clock(t) {
  const d = new Date(t * 1000);
  return d.toTimeString().slice(0, 8);
}

function short(id) {
  return id ? id.slice(0, 8) : "";
}

function brief(value, max = 240) {
  let text = typeof value === "string" ? value : JSON.stringify(value);
  if (text === undefined) text = String(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function metricsText(m) {
  if (!m) return "–";
  const parts = [];
  for (const [k, v] of Object.entries(m)) {
    if (typeof v === "number") parts.push(`${k} ${Number.isInteger(v) ? v : v.toFixed(2)}`);
    if (parts.length >= 3) break;
  }
  return parts.join(" · ") || "served";
}

function convKind(c) {
  if (c.task && !c.endpoint) return "TASK";
  if (c.endpoint === "synapse.ask") return "ASK";
  if (c.endpoint === "synapse.message") return "MSG";
  if (c.endpoint) return "CALL";
  return "…";
}

// --- redraw scheduling ---

const dirty = new Set();
let frame = 0;
function invalidate(...what) {
  for (const w of what) dirty.add(w);
  if (!frame) frame = requestAnimationFrame(render);
}

function render() {
  frame = 0;
  if (dirty.has("header")) renderHeader();
  if (dirty.has("peers")) peerList.refresh(filteredPeers());
  if (dirty.has("graph")) renderGraph();
  if (dirty.has("timeline")) convList.refresh(filteredConversations());
  if (dirty.has("drawer")) renderDrawer();
  dirty.clear();
}

// --- virtualised list: only the rows in view exist in the page ---

class VirtualList {
  constructor(container, renderRow, empty) {
    this.container = container;
    this.renderRow = renderRow;
    this.empty = empty;
    this.items = [];
    this.spacer = h("div", { class: "spacer" });
    container.append(this.spacer);
    container.addEventListener("scroll", () => this.draw(), { passive: true });
    new ResizeObserver(() => this.draw()).observe(container);
  }
  refresh(items) {
    this.items = items;
    this.draw();
  }
  draw() {
    const { container, items } = this;
    // Old rows out first: while they stand, a shorter list cannot pull the scroll position back.
    container.replaceChildren(this.spacer);
    this.spacer.style.height = `${items.length * ROW}px`;
    const first = Math.max(0, Math.floor(container.scrollTop / ROW) - 5);
    const last = Math.min(items.length, Math.ceil((container.scrollTop + container.clientHeight) / ROW) + 5);
    const rows = [];
    for (let i = first; i < last; i++) {
      const row = this.renderRow(items[i]);
      row.style.top = `${i * ROW}px`;
      rows.push(row);
    }
    if (items.length === 0) rows.push(h("div", { class: "empty" }, this.empty));
    container.replaceChildren(this.spacer, ...rows);
  }
}

// --- peers ---

const STATUS_ORDER = { fresh: 0, online: 0, stale: 1, offline: 2 };

function filteredPeers() {
  const f = state.peerFilter.toLowerCase();
  const list = [...state.peers.values()].filter((p) => !f || [p.name, p.id, p.role || "", p.address, p.kind, p.implementation, ...p.capabilities].join(" ").toLowerCase().includes(f));
  return list.sort((a, b) => STATUS_ORDER[a.status] - STATUS_ORDER[b.status] || a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
}

function implText(p) {
  if (p.implementation === "bun") return "Bun";
  if (p.implementation === "python") return "Python";
  return "?";
}

function peerRow(p) {
  return h(
    "div",
    { class: `row peer-row ${p.status}${state.selectedPeer === p.id ? " selected" : ""}`, "data-peer-id": p.id, "data-status": p.status, onclick: () => selectPeer(p.id), title: p.description || "" },
    h("span", null, h("span", { class: `badge status-${p.status}` }, p.status)),
    h("span", { class: "name" }, p.name),
    h("span", { class: "mono" }, short(p.id)),
    h("span", { class: "mono" }, `${p.address}:${p.port}`),
    h("span", null, p.kind),
    h("span", null, p.role || "–"),
    h("span", { title: p.capabilities.join(", ") }, p.capabilities.join(", ") || "–"),
    h("span", { class: "impl", title: p.version || "" }, implText(p)),
    h("span", { class: "seen", "data-time": p.status === "offline" ? p.offlineAt : p.lastSeen }, ago(p.status === "offline" ? p.offlineAt : p.lastSeen)),
    h("span", { class: "mono" }, metricsText(p.metrics)),
  );
}

const peerList = new VirtualList(document.getElementById("peers"), peerRow, "No peer yet: waiting for the swarm (seeds, mDNS)…");

// --- conversations ---

function filteredConversations() {
  const f = state.convFilter.toLowerCase();
  const list = [...state.conversations.values()].filter((c) => !f || [c.title, c.endpoint || "", c.origin ? c.origin.name : "", c.id].join(" ").toLowerCase().includes(f));
  return list.sort((a, b) => b.updatedAt - a.updatedAt);
}

function convRow(c) {
  const chips = h("span", { class: "chips" });
  if (c.task) chips.append(h("span", { class: `chip task-state ${c.task}`, "data-task": c.task }, `task ${c.task}`));
  for (const [kind, n] of Object.entries(c.counts)) chips.append(h("span", { class: `chip ${kind}`, "data-count": kind }, `${n} ${kind}`));
  return h(
    "div",
    { class: `row conv-row${state.selectedConversation === c.id ? " selected" : ""}`, "data-conversation-id": c.id, onclick: () => selectConversation(c.id) },
    h("span", { class: "mono muted" }, clock(c.startedAt)),
    h("span", { class: "kind" }, convKind(c)),
    h("span", null, c.origin ? c.origin.name : "?"),
    h("span", { title: c.title }, c.title),
    chips,
  );
}

const convList = new VirtualList(document.getElementById("timeline"), convRow, "No conversation yet: broadcasts, asks and their events appear here.");

// --- header and counters ---

function renderHeader() {
  const s = state.self;
  document.getElementById("swarm").textContent = s ? `swarm ${s.swarm ?? "(any)"} · team ${s.team ?? "–"} · as ${s.name} ${short(s.id)}` : "…";
  const counts = { online: 0, stale: 0, offline: 0 };
  for (const p of state.peers.values()) counts[p.status === "fresh" ? "online" : p.status]++;
  document.getElementById("stat-peers").textContent = `${counts.online} up · ${counts.stale} silent · ${counts.offline} down`;
  document.getElementById("stat-conversations").textContent = String(state.conversations.size);
  const last = state.series.slice(-10);
  for (const key of ["calls", "events", "beats"]) {
    const rate = last.length ? last.reduce((sum, x) => sum + x[key], 0) / last.length : 0;
    document.getElementById(`stat-${key}`).textContent = rate.toFixed(1);
    const values = state.series.slice(-60).map((x) => x[key]);
    const max = Math.max(1, ...values);
    const points = values.map((v, i) => `${(i / Math.max(1, values.length - 1)) * 120},${24 - (v / max) * 22 - 1}`).join(" ");
    document.querySelector(`#spark-${key} polyline`).setAttribute("points", points);
  }
}

// --- graph: the dashboard in the middle, peers on rings around it ---

function renderGraph() {
  const el = document.getElementById("graph");
  const w = el.clientWidth || 400;
  const hgt = el.clientHeight || 300;
  el.setAttribute("viewBox", `0 0 ${w} ${hgt}`);
  const peers = filteredPeers();
  const cx = w / 2;
  const cy = hgt / 2;
  const radius = Math.max(40, Math.min(w, hgt) / 2 - 34);
  const pos = new Map();
  if (state.self) pos.set(state.self.id, [cx, cy]);
  // Rings of at most 24, 48, 96... peers, the outer ring largest.
  let i = 0;
  let ring = 0;
  const rings = [];
  while (i < peers.length) {
    const size = 24 * 2 ** ring;
    rings.push(peers.slice(i, i + size));
    i += size;
    ring++;
  }
  rings.forEach((members, r) => {
    const rr = rings.length === 1 ? radius : radius * (0.45 + (0.55 * (r + 1)) / rings.length);
    members.forEach((p, k) => {
      const a = (2 * Math.PI * k) / members.length - Math.PI / 2 + r * 0.3;
      pos.set(p.id, [cx + rr * Math.cos(a), cy + rr * Math.sin(a)]);
    });
  });
  const nodes = [];
  const t = now();
  for (const e of state.edges) {
    const a = pos.get(e.from);
    const b = pos.get(e.to);
    if (!a || !b) continue;
    const fade = Math.max(0.15, 1 - (t - e.last) / 60);
    nodes.push(svg("line", { class: "edge", x1: a[0], y1: a[1], x2: b[0], y2: b[1], "stroke-width": Math.min(6, 1 + Math.log2(e.count)), "stroke-opacity": fade, "data-edge": `${e.from}>${e.to}` }));
  }
  const labels = peers.length <= 60;
  if (state.self) {
    nodes.push(svg("circle", { class: "node self", cx, cy, r: 9, "data-node": state.self.id }));
    const tx = svg("text", { x: cx, y: cy + 22 });
    tx.textContent = `${state.self.name} (this dashboard)`;
    nodes.push(tx);
  }
  for (const p of peers) {
    const [x, y] = pos.get(p.id);
    const size = p.kind === "bootstrap" ? 9 : 7;
    const attrs = { class: `node ${p.status}`, "data-node": p.id, "data-status": p.status };
    const shape = p.kind === "bootstrap" ? svg("rect", { ...attrs, x: x - size, y: y - size, width: 2 * size, height: 2 * size, rx: 2 }) : svg("circle", { ...attrs, cx: x, cy: y, r: size });
    shape.addEventListener("click", () => selectPeer(p.id));
    const title = svg("title");
    title.textContent = `${p.name} · ${p.status} · ${p.role || p.kind}`;
    shape.append(title);
    nodes.push(shape);
    if (labels) {
      const name = svg("text", { x, y: y - size - 5 });
      name.textContent = p.name;
      nodes.push(name);
      if (p.role) {
        const role = svg("text", { x, y: y + size + 12, class: "role" });
        role.textContent = p.role;
        nodes.push(role);
      }
    }
  }
  el.replaceChildren(...nodes);
}

// --- the drawer: a peer's card, or a conversation's thread ---

let cardRequest = 0;

function selectPeer(id) {
  state.selectedPeer = id;
  state.selectedConversation = null;
  state.card = null;
  state.artifact = null;
  const mine = ++cardRequest;
  fetch(`/api/peers/${encodeURIComponent(id)}/card`)
    .then((r) => r.json())
    .then((card) => {
      if (mine !== cardRequest) return;
      state.card = card;
      invalidate("drawer");
    })
    .catch((error) => {
      if (mine !== cardRequest) return;
      state.card = { errors: { card: String(error) } };
      invalidate("drawer");
    });
  invalidate("drawer", "peers", "timeline");
}

function selectConversation(id) {
  state.selectedConversation = id;
  state.selectedPeer = null;
  state.thread = null;
  loadThread(id);
  invalidate("drawer", "peers", "timeline");
}

function loadThread(id) {
  fetch(`/api/conversations/${encodeURIComponent(id)}`)
    .then((r) => (r.ok ? r.json() : null))
    .then((thread) => {
      if (state.selectedConversation !== id) return;
      state.thread = thread;
      invalidate("drawer");
    })
    .catch(() => {});
}

function closeDrawer() {
  state.selectedPeer = null;
  state.selectedConversation = null;
  invalidate("drawer", "peers", "timeline");
}

function kv(pairs) {
  const dl = h("dl", { class: "kv" });
  for (const [k, v] of pairs) dl.append(h("dt", null, k), h("dd", null, v === null || v === undefined || v === "" ? "–" : String(v)));
  return dl;
}

// The open artifact lives in the state, so that redrawing the card (its peer changed) keeps it.
function showArtifact(peerId, name) {
  state.artifact = { peerId, name, data: null, error: null };
  invalidate("drawer");
  fetch(`/api/peers/${encodeURIComponent(peerId)}/artifacts/${encodeURIComponent(name)}`)
    .then((r) => r.json())
    .then((a) => {
      if (!state.artifact || state.artifact.peerId !== peerId || state.artifact.name !== name) return;
      if (a && a.error) state.artifact.error = a.error;
      else state.artifact.data = a;
      invalidate("drawer");
    })
    .catch((error) => {
      if (state.artifact && state.artifact.name === name) state.artifact.error = String(error);
      invalidate("drawer");
    });
}

// What the server's check of an artifact found (docs/security.md): signed, unsigned, or tampered with.
function signatureText(sig) {
  if (!sig) return "–";
  if (sig.status === "signed") return `signed by ${String(sig.signer).slice(0, 8)}`;
  if (sig.status === "unsigned") return "unsigned";
  return `TAMPERED: ${sig.reason}`;
}

function artifactView() {
  const view = h("div", { class: "artifact-view" });
  const open = state.artifact;
  if (!open || open.peerId !== state.selectedPeer) return view;
  if (open.error) view.append(h("p", { class: "muted" }, `${open.name}: ${open.error}`));
  else if (!open.data) view.append(h("p", { class: "muted" }, `loading ${open.name}…`));
  else {
    const a = open.data;
    const content = a.encoding === "json" ? JSON.stringify(a.content, null, 2) : String(a.content);
    view.append(kv([["name", a.name], ["type", a.mime_type], ["kind", a.kind], ["size", `${a.size} bytes`], ["sha256", a.sha256], ["signature", signatureText(a.signature)]]), h("pre", { class: "artifact-content", "data-artifact": a.name }, content));
  }
  return view;
}

function renderDrawer() {
  const drawer = document.getElementById("drawer");
  const title = document.getElementById("drawer-title");
  const body = document.getElementById("drawer-body");
  if (state.selectedPeer) {
    const p = state.peers.get(state.selectedPeer);
    drawer.hidden = false;
    drawer.dataset.view = "peer";
    title.textContent = p ? `${p.name} · agent card` : "peer";
    const parts = [];
    if (p) parts.push(kv([["id", p.id], ["status", p.status], ["address", `${p.address}:${p.port}`], ["kind", p.kind], ["role", p.role], ["swarm / team", `${p.swarm ?? "–"} / ${p.team ?? "–"}`], ["implementation", `${implText(p)}${p.version ? ` (${p.version})` : ""}`], ["last seen", ago(p.lastSeen)], ["description", p.description]]));
    const card = state.card;
    const cardEl = h("div", { id: "card" });
    if (!card) cardEl.append(h("p", { class: "muted" }, "asking the peer for its card…"));
    else {
      cardEl.dataset.loaded = "true";
      const caps = Array.isArray(card.capabilities) ? card.capabilities : [];
      cardEl.append(h("h3", null, `Capabilities (${caps.length})`));
      const ul = h("ul", { class: "plain capabilities" });
      for (const c of caps) ul.append(h("li", null, h("strong", null, c.name), c.description ? ` — ${c.description}` : ""));
      if (caps.length) cardEl.append(ul);
      const arts = Array.isArray(card.artifacts) ? card.artifacts : [];
      cardEl.append(h("h3", null, `Artifacts (${arts.length})`));
      const list = h("ul", { class: "plain artifacts" });
      for (const a of arts) list.append(h("li", null, h("button", { type: "button", "data-artifact-name": a.name, onclick: () => showArtifact(state.selectedPeer, a.name) }, a.name), ` ${a.mime_type} · ${a.size} bytes${a.description ? ` · ${a.description}` : ""}`));
      if (arts.length) cardEl.append(list, artifactView());
      cardEl.append(h("h3", null, "Card (_synapse.info)"), h("pre", null, JSON.stringify(card.info, null, 2)));
      for (const [part, why] of Object.entries(card.errors || {})) cardEl.append(h("p", { class: "muted" }, `${part}: ${why}`));
    }
    if (p && p.metrics) parts.push(h("h3", null, "Metrics"), h("pre", null, JSON.stringify(p.metrics, null, 2)));
    body.replaceChildren(...parts, cardEl);
  } else if (state.selectedConversation) {
    const c = state.conversations.get(state.selectedConversation);
    drawer.hidden = false;
    drawer.dataset.view = "conversation";
    title.textContent = c ? `${convKind(c)} · ${c.title}` : "conversation";
    const parts = [];
    if (c) parts.push(kv([["id", c.id], ["endpoint", c.endpoint], ["from", c.origin ? `${c.origin.name} ${short(c.origin.id)}` : "?"], ["started", clock(c.startedAt)], ["events", `${c.size}${c.dropped ? ` (${c.dropped} older not kept)` : ""}`]]));
    const thread = state.thread;
    const ol = h("ol", { class: "thread", id: "thread" });
    for (const e of thread ? thread.events : []) {
      const text = e.kind === "message" ? brief(e.payload.args && e.payload.args.length ? e.payload.args : e.payload.kwargs) : e.kind === "reply" ? brief(e.payload.result) : e.kind === "error" && e.payload.error ? String(e.payload.error) : Object.keys(e.payload).length ? brief(e.payload) : "";
      ol.append(h("li", { "data-kind": e.kind, "data-peer": e.peer.name }, h("div", { class: "meta" }, `${clock(e.created_at)} · ${e.kind.toUpperCase()} · ${e.peer.name} ${short(e.peer.id)}`), text ? h("div", { class: "payload" }, text) : null));
    }
    if (!thread) ol.append(h("li", null, "loading…"));
    body.replaceChildren(...parts, ol);
  } else {
    drawer.hidden = true;
    delete drawer.dataset.view;
  }
}

// --- the socket: a snapshot, then changes; reconnects with a backoff ---

let retry = 0;
let threadTimer = 0;

function setConn(stateName, text) {
  const el = document.getElementById("conn");
  el.dataset.state = stateName;
  el.textContent = text;
}

function applySnapshot(m) {
  state.self = m.self;
  state.peers = new Map(m.peers.map((p) => [p.id, p]));
  state.conversations = new Map(m.conversations.map((c) => [c.id, c]));
  state.series = m.series;
  state.edges = m.edges;
  if (state.selectedConversation) loadThread(state.selectedConversation);
  invalidate("header", "peers", "graph", "timeline", "drawer");
}

function applyChange(c) {
  switch (c.type) {
    case "peer":
      state.peers.set(c.peer.id, c.peer);
      invalidate("header", "peers", "graph");
      if (state.selectedPeer === c.peer.id) invalidate("drawer");
      break;
    case "peer.removed":
      state.peers.delete(c.id);
      invalidate("header", "peers", "graph");
      break;
    case "conversation":
      state.conversations.set(c.conversation.id, c.conversation);
      if (state.conversations.size > MAX_CONVERSATIONS) state.conversations.delete(state.conversations.keys().next().value);
      invalidate("header", "timeline");
      if (state.selectedConversation === c.conversation.id && !threadTimer) {
        // Several events of the open thread in a burst: one fetch for them.
        threadTimer = setTimeout(() => {
          threadTimer = 0;
          if (state.selectedConversation) loadThread(state.selectedConversation);
        }, 150);
      }
      break;
    case "conversation.removed":
      state.conversations.delete(c.id);
      invalidate("header", "timeline");
      break;
    case "tick":
      state.series.push(c.sample);
      if (state.series.length > 120) state.series.splice(0, state.series.length - 120);
      state.edges = c.edges;
      invalidate("header", "graph", "peers");
      break;
  }
}

function connect() {
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
  ws.onopen = () => {
    retry = 0;
    state.connected = true;
    setConn("live", "live");
  };
  ws.onmessage = (msg) => {
    let m;
    try {
      m = JSON.parse(msg.data);
    } catch {
      return;
    }
    if (m.type === "snapshot") applySnapshot(m);
    else if (m.type === "changes") for (const c of m.changes) applyChange(c);
  };
  ws.onclose = () => {
    state.connected = false;
    const delay = Math.min(5000, 250 * 2 ** retry++);
    setConn("reconnecting", `reconnecting in ${Math.round(delay / 100) / 10}s…`);
    setTimeout(connect, delay);
  };
}

// --- wiring ---

document.getElementById("drawer-close").addEventListener("click", closeDrawer);
document.addEventListener("keydown", (e) => {
  if (e.key === "Escape") closeDrawer();
});
document.getElementById("peer-filter").addEventListener("input", (e) => {
  state.peerFilter = e.target.value;
  invalidate("peers", "graph");
});
document.getElementById("conv-filter").addEventListener("input", (e) => {
  state.convFilter = e.target.value;
  invalidate("timeline");
});
new ResizeObserver(() => invalidate("graph")).observe(document.getElementById("graph"));
connect();
