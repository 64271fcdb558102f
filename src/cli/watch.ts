/**
 * `sn watch SWARM`: join a swarm as an observer node and show what happens, until q / Ctrl+C,
 * SIGTERM or `--duration` seconds. On a terminal: the live full-screen view (`watch-screen.ts`);
 * otherwise, or with `--json`, one line (or one JSON object) per event.
 *
 * What an observer sees: peers joining, beating and going offline; conversation events gossiped
 * to it (ACKs, replies, errors, custom kinds); and the broadcasts themselves. It serves
 * `synapse.message` (what `sn broadcast` sends: shown, then answered `{received_by: NAME}` as the
 * Python watcher does). A broadcast that reaches the observer is recorded whether or not it serves
 * the endpoint; for a conversation it first learns of through an ACK, reply or other event (it
 * joined later, or the broadcast did not reach it) it fetches the opening message from that
 * event's author (`node.syncConversation`) and holds the conversation's lines until then, so
 * they come out in the order things happened.
 *
 * @module
 */
import { Client, type BroadcastReply, type CallContext, type ConversationEvent, type Node, type Peer } from "../index.ts";
import { optionalSeconds, seconds } from "./args.ts";
import { colourEnabled, painter } from "./color.ts";
import { EVENT_WIDTH, Printer, brief, callText, clock, conversationTag, peerLabel, resultText, who } from "./output.ts";
import { booleanFlag, stringFlag, type Parsed } from "./parse.ts";
import type { Io } from "./command.ts";
import { joinSwarm, untilStopped } from "./swarm.ts";
import { WatchModel } from "./watch-model.ts";
import { Screen, processTerminal, renderScreen } from "./watch-screen.ts";
import { errorMessage } from "../util/guards.ts";

function now(): number {
  return Date.now() / 1000;
}

/** What a broadcast's opening message says, for the event log. */
function opening(event: ConversationEvent): { endpoint: string; args: unknown[]; kwargs: Record<string, unknown> } {
  const { endpoint, args, kwargs } = event.payload as { endpoint?: unknown; args?: unknown; kwargs?: unknown };
  return {
    endpoint: typeof endpoint === "string" ? endpoint : "?",
    args: Array.isArray(args) ? args : [],
    kwargs: kwargs !== null && typeof kwargs === "object" ? (kwargs as Record<string, unknown>) : {},
  };
}

/** Run `sn watch`. */
export async function run(parsed: Parsed, io: Io): Promise<number> {
  const out = new Printer(booleanFlag(parsed, "json"), io.stdout, io.stderr);
  const live = !out.json && process.stdout.isTTY === true;
  const duration = optionalSeconds(stringFlag(parsed, "duration"), "duration");
  const heartbeatInterval = seconds(stringFlag(parsed, "heartbeat"), "heartbeat", 2, 0.01);
  const peerTimeout = seconds(stringFlag(parsed, "peer-timeout"), "peer-timeout", 6, 0.01);
  const interval = seconds(stringFlag(parsed, "interval"), "interval", 0.5, 0.05);
  const showHeartbeats = booleanFlag(parsed, "show-heartbeats");
  const model = new WatchModel({ heartbeat: heartbeatInterval });
  let count = 0;
  let screen: Screen | null = null;

  /** Until the node has joined, lines wait here, so that the banner comes first. */
  let held: Array<() => void> | null = [];
  const show = (print: () => void) => {
    count++;
    if (held) held.push(print);
    else print();
  };
  /** One event: into the live view, or as a line / a JSON record. */
  const emit = (kind: string, peer: Pick<Peer, "name" | "id">, text: string, tag: string, record: () => Record<string, unknown>, lineEvent: string, lineRest: string) => {
    if (live) {
      count++;
      model.log({ time: now(), kind, who: who(peer), text, tag });
      screen?.redraw();
    } else if (out.json) {
      const value = { event: lineEvent, time: now(), ...record() };
      show(() => out.record(value));
    } else {
      const line = `${clock()}  ${lineEvent.padEnd(EVENT_WIDTH)} ${peerLabel(peer)}  ${lineRest}`.trimEnd();
      show(() => out.line(line));
    }
  };

  /** Conversations this observer knows of; for the others it fetches the opening message. */
  const seen = new Set<string>();
  /**
   * Lines of conversations whose opening message is being fetched: they wait for it, so that the
   * view shows what happened in the order it happened (the broadcast before the reply that
   * revealed it), then go out sorted by event time.
   */
  const waiting = new Map<string, Array<{ at: number; show: () => void }>>();
  let observer: Node | null = null;
  const catchUp = (conversationId: string, author: Peer) => {
    if (seen.has(conversationId) || !observer) return;
    seen.add(conversationId);
    waiting.set(conversationId, []);
    observer
      .syncConversation(author, conversationId)
      // A failed fetch only means the opening line is missing; the events themselves are shown.
      .catch((error) => {
        if (!out.json && !live) out.warn(`warning: could not fetch conversation ${conversationId} from ${author.name}: ${errorMessage(error)}`);
      })
      .finally(() => {
        const lines = waiting.get(conversationId) ?? [];
        waiting.delete(conversationId);
        for (const line of lines.sort((a, b) => a.at - b.at)) line.show();
      });
  };
  /** Show now, or after the opening message when it is being fetched. */
  const inOrder = (conversationId: string, at: number, show: () => void) => {
    const lines = waiting.get(conversationId);
    if (lines) lines.push({ at, show });
    else show();
  };
  /** When each reply was made (its event's time), for ordering the reply lines. */
  const replyTimes = new Map<string, number>();
  /** The peer's role, for the table (`_synapse.info`; a peer that does not answer shows "-"). */
  const fetchRole = (peer: Peer) => {
    if (!live) return;
    new Client(peer.address, peer.port, { timeout: 2 })
      .info()
      .then((info) => {
        model.setRole(peer.id, info.role || null); // Python nodes (and this one) send "" for no role
        screen?.redraw();
      })
      .catch(() => {});
  };

  const onJoined = (peer: Peer) => {
    model.joined(peer, now());
    fetchRole(peer);
    emit("JOINED", peer, `${peer.address}:${peer.port}  ${peer.kind}`, "", () => ({ peer }), "peer.joined", `${peer.address}:${peer.port}  ${peer.kind}`);
  };
  const onHeartbeat = (peer: Peer) => {
    model.seen(peer, now());
    if (showHeartbeats) emit("BEAT", peer, "", "", () => ({ peer }), "peer.heartbeat", "");
  };
  const onOffline = (peer: Peer) => {
    model.offline(peer, now());
    emit("OFFLINE", peer, `${peer.address}:${peer.port}`, "", () => ({ peer }), "peer.offline", `${peer.address}:${peer.port}  ${peer.kind}`);
  };
  const onEvent = (event: ConversationEvent) => {
    const tag = conversationTag(event.conversation_id);
    if (event.kind === "message" && event.event_id === event.conversation_id) {
      seen.add(event.conversation_id);
      const call = opening(event);
      const base = { nonce: event.conversation_id, origin: event.peer, endpoint: call.endpoint, args: call.args, kwargs: call.kwargs, created_at: event.created_at };
      if (call.endpoint === "synapse.message") {
        const text = resultText(call.args[0] ?? call.kwargs.message ?? "");
        emit("MESSAGE", event.peer, text, tag, () => ({ ...base, message: call.args[0] ?? call.kwargs.message ?? null }), "message", `${text}  ${tag}`);
      } else if (call.endpoint === "synapse.ask") {
        const text = resultText(call.args[0] ?? call.kwargs.task ?? "");
        emit("ASK", event.peer, text, tag, () => base, "broadcast.received", `${callText(call.endpoint, call.args, call.kwargs)}  ${tag}`);
      } else {
        const text = callText(call.endpoint, call.args, call.kwargs);
        emit("CALL", event.peer, text, tag, () => base, "broadcast.received", `${text}  ${tag}`);
      }
      return;
    }
    catchUp(event.conversation_id, event.peer);
    if (event.kind === "reply") {
      // Shown as broadcast.reply, which follows at once; remember when it was made.
      replyTimes.set(`${event.parent_id ?? event.conversation_id}\0${event.peer.id}`, event.created_at);
      return;
    }
    const payload = Object.keys(event.payload).length === 0 ? "" : brief(event.payload, 200);
    const text = event.kind === "error" && typeof event.payload.error === "string" ? event.payload.error : payload;
    inOrder(event.conversation_id, event.created_at, () =>
      emit(event.kind.toUpperCase(), event.peer, text, tag, () => ({ ...event }), `conversation.${event.kind}`, `${payload ? `${payload}  ` : ""}${tag}`),
    );
  };
  const onReply = (reply: BroadcastReply) => {
    const text = resultText(reply.result);
    const key = `${reply.nonce}\0${reply.peer.id}`;
    const at = replyTimes.get(key) ?? now();
    replyTimes.delete(key);
    inOrder(reply.nonce, at, () =>
      emit("REPLY", reply.peer, text, conversationTag(reply.nonce), () => ({ nonce: reply.nonce, peer: reply.peer, result: reply.result }), "broadcast.reply", `${text}  ${conversationTag(reply.nonce)}`),
    );
  };

  const node = await joinSwarm({
    parsed,
    defaults: { name: "watcher", role: "observer", capabilities: ["watch"] },
    out,
    // Mesh: an observer shows how recently each peer was heard from, so it heartbeats every one.
    node: { heartbeatInterval, peerTimeout, membership: "mesh" },
    setup(n) {
      n.on("peer.joined", onJoined);
      n.on("peer.heartbeat", onHeartbeat);
      n.on("peer.offline", onOffline);
      n.on("conversation.event", onEvent);
      n.on("broadcast.reply", onReply);
      // What `sn broadcast` calls: shown through the opening message (above), then answered.
      n.endpoint("synapse.message", { description: "Show a message in the watcher" }, async (message: unknown, ctx: CallContext) => {
        if (ctx.broadcast) await n.reply(ctx.broadcast, { received_by: n.name });
        return { ok: "true" };
      });
    },
  });
  observer = node;
  const stop = new AbortController();
  try {
    if (live) {
      const terminal = processTerminal();
      const header = { swarm: node.swarm ?? "-", team: node.team ?? "-", name: node.name, id: node.id, address: `${node.address}:${node.port}` };
      const paint = painter(colourEnabled());
      const capabilities = booleanFlag(parsed, "capabilities", true);
      screen = new Screen(terminal, (width, height) => renderScreen(model, { width, height, now: now(), header, capabilities, paint }), interval);
      screen.enter(() => stop.abort());
    } else {
      // Joined: the seeds know this node now. The banner, then what happened meanwhile.
      const peers = node.peers.size;
      if (out.json) out.record({ event: "watch.started", time: now(), node: { id: node.id, name: node.name, address: node.address, port: node.port }, swarm: node.swarm, team: node.team, peers });
      else out.line(`watching swarm ${node.swarm} (team ${node.team ?? "-"}) as ${node.name} ${node.id.slice(0, 8)} on ${node.address}:${node.port}, ${peers} peer(s) known; ${duration === null ? "Ctrl-C to stop" : `for ${duration}s`}`);
      for (const print of held ?? []) print();
    }
    held = null;
    const why = await untilStopped(duration, stop.signal);
    screen?.leave();
    await node.stop();
    if (out.json) out.record({ event: "watch.stopped", time: now(), reason: why === "aborted" ? "quit" : why, events: count });
    else out.line(`stopped (${why === "duration" ? `after ${duration}s` : why === "aborted" ? "quit" : why}), ${count} event(s)`);
  } finally {
    screen?.leave();
    if (node.running) await node.stop();
  }
  return 0;
}
