/**
 * `sn watch`: join a swarm as an observer node and print one line per event as it happens, until
 * SIGINT/SIGTERM or `--duration` seconds.
 *
 * What an observer sees: peers joining and going offline; conversation events gossiped to it (ACKs,
 * replies, errors, custom kinds); and the broadcasts themselves. A broadcast call reaches the
 * observer directly only when it serves that endpoint (built-ins such as `synapse.ask`), so for a
 * conversation it first learns of through an ACK, reply or other event it fetches the opening
 * message from that event's author (`node.syncConversation`): such a `broadcast.received` line can
 * come after the event that revealed it.
 *
 * @module
 */
import { defineCommand } from "citty";
import type { BroadcastReply, ConversationEvent, Node, Peer } from "../index.ts";
import { seconds } from "./args.ts";
import { EVENT_WIDTH, Printer, brief, callText, clock, conversationTag, peerLabel, resultText } from "./output.ts";
import { joinSwarm, optionalSeconds, swarmArgs, untilStopped } from "./swarm.ts";

function now(): number {
  return Date.now() / 1000;
}

/** `sn watch --swarm S [--team T] [--seed addr ...] [--mdns] [--duration s]` */
export const watch = defineCommand({
  meta: {
    name: "watch",
    description: "Print a swarm's events as they happen: joins, broadcasts, ACKs, replies (until Ctrl-C or --duration)",
  },
  args: {
    ...swarmArgs,
    duration: { type: "string", description: "Stop after this many seconds (default: run until a signal)", valueHint: "seconds" },
    heartbeat: { type: "string", description: "Seconds between heartbeats to peers", default: "5", valueHint: "seconds" },
    "peer-timeout": { type: "string", description: "Seconds of silence before a peer is reported offline", default: "20", valueHint: "seconds" },
  },
  async run({ args, rawArgs }) {
    const out = new Printer(args.json);
    const duration = optionalSeconds(args.duration, "duration");
    const heartbeatInterval = seconds(args.heartbeat, "heartbeat", 5, 0.01);
    const peerTimeout = seconds(args["peer-timeout"], "peer-timeout", 20, 0.01);
    let count = 0;
    /** Until the node has joined, lines wait here, so that the banner comes first. */
    let held: Array<() => void> | null = [];
    const show = (print: () => void) => {
      count++;
      if (held) held.push(print);
      else print();
    };

    const line = (event: string, who: Pick<Peer, "name" | "id">, rest: string) => {
      const text = `${clock()}  ${event.padEnd(EVENT_WIDTH)} ${peerLabel(who)}  ${rest}`.trimEnd();
      show(() => out.line(text));
    };
    const record = (event: string, fields: Record<string, unknown>) => {
      const value = { event, time: now(), ...fields };
      show(() => out.record(value));
    };

    /** Conversations this observer knows of; for the others it fetches the opening message. */
    const seen = new Set<string>();
    let observer: Node | null = null;
    const catchUp = (conversationId: string, author: Peer) => {
      if (seen.has(conversationId)) return;
      seen.add(conversationId);
      // A failed fetch only means the opening line is missing; the events themselves are shown.
      observer?.syncConversation(author, conversationId).catch((error) => {
        if (!out.json) out.warn(`warning: could not fetch conversation ${conversationId} from ${author.name}: ${error instanceof Error ? error.message : String(error)}`);
      });
    };

    const onPeer = (event: "peer.joined" | "peer.offline") => (peer: Peer) => {
      if (out.json) record(event, { peer });
      else line(event, peer, `${peer.address}:${peer.port}  ${peer.kind}`);
    };
    const onEvent = (event: ConversationEvent) => {
      if (event.kind === "message" && event.event_id === event.conversation_id) {
        seen.add(event.conversation_id);
        const { endpoint, args: callArgs, kwargs } = event.payload as { endpoint?: unknown; args?: unknown; kwargs?: unknown };
        const name = typeof endpoint === "string" ? endpoint : "?";
        const positional = Array.isArray(callArgs) ? callArgs : [];
        const keywords = kwargs !== null && typeof kwargs === "object" ? (kwargs as Record<string, unknown>) : {};
        if (out.json) record("broadcast.received", { nonce: event.conversation_id, origin: event.peer, endpoint: name, args: positional, kwargs: keywords, created_at: event.created_at });
        else line("broadcast.received", event.peer, `${callText(name, positional, keywords)}  ${conversationTag(event.conversation_id)}`);
        return;
      }
      catchUp(event.conversation_id, event.peer);
      if (event.kind === "reply") return; // shown as broadcast.reply
      const name = `conversation.${event.kind}`;
      if (out.json) record(name, { ...event });
      else {
        const payload = Object.keys(event.payload).length === 0 ? "" : `${brief(event.payload, 200)}  `;
        line(name, event.peer, `${payload}${conversationTag(event.conversation_id)}`);
      }
    };
    const onReply = (reply: BroadcastReply) => {
      if (out.json) record("broadcast.reply", { nonce: reply.nonce, peer: reply.peer, result: reply.result });
      else line("broadcast.reply", reply.peer, `${resultText(reply.result)}  ${conversationTag(reply.nonce)}`);
    };

    const node = await joinSwarm({
      command: "watch",
      flags: args,
      rawArgs,
      out,
      node: { heartbeatInterval, peerTimeout },
      subscribe(n) {
        n.on("peer.joined", onPeer("peer.joined"));
        n.on("peer.offline", onPeer("peer.offline"));
        n.on("conversation.event", onEvent);
        n.on("broadcast.reply", onReply);
      },
    });
    observer = node;
    // Joined: the seeds know this node now. The banner, then what happened meanwhile.
    const peers = node.peers.size;
    if (out.json) out.record({ event: "watch.started", time: now(), node: { id: node.id, name: node.name, address: node.address, port: node.port }, swarm: node.swarm, team: node.team, peers });
    else out.line(`watching swarm ${node.swarm} (team ${node.team ?? "-"}) as ${node.name} ${node.id.slice(0, 8)} on ${node.address}:${node.port}, ${peers} peer(s) known; ${duration === null ? "Ctrl-C to stop" : `for ${duration}s`}`);
    for (const print of held ?? []) print();
    held = null;
    const why = await untilStopped(duration);
    await node.stop();
    if (out.json) out.record({ event: "watch.stopped", time: now(), reason: why, events: count });
    else out.line(`stopped (${why === "duration" ? `after ${duration}s` : why}), ${count} event(s)`);
  },
});
