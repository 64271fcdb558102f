/**
 * `sn broadcast-call SWARM ENDPOINT [ARGS...]`: join a swarm, broadcast a call of any endpoint,
 * print the nonce, then the ACKs, replies and other events of that conversation as they arrive
 * for `--wait` seconds (or until Ctrl+C), then a summary. (`sn broadcast` and `sn ask`, the
 * original's commands, are in `ask.ts`.)
 *
 * @module
 */
import { ErrorCode, SynapseError, kw, type BroadcastReply, type ConversationEvent, type Kwargs, type Node } from "../index.ts";
import { optionalSeconds, parseKeywords, parseValue } from "./args.ts";
import { Printer, brief, callText, peerLabel, resultText } from "./output.ts";
import { booleanFlag, listFlag, stringFlag, type Parsed } from "./parse.ts";
import type { Io } from "./command.ts";
import { followBroadcast, joinSwarm, untilStopped } from "./swarm.ts";
import type { BroadcastTally } from "./swarm.ts";

/** Width of the event column of `broadcast`/`ask` lines. */
const KIND_WIDTH = 10;

/** Default of `--wait`, in seconds. */
const DEFAULT_WAIT = 5;

/** What {@link broadcastAndCollect} counted (the `summary` line of `--json`, plus `reason`). */
export type BroadcastSummary = BroadcastTally;

interface CollectOptions {
  endpoint: string;
  args: unknown[];
  kwargs: Kwargs;
  /** Seconds to collect after sending. */
  wait: number;
  parsed: Parsed;
  out: Printer;
  /** Text of the first human line, e.g. `broadcast sum(1, 2)`. */
  title: string;
}

/** Join, broadcast, stream the conversation for `wait` seconds, print the summary, stop. */
async function broadcastAndCollect(o: CollectOptions): Promise<BroadcastSummary> {
  const { out } = o;
  let self: Node | null = null;
  const summary: BroadcastSummary = { nonce: null, peers: 0, acks: 0, replies: 0, errors: 0, others: 0 };
  let sentAt = performance.now();
  const elapsed = () => `+${((performance.now() - sentAt) / 1000).toFixed(3)}s`;

  const onEvent = (event: ConversationEvent) => {
    if (event.kind === "reply" || (event.kind === "message" && event.event_id === event.conversation_id)) return; // replies: onReply
    if (event.kind === "ack") summary.acks++;
    else if (event.kind === "error") summary.errors++;
    else summary.others++;
    if (out.json) out.record({ event: `conversation.${event.kind}`, time: Date.now() / 1000, ...event });
    else {
      const detail =
        event.kind === "error" && typeof event.payload.error === "string"
          ? event.payload.error
          : Object.keys(event.payload).length === 0
            ? ""
            : brief(event.payload, 200);
      out.line(`${elapsed()}  ${event.kind.padEnd(KIND_WIDTH)} ${peerLabel(event.peer)}  ${detail}`.trimEnd());
    }
  };
  const onReply = (reply: BroadcastReply) => {
    summary.replies++;
    if (out.json) out.record({ event: "broadcast.reply", time: Date.now() / 1000, nonce: reply.nonce, peer: reply.peer, result: reply.result });
    else out.line(`${elapsed()}  ${"reply".padEnd(KIND_WIDTH)} ${peerLabel(reply.peer)}  ${resultText(reply.result)}`);
  };

  /** The nonce is known: print it (whatever of this conversation arrived before follows). */
  const announce = (nonce: string) => {
    summary.nonce = nonce;
    if (out.json) {
      out.record({ event: "broadcast.sent", time: Date.now() / 1000, nonce, endpoint: o.endpoint, args: o.args, kwargs: o.kwargs, peers: summary.peers, node: self && { id: self.id, name: self.name } });
    } else {
      out.line(`${o.title} to ${summary.peers} peer(s) in swarm ${self?.swarm} as ${self?.name}`);
      out.line(`nonce ${nonce}`);
    }
  };

  /** Called with the nonce when the broadcast call returns (see followBroadcast). */
  let opened: (nonce: string) => void = () => {};
  const node = await joinSwarm({
    parsed: o.parsed,
    defaults: { name: "caller", role: "caller", capabilities: ["broadcast"] },
    out,
    setup(n) {
      self = n;
      opened = followBroadcast(n, { opened: announce, event: onEvent, reply: onReply });
    },
  });

  let failure: { error: unknown } | null = null;
  let why = "duration";
  const abort = new AbortController();
  try {
    summary.peers = node.peers.size;
    if (summary.peers === 0) throw new SynapseError(ErrorCode.NoPeers, "no peers to broadcast to: no seed answered and none was discovered");
    sentAt = performance.now();
    node.broadcast(o.endpoint, ...o.args, kw(o.kwargs)).then(
      (b) => opened(b.nonce),
      (error) => {
        failure = { error };
        abort.abort();
      },
    );
    why = await untilStopped(o.wait, abort.signal);
  } finally {
    await node.stop();
  }
  if (failure !== null) throw (failure as { error: unknown }).error;
  const took = Math.round((performance.now() - sentAt) / 100) / 10;
  if (out.json) out.record({ event: "summary", time: Date.now() / 1000, ...summary, reason: why });
  else {
    const parts = [`${summary.acks} ack(s)`, `${summary.replies} repl${summary.replies === 1 ? "y" : "ies"}`];
    if (summary.errors > 0) parts.push(`${summary.errors} error(s)`);
    if (summary.others > 0) parts.push(`${summary.others} other event(s)`);
    const how = why === "duration" ? `waited ${o.wait}s` : `stopped by ${why} after ${took}s`;
    out.line(`${parts.join(", ")} (${summary.peers} peer(s) asked, ${how})`);
  }
  return summary;
}

/** Run `sn broadcast-call`: 0 when it ran (replies or not), 1 when it could not broadcast. */
export async function run(parsed: Parsed, io: Io): Promise<number> {
  const [, endpoint, ...words] = parsed.positionals;
  const positional = words.map((w, i) => parseValue(w, `argument ${i + 1}`));
  const kwargs = parseKeywords(listFlag(parsed, "kw"));
  await broadcastAndCollect({
    endpoint: endpoint!,
    args: positional,
    kwargs,
    wait: optionalSeconds(stringFlag(parsed, "wait"), "wait") ?? DEFAULT_WAIT,
    parsed,
    out: new Printer(booleanFlag(parsed, "json"), io.stdout, io.stderr),
    title: `broadcast ${callText(endpoint!, positional, kwargs)}`,
  });
  return 0;
}
