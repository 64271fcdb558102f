/**
 * The dashboard in a real browser (Chromium through playwright-core): a few nodes on loopback, a
 * dashboard observing them, the page opened and read as an operator would. Checks that a peer
 * appears, goes offline and is marked; that a broadcast with its ACKs and replies is one thread;
 * that an agent card and an artifact open; that the page reconnects after the dashboard restarts.
 * Screenshots of the main views go to .tmp/dashboard/.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { Page } from "playwright-core";
import type { Node } from "../../src/index.ts";
import { SCREENSHOTS, findChromium, launchBrowser } from "./browser.ts";
import { startDashboard, type RunningDashboard } from "./fixture.ts";
import { startNode, stopAll } from "../helpers/net.ts";

const chromiumPath = findChromium();
if (!chromiumPath) console.warn("dashboard browser tests skipped: no Chromium (install Debian's `chromium` package, or set CHROMIUM_PATH)");

const SWARM = "dash-browser";
const WAIT = 15_000;
let browser: Awaited<ReturnType<typeof launchBrowser>> | null = null;
const dashboards: RunningDashboard[] = [];

beforeAll(async () => {
  if (chromiumPath) browser = await launchBrowser(chromiumPath);
}, 60_000);

afterEach(async () => {
  for (const page of browser?.context.pages() ?? []) await page.close();
  for (const d of dashboards.splice(0)) await d.stop();
  await stopAll();
});

afterAll(async () => {
  await browser?.close();
});

/** A worker of the swarm that ACKs and answers asks, with a card and an artifact. */
async function worker(name: string, role: string, seed?: Node): Promise<Node> {
  const node = await startNode({
    name,
    role,
    swarm: SWARM,
    mdns: false,
    heartbeatInterval: 0.3,
    peerTimeout: 1.5,
    capabilities: [{ name: `${role}.work`, description: `does ${role} work` }],
    ...(seed ? { seeds: [`127.0.0.1:${seed.port}`] } : {}),
  });
  node.ask(async (task: string) => `${name} did: ${task}`);
  node.artifact("notes.md", `# ${name}\n\nworking notes`, { description: "what this agent is on" });
  if (seed) await node.join();
  return node;
}

async function openPage(url: string): Promise<Page> {
  const page = await browser!.context.newPage();
  await page.goto(url);
  await page.waitForSelector('#conn[data-state="live"]', { timeout: WAIT });
  return page;
}

function peerRow(page: Page, name: string) {
  return page.locator(".peer-row[data-peer-id]", { has: page.locator(".name", { hasText: new RegExp(`^${name}$`) }) });
}

describe.skipIf(!chromiumPath)("dashboard - in a browser", () => {
  test("a peer appears, goes offline and is marked, in the table and the graph", async () => {
    const hub = await worker("hub", "planner");
    const d = await startDashboard(SWARM, hub);
    dashboards.push(d);
    const page = await openPage(d.url);
    await peerRow(page, "hub").waitFor({ timeout: WAIT });
    const coder = await worker("coder", "coder", hub);
    await peerRow(page, "coder").waitFor({ timeout: WAIT });
    await page.waitForSelector(`#graph [data-node="${coder.id}"]`, { timeout: WAIT });
    // The implementation comes from the observer's hello to the peer, answered after the row is drawn.
    await peerRow(page, "coder").locator(".impl", { hasText: /^Bun$/ }).waitFor({ timeout: WAIT });
    await page.screenshot({ path: join(SCREENSHOTS, "overview.png") });

    await coder.stop();
    await page.waitForSelector(`.peer-row[data-peer-id="${coder.id}"][data-status="offline"]`, { timeout: WAIT });
    await page.waitForSelector(`#graph [data-node="${coder.id}"][data-status="offline"]`, { timeout: WAIT });
    expect(await peerRow(page, "hub").getAttribute("data-status")).not.toBe("offline");
    expect(await page.locator("#stat-peers").textContent()).toContain("1 down");
  }, 45_000);

  test("a broadcast with its ACKs and replies shows as one thread", async () => {
    const hub = await worker("hub", "planner");
    const coder = await worker("coder", "coder", hub);
    const tester = await worker("tester", "tester", hub);
    const d = await startDashboard(SWARM, hub);
    dashboards.push(d);
    const page = await openPage(d.url);
    await page.locator(".peer-row[data-peer-id]").nth(2).waitFor({ timeout: WAIT });

    const sent = await coder.broadcast("synapse.ask", "review the diff");
    await hub.emitConversationEvent(sent, "task.claim", { task: "review", by: "hub" }); // a custom event joins the same thread
    const row = page.locator(`[data-conversation-id="${sent.nonce}"]`);
    await row.waitFor({ timeout: WAIT });
    // hub and tester ACK and reply (the asker does not answer itself)
    await page.waitForSelector(`[data-conversation-id="${sent.nonce}"] [data-count="reply"]:text("2 reply")`, { timeout: WAIT });
    await page.waitForSelector(`[data-conversation-id="${sent.nonce}"] [data-count="ack"]:text("2 ack")`, { timeout: WAIT });
    await page.waitForSelector(`[data-conversation-id="${sent.nonce}"] [data-count="task.claim"]:text("1 task.claim")`, { timeout: WAIT });
    expect(await row.textContent()).toContain("review the diff");

    // A team task: its own conversation, named by the offer, its state on the row.
    await hub.emitConversationEvent("task-7", "task.offer", { task_id: "task-7", title: "write the tests", attempt: 1 });
    await tester.emitConversationEvent("task-7", "task.claim", { task_id: "task-7", attempt: 1 });
    await tester.emitConversationEvent("task-7", "task.done", { task_id: "task-7", result: "12 tests" });
    const task = page.locator('[data-conversation-id="task-7"]');
    await page.waitForSelector('[data-conversation-id="task-7"] [data-task="done"]', { timeout: WAIT });
    expect(await task.locator(".kind").textContent()).toBe("TASK");
    expect(await page.locator("[data-conversation-id]").count()).toBe(2); // the ask's events made no rows of their own
    expect(await task.textContent()).toContain("task: write the tests");
    await page.waitForSelector("#graph .edge", { timeout: WAIT }); // replies drawn as traffic to the asker
    await page.screenshot({ path: join(SCREENSHOTS, "timeline.png") });
    await row.click();
    await page.waitForSelector('#drawer[data-view="conversation"] #thread li[data-kind="reply"] >> nth=1', { timeout: WAIT });
    await page.waitForSelector('#thread li[data-kind="task.claim"]', { timeout: WAIT });
    const kinds = await page.locator("#thread li").evaluateAll((items) => items.map((li) => `${li.getAttribute("data-kind")} ${li.getAttribute("data-peer")}`));
    expect(kinds[0]).toBe("message coder");
    expect(kinds.filter((k) => k.startsWith("ack ")).sort()).toEqual(["ack hub", "ack tester"]);
    expect(kinds.filter((k) => k.startsWith("reply ")).sort()).toEqual(["reply hub", "reply tester"]);
    expect(kinds).toContain("task.claim hub");
    expect(kinds).toHaveLength(6);
    expect(await page.locator("#thread").textContent()).toContain("tester did: review the diff");
    await page.screenshot({ path: join(SCREENSHOTS, "thread.png") });
  }, 45_000);

  test("an agent card opens on click, and an artifact with it", async () => {
    const hub = await worker("hub", "planner");
    await worker("coder", "coder", hub);
    const d = await startDashboard(SWARM, hub);
    dashboards.push(d);
    const page = await openPage(d.url);
    await page.emulateMedia({ colorScheme: "dark" }); // the card in dark mode, for the screenshot
    await peerRow(page, "coder").waitFor({ timeout: WAIT });
    await peerRow(page, "coder").click();
    await page.waitForSelector('#drawer[data-view="peer"] #card[data-loaded="true"]', { timeout: WAIT });
    expect(await page.locator("#drawer-title").textContent()).toBe("coder · agent card");
    expect(await page.locator("#card .capabilities").textContent()).toContain("coder.work — does coder work");
    await page.locator('#card [data-artifact-name="notes.md"]').click();
    await page.waitForSelector('#card pre[data-artifact="notes.md"]', { timeout: WAIT });
    expect(await page.locator('#card pre[data-artifact="notes.md"]').textContent()).toBe("# coder\n\nworking notes");
    // The peer's status changes (fresh for 5 s, then online): the card is redrawn, the artifact stays open.
    const coderId = await peerRow(page, "coder").getAttribute("data-peer-id");
    await page.waitForSelector(`.peer-row[data-peer-id="${coderId}"][data-status="online"]`, { timeout: WAIT });
    expect(await page.locator('#card pre[data-artifact="notes.md"]').textContent()).toBe("# coder\n\nworking notes");
    await page.screenshot({ path: join(SCREENSHOTS, "agent-card-dark.png") });
    await page.keyboard.press("Escape");
    await page.waitForSelector("#drawer", { state: "hidden", timeout: WAIT });
  }, 45_000);

  test("hundreds of peers and thousands of conversations: only the rows in view exist; scrolling reaches the last", async () => {
    const hub = await worker("hub", "planner");
    const d = await startDashboard(SWARM, hub);
    dashboards.push(d);
    // Fed to the model directly: what the observer would file for a large swarm, without 300 nodes.
    const t = Date.now() / 1000;
    for (let i = 0; i < 300; i++) {
      d.model.joined({ id: `peer${String(i).padStart(4, "0")}`.padEnd(64, "0"), name: `agent-${String(i).padStart(3, "0")}`, address: "127.0.0.1", port: 20000 + i, swarm: SWARM, team: "default", kind: i % 50 === 0 ? "bootstrap" : "node", capabilities: ["work"], last_seen: t }, t);
    }
    const author = { id: "f".repeat(64), name: "asker", address: "127.0.0.1", port: 1, swarm: SWARM, team: "default", kind: "node" as const, capabilities: [], last_seen: t };
    for (let i = 0; i < 2000; i++) {
      const id = `conv-${String(i).padStart(5, "0")}`;
      d.model.event({ conversation_id: id, event_id: id, kind: "message", peer: author, payload: { endpoint: "synapse.ask", args: [`task number ${i}`], kwargs: {} }, parent_id: null, created_at: t + i / 1000, metadata: {} }, t);
    }
    const page = await openPage(d.url);
    await page.waitForSelector('#stat-peers:text-matches("^301 up")', { timeout: WAIT }); // (the page's CSP forbids waitForFunction's eval)
    await page.waitForSelector('[data-conversation-id="conv-01999"]', { timeout: WAIT }); // newest first
    expect(await page.locator(".peer-row[data-peer-id]").count()).toBeLessThan(60);
    expect(await page.locator("[data-conversation-id]").count()).toBeLessThan(60);
    await page.locator("#peers").evaluate((el) => el.scrollTo(0, el.scrollHeight));
    await page.waitForSelector('.peer-row:has-text("agent-299")', { timeout: WAIT });
    await page.locator("#timeline").evaluate((el) => el.scrollTo(0, el.scrollHeight));
    await page.waitForSelector('[data-conversation-id="conv-01000"]', { timeout: WAIT }); // the oldest kept: history is bounded to 1000
    expect(await page.locator("#stat-conversations").textContent()).toBe("1000");
    await page.fill("#peer-filter", "agent-12");
    await page.waitForSelector('.peer-row:has-text("agent-129")', { timeout: WAIT });
    const rows = page.locator(".peer-row[data-peer-id] .name");
    for (let i = 0; i < 100 && (await rows.count()) !== 10; i++) await Bun.sleep(100);
    expect((await rows.allTextContents()).sort()).toEqual(Array.from({ length: 10 }, (_, k) => `agent-12${k}`));
    await page.screenshot({ path: join(SCREENSHOTS, "busy.png") });
  }, 45_000);

  test("the page reconnects after the dashboard restarts, and shows what changed meanwhile", async () => {
    const hub = await worker("hub", "planner");
    const d = await startDashboard(SWARM, hub);
    dashboards.push(d);
    const page = await openPage(d.url);
    await peerRow(page, "hub").waitFor({ timeout: WAIT });

    await d.server.stop();
    await page.waitForSelector('#conn[data-state="reconnecting"]', { timeout: WAIT });
    await worker("latecomer", "coder", hub); // joins while the page is cut off
    d.restart();
    await page.waitForSelector('#conn[data-state="live"]', { timeout: WAIT });
    await peerRow(page, "latecomer").waitFor({ timeout: WAIT });
    await peerRow(page, "hub").waitFor({ timeout: WAIT });
  }, 45_000);
});
