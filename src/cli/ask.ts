/**
 * `sn ask SWARM TASK` and `sn broadcast SWARM MESSAGE`, as the Python `sn` has them: join the
 * swarm, wait up to `--discover` seconds for peers, broadcast `synapse.ask(task, context)` or
 * `synapse.message(message)`, print the nonce, then each ACK and reply as it arrives.
 *
 * The stop rule is the original's: 0.25 s after the first reply, or as soon as every peer asked
 * has answered (a reply or an error), or `--timeout` seconds after the last event; never before
 * Ctrl+C with `--forever`. Exit 0 when a reply came, 1 when none did.
 *
 * @module
 */
import { ErrorCode, SynapseError, kw, type BroadcastReply, type ConversationEvent, type Node, type Peer } from "../index.ts";
import { optionalSeconds, parseKeywords, seconds } from "./args.ts";
import { Printer, brief, resultText, who } from "./output.ts";
import { colourEnabled, painter } from "./color.ts";
import { booleanFlag, listFlag, stringFlag, type Parsed } from "./parse.ts";
import type { Io } from "./command.ts";
import { followBroadcast, joinSwarm, swarmOptions, untilStopped } from "./swarm.ts";
import type { BroadcastTally } from "./swarm.ts";

/** Seconds to wait for more replies after the first one (the original's rule). */
export const AFTER_FIRST_REPLY = 0.25;

/** How long to poll for peers during `--discover`, in milliseconds. */
const DISCOVER_POLL_MS = 50;

/** What one run counted (the `summary` record of `--json`). */
export interface AskSummary extends BroadcastTally {
  /** Why it stopped: `replied`, `answered`, `timeout`, `SIGINT`, `SIGTERM`. */
  reason: string;
}

/** What differs between `ask` and `broadcast`. */
interface Flavour {
  verb: "ask" | "broadcast";
  endpoint: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  waiting: string;
  defaults: { name: string; role: string; capabilities: string[] };
  timeout: number;
}

function flavour(parsed: Parsed): Flavour {
  const text = parsed.positionals[1]!;
  if (parsed.command === "ask") {
    return {
      verb: "ask",
      endpoint: "synapse.ask",
      args: [text],
      kwargs: { context: parseKeywords(listFlag(parsed, "context"), "--context") },
      waiting: "waiting for ACKs and replies... press Ctrl+C to stop",
      defaults: { name: "asker", role: "asker", capabilities: ["ask"] },
      timeout: 30,
    };
  }
  return {
    verb: "broadcast",
    endpoint: "synapse.message",
    args: [text],
    kwargs: {},
    waiting: "waiting for replies... press Ctrl+C to stop",
    defaults: { name: "speaker", role: "speaker", capabilities: ["broadcast"] },
    timeout: 10,
  };
}

/** Run `sn ask` or `sn broadcast` (the command is `parsed.command`). */
export async function run(parsed: Parsed, io: Io): Promise<number> {
  const f = flavour(parsed);
  const out = new Printer(booleanFlag(parsed, "json"), io.stdout, io.stderr);
  const discover = seconds(stringFlag(parsed, "discover"), "discover", 1);
  const idle = optionalSeconds(stringFlag(parsed, "timeout"), "timeout") ?? f.timeout;
  const forever = booleanFlag(parsed, "forever");
  const mdns = swarmOptions(parsed, f.defaults.name).mdns; // the flag, else SN_MDNS, else on
  const paint = painter(!out.json && colourEnabled());

  const summary: AskSummary = { nonce: null, peers: 0, acks: 0, replies: 0, errors: 0, others: 0, reason: "" };
  const acked = new Set<string>();
  const answered = new Set<string>();
  let asked = new Set<string>();
  const stop = new AbortController();
  let idleTimer: ReturnType<typeof setTimeout> | null = null;
  let self: Node | null = null;
  /** Events that arrived before the nonce was known. */

  const finish = (reason: string) => {
    if (summary.reason !== "") return;
    summary.reason = reason;
    stop.abort();
  };
  /** Something happened: the `--timeout` window starts again. */
  const activity = () => {
    if (forever) return;
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = setTimeout(() => finish("timeout"), idle * 1000);
  };
  const answeredBy = (peer: Peer) => {
    answered.add(peer.id);
    if (!forever && asked.size > 0 && [...asked].every((id) => answered.has(id))) finish("answered");
  };

  const onEvent = (event: ConversationEvent) => {
    if (event.kind === "reply" || event.event_id === event.conversation_id) return; // replies: onReply
    activity();
    if (event.kind === "ack") {
      summary.acks++;
      if (acked.has(event.peer.id)) return;
      acked.add(event.peer.id);
      if (out.json) out.record({ event: "ack", time: Date.now() / 1000, nonce: event.conversation_id, peer: event.peer, payload: event.payload });
      else out.line(`${paint("green", "✓")} ${who(event.peer)} acked`);
    } else if (event.kind === "error") {
      summary.errors++;
      const text = typeof event.payload.error === "string" ? event.payload.error : brief(event.payload, 200);
      if (out.json) out.record({ event: "error", time: Date.now() / 1000, nonce: event.conversation_id, peer: event.peer, error: text });
      else out.line(`${paint("red", "✗")} ${paint("bold", who(event.peer))}: ${text}`);
      answeredBy(event.peer);
    } else {
      summary.others++;
      if (out.json) out.record({ event: `conversation.${event.kind}`, time: Date.now() / 1000, ...event });
      else out.line(`· ${who(event.peer)} ${event.kind}${Object.keys(event.payload).length ? ` ${brief(event.payload, 200)}` : ""}`);
    }
  };
  const onReply = (reply: BroadcastReply) => {
    activity();
    summary.replies++;
    if (out.json) out.record({ event: "reply", time: Date.now() / 1000, nonce: reply.nonce, peer: reply.peer, result: reply.result });
    else out.line(`- ${paint("bold", who(reply.peer))}: ${resultText(reply.result)}`);
    if (summary.replies === 1 && !forever) setTimeout(() => finish("replied"), AFTER_FIRST_REPLY * 1000);
    answeredBy(reply.peer);
  };
  /** The nonce is known (the opening message is filed before the calls go out): print it first. */
  const announce = (nonce: string) => {
    summary.nonce = nonce;
    if (out.json) out.record({ event: `${f.verb}.sent`, time: Date.now() / 1000, nonce, endpoint: f.endpoint, args: f.args, kwargs: f.kwargs, peers: summary.peers, node: self && { id: self.id, name: self.name } });
    else {
      out.line(`${f.verb}: ${nonce}`);
      out.line(paint("gray", f.waiting));
    }
  };

  /** Called with the nonce when the broadcast call returns (see followBroadcast). */
  let opened: (nonce: string) => void = () => {};
  const node = await joinSwarm({
    parsed,
    defaults: f.defaults,
    out,
    setup(n) {
      self = n;
      opened = followBroadcast(n, { opened: announce, event: onEvent, reply: onReply });
    },
  });

  try {
    // --discover: peers found through the seeds are known once join() returns; over mDNS they
    // keep coming, so the whole window is used.
    const until = Date.now() + discover * 1000;
    const interrupted = untilStopped(null, stop.signal);
    let why: string | null = null;
    void interrupted.then((w) => (why = w));
    while (Date.now() < until && why === null && (mdns || node.peers.size === 0)) await Bun.sleep(DISCOVER_POLL_MS);
    if (why !== null) {
      summary.reason = why;
      return 1;
    }
    asked = new Set(node.peers.keys());
    summary.peers = asked.size;
    if (asked.size === 0) throw new SynapseError(ErrorCode.NoPeers, `no peers in swarm ${node.swarm} after ${discover}s (check --seed, mDNS, or --discover)`);
    activity();
    node.broadcast(f.endpoint, ...f.args, ...(Object.keys(f.kwargs).length ? [kw(f.kwargs)] : [])).then(
      (b) => opened(b.nonce),
      (error: unknown) => {
        summary.reason = "failed";
        stop.abort(error);
      },
    );
    const reason = await interrupted;
    if (reason !== "aborted") summary.reason = reason;
    if (summary.reason === "failed") throw stop.signal.reason;
  } finally {
    if (idleTimer) clearTimeout(idleTimer);
    await node.stop();
  }
  if (out.json) out.record({ event: "summary", time: Date.now() / 1000, ...summary });
  else if (summary.replies === 0) out.line(paint("yellow", "no replies"));
  return summary.replies > 0 ? 0 : 1;
}
