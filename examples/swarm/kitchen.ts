/**
 * A kitchen swarm in one process: a head chef and three cooks.
 *
 * The head chef is the seed: the cooks know its address and nothing else. They join through it,
 * learn about each other, and heartbeat one another from then on. The head chef asks the whole
 * kitchen who can make soup; cooks that can wade in (ACK) and answer (reply), the others stay
 * silent. A cook claims the job with a custom conversation event that every node sees. Then one
 * cook goes home, and the others notice when its heartbeats stop.
 *
 *     bun examples/swarm/kitchen.ts
 *
 * Everything listens on loopback (127.0.0.1) on free ports, and the program stops by itself
 * after a few seconds.
 */

import { Node, kw, type CallContext } from "../../src/index.ts";
import { byName, names, say, until, watchdog } from "../_shared/narrate.ts";

// Every node of the kitchen shares these options. A short heartbeat interval and peer timeout
// (seconds) make the "who has gone home" part quick; the defaults are 5 and 20.
const kitchen = {
  swarm: "kitchen",
  bind: "127.0.0.1",
  port: 0,
  heartbeatInterval: 0.5,
  peerTimeout: 2,
};

// No step below waits forever: a step that does not complete in time ends the program with
// status 1. This watchdog catches anything else that could hang.
const disarm = watchdog("kitchen", 15);

// 1. The head chef is the seed. A seed is only a first contact: any node can be one.
const chef = new Node({ ...kitchen, name: "head-chef", role: "runs the pass", capabilities: ["menu"] });
await chef.start();
say(`head-chef is the seed, listening on 127.0.0.1:${chef.port}`);

// 2. Three cooks with different capabilities. Capabilities travel in every peer record, so each
//    node knows what the others can do without asking.
const seed = `127.0.0.1:${chef.port}`;
const cooks = [
  new Node({ ...kitchen, name: "ana", capabilities: ["soup", "salad"], seeds: [seed] }),
  new Node({ ...kitchen, name: "ben", capabilities: ["soup", "grill"], seeds: [seed] }),
  new Node({ ...kitchen, name: "cy", capabilities: ["pastry"], seeds: [seed] }),
];
const everyone = [chef, ...cooks];

// Each cook answers `kitchen.who_can(dish)`. It runs as part of the head chef's broadcast, so the
// context carries the broadcast (ctx.broadcast). A cook that can make the dish ACKs ("I saw this
// and wade in") and replies a moment later, after a look at its station. A reply is a separate
// call that reaches the origin and every other node. A cook that cannot stays silent: it returns
// nothing and sends neither ACK nor reply.
const minutes: Record<string, number> = { ana: 20, ben: 25 };
for (const cook of cooks) {
  cook.endpoint("kitchen.who_can", { description: "Can you make this dish?" }, async (dish: string, ctx: CallContext) => {
    if (!ctx.broadcast || !cook.capabilityNames().includes(dish)) return null;
    const broadcast = ctx.broadcast;
    await cook.ack(broadcast);
    setTimeout(() => void cook.reply(broadcast, `${cook.name} can make ${dish} in ${minutes[cook.name]} minutes`), 50);
    return "checking my station";
  });
}

// join() starts the node, calls _synapse.join on the seed, adds the seed and every peer the seed
// knows, and announces itself to them with a heartbeat.
for (const cook of cooks) {
  const peers = await cook.join();
  say(`${cook.name} joined through the seed and was told about: ${names(peers)}`);
}

// Every node should now know the three others (the announcements may still be landing).
await until("kitchen", () => everyone.every((node) => node.peers.size === 3), 3, "every node knowing the three others");
say("who knows whom:");
for (const node of everyone) {
  const known = [...node.peers.values()].sort(byName).map((p) => `${p.name} (${p.capabilities.join(", ")})`);
  console.log(`    ${node.name.padEnd(10)} knows ${known.join(", ")}`);
}

// 3. The head chef asks the whole kitchen. Listeners go on before the broadcast: ACKs arrive
//    before broadcast() resolves, replies may arrive at any time after.
chef.on("conversation.ack", (event) => say(`head-chef got an ACK from ${event.peer.name}`));
chef.on("broadcast.reply", (reply) => say(`head-chef got a reply from ${reply.peer.name}: ${reply.result}`));

// Nothing assigns who answers. The peer records tell the head chef whom to expect, so it knows
// when to stop waiting; a real chef would also stop after a deadline, as here.
const expected = [...chef.peers.values()].filter((p) => p.capabilities.includes("soup")).map((p) => p.name).sort();
say(`head-chef broadcasts kitchen.who_can("soup"), expecting answers from ${expected.join(" and ")}`);
const question = await chef.broadcast("kitchen.who_can", kw({ dish: "soup" }));
say(`broadcast() resolved: every cook has answered the call (conversation ${question.nonce})`);

await until("kitchen", async () => (await chef.replies(question)).length >= expected.length, 3, "the soup replies");
const replies = (await chef.replies(question)).sort((a, b) => a.peer.name.localeCompare(b.peer.name));
say(`replies to kitchen.who_can("soup"): ${replies.map((r) => r.peer.name).join(", ")}`);
const silent = cooks.filter((cook) => !replies.some((r) => r.peer.id === cook.id)).map((cook) => cook.name);
say(`stayed silent: ${silent.join(", ")}`);

// 4. ana claims the soup with an event of a custom kind in the same conversation. It is stored and
//    sent to every peer, who relay it once more (duplicates are dropped by event id), so every
//    node sees it, ana included, through `conversation.task.claim`.
const saw = new Set<string>();
for (const node of everyone) {
  node.on("conversation.task.claim", (event) => {
    saw.add(node.name);
    say(`${node.name} saw ${event.peer.name} claim ${event.payload.dish} (${event.payload.portions} portions)`);
  });
}
const ana = cooks[0]!;
await ana.emitConversationEvent(question, "task.claim", { dish: "soup", portions: 12 });
await until("kitchen", () => saw.size === everyone.length, 3, "every node seeing the claim");
const kinds = (await chef.conversation(question)).map((event) => event.kind);
say(`the conversation at head-chef: ${kinds.join(", ")}`);

// 5. cy goes home. There is no goodbye on the wire: the others drop cy once they have not heard
//    from it for peerTimeout seconds, and `peer.offline` fires once on each of them.
const cy = cooks[2]!;
const noticed = new Set<string>();
for (const node of everyone) {
  if (node === cy) continue;
  node.on("peer.offline", (peer) => {
    if (peer.id !== cy.id) return;
    noticed.add(node.name);
    say(`${node.name}: peer.offline ${peer.name}`);
  });
}
say("cy stops and goes home");
await cy.stop();
await until("kitchen", () => noticed.size === everyone.length - 1, 6, "the others noticing that cy left");

// 6. Close the kitchen. stop() closes each node's listener and connections and cancels its
//    heartbeats, so nothing is left to keep the process alive.
await Promise.all(everyone.map((node) => node.stop()));
disarm();
say("kitchen closed");
