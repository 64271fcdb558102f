/**
 * Every command of `sn` as data: its words, flags, help text, and how to load its code. The help,
 * the parser and the shell completions are all made from this table, and nothing here imports the
 * library: `sn --help` and `sn <command> --help` print without loading it, and a command's code is
 * loaded (`load()`) only when that command runs.
 *
 * @module
 */
import type { CommandSpec, FlagSpec, PositionalSpec } from "./command.ts";

export type { CommandModule, CommandSpec, FlagSpec, Io, PositionalSpec } from "./command.ts";

const json: FlagSpec = { name: "json", type: "boolean", description: "Print JSON (one object per line for streams) instead of text" };

/** `--swarm-key`, of the swarm commands and of the one-node ones; `what` starts its description. */
function swarmKeyFlag(what: string): FlagSpec {
  return {
    name: "swarm-key",
    type: "string",
    hint: "KEY",
    env: "SYNAPSE_SWARM_KEY",
    description: `${what}: its 32-byte key in base64 (\`sn keygen\`) or a file holding it; KEY1,KEY2 for rotation`,
  };
}

/** `--identity`; `whose` starts its description. */
function identityFlag(whose: string): FlagSpec {
  return { name: "identity", type: "string", hint: "FILE", env: "SYNAPSE_IDENTITY", description: `${whose} identity file (created mode 0600 when missing; default: a new identity per run)` };
}

/** Flags of the commands that ask one node (`ping`, `info`, `methods`, `peers`, `metrics`, `call`). */
const queryFlags: FlagSpec[] = [
  { name: "timeout", type: "string", hint: "S", default: "10", description: "Seconds to wait for the answer (0 waits forever)" },
  swarmKeyFlag("Ask a node of a closed swarm"),
  { name: "swarm", type: "string", hint: "SWARM", env: "SN_SWARM", description: "With --swarm-key: the node's swarm name, which the handshake binds (default: the context's)" },
  identityFlag("With --swarm-key: the"),
  json,
];

const address: PositionalSpec = { name: "ADDRESS", required: true, description: "Node to ask, HOST:PORT (port 9999 when omitted)" };

/** Flags of the commands that join a swarm with a node of their own. */
export const swarmFlags: FlagSpec[] = [
  { name: "team", short: "t", type: "string", hint: "TEAM", default: "default", env: "SN_TEAM", description: "Team inside the swarm" },
  { name: "name", short: "n", type: "string", hint: "NAME", description: "Name of this command's node" },
  { name: "seed", short: "s", type: "string", repeat: true, hint: "HOST:PORT", env: "SN_SEEDS", description: "A node to join through (repeatable; SN_SEEDS takes a comma-separated list)" },
  { name: "mdns", type: "boolean", negatable: true, default: "on", env: "SN_MDNS", description: "Find peers over mDNS on the local network (--no-mdns: seeds only)" },
  { name: "bind", type: "string", hint: "ADDRESS", env: "SN_BIND", description: "Address to listen on (default 127.0.0.1 when every seed is on loopback and mDNS is off, else 0.0.0.0)" },
  { name: "port", type: "string", hint: "PORT", default: "0", env: "SN_PORT", description: "Port to listen on (0 picks a free one)" },
  { name: "advertise", type: "string", hint: "ADDRESS", description: "Address told to peers (default: picked from --bind)" },
  swarmKeyFlag("Join a closed swarm"),
  identityFlag("This node's"),
  json,
];

const swarm: PositionalSpec = { name: "SWARM", required: true, description: "Swarm to join (default $SN_SWARM)" };

/** Flags of `ask`, `broadcast`. */
const conversationFlags: FlagSpec[] = [
  { name: "discover", type: "string", hint: "S", default: "1", description: "Seconds to wait for peers before sending (less when seeds already gave some and mDNS is off)" },
  { name: "timeout", type: "string", hint: "S", description: "Stop this many seconds after the last event" },
  { name: "forever", type: "boolean", description: "Keep listening until Ctrl+C (no early stop after the replies)" },
];

/** The actions of `sn context` (the command, its help and the shell completions share them). */
export const CONTEXT_ACTIONS = ["save", "use", "ls", "show", "rm"] as const;

/** Every command, in the order `sn --help` lists them. */
export const COMMANDS: readonly CommandSpec[] = [
  {
    name: "watch",
    group: "swarm",
    summary: "Live view of a swarm: peers and their status, and what they say",
    details: [
      "On a terminal: a full-screen view (header, peer table, rolling event log); q or Ctrl+C quits.",
      "Otherwise, or with --json: one line (or one JSON object) per event.",
      "Serves synapse.message (what `sn broadcast` sends) and shows each message.",
    ],
    positionals: [swarm],
    flags: [
      ...swarmFlags,
      { name: "show-heartbeats", type: "boolean", description: "Also show heartbeats (BEAT) in the event log" },
      { name: "capabilities", type: "boolean", negatable: true, default: "on", description: "Show the peers' capabilities column" },
      { name: "interval", type: "string", hint: "S", default: "0.5", description: "Seconds between redraws of the live view" },
      { name: "duration", type: "string", hint: "S", description: "Stop after this many seconds (default: until Ctrl+C)" },
      { name: "heartbeat", type: "string", hint: "S", default: "2", description: "Seconds between heartbeats to peers" },
      { name: "peer-timeout", type: "string", hint: "S", default: "6", description: "Seconds of silence before a peer is marked offline" },
    ],
    examples: ["sn watch lab", "sn watch lab --no-mdns -s 10.0.0.5:9999 --show-heartbeats", "sn watch lab --json | jq ."],
    load: () => import("./watch.ts"),
  },
  {
    name: "dashboard",
    group: "swarm",
    summary: "Live web view of a swarm: graph, peers, conversations, agent cards, rates",
    details: [
      "Joins as a quiet observer (as `watch` does) and serves a page that updates in place over a",
      "WebSocket, and the same data as JSON (/api/peers, /api/conversations, /api/metrics).",
      "Listens on 127.0.0.1:8080; another --listen address prints a warning: there is no login.",
    ],
    positionals: [swarm],
    flags: [
      { name: "listen", short: "l", type: "string", hint: "HOST:PORT", default: "127.0.0.1:8080", description: "Address of the web page (port 0 picks a free one)" },
      { name: "open", type: "boolean", description: "Open the page in the desktop's browser" },
      { name: "duration", type: "string", hint: "S", description: "Stop after this many seconds (default: until Ctrl+C)" },
      { name: "heartbeat", type: "string", hint: "S", default: "2", description: "Seconds between heartbeats to peers" },
      { name: "peer-timeout", type: "string", hint: "S", default: "6", description: "Seconds of silence before a peer is marked offline" },
      ...swarmFlags,
    ],
    examples: ["sn dashboard lab", "sn dashboard lab --no-mdns -s 10.0.0.5:9999 --listen 127.0.0.1:9000 --open"],
    load: () => import("./dashboard.ts"),
  },
  {
    name: "ask",
    group: "swarm",
    summary: "Ask the swarm a task (synapse.ask); print ACKs and replies",
    details: [
      "Stops 0.25 s after the first reply, when every peer asked has answered, or --timeout seconds",
      "after the last event (never with --forever). Exit 0 when a reply came, 1 when none did.",
    ],
    positionals: [swarm, { name: "TASK", required: true, description: "The task, as text (quote it)" }],
    flags: [
      { name: "context", short: "c", type: "string", repeat: true, hint: "KEY=VALUE", description: "Context for the handlers (repeatable; VALUE is JSON when it parses)" },
      ...conversationFlags.map((f) => (f.name === "timeout" ? { ...f, default: "30" } : f)),
      ...swarmFlags,
    ],
    examples: ['sn ask lab "Review this diff" -c url=https://example.com/pr/7', 'sn ask lab "Status?" --no-mdns -s 127.0.0.1:9999 --json'],
    load: () => import("./ask.ts"),
  },
  {
    name: "broadcast",
    group: "swarm",
    summary: "Send a message to every peer (synapse.message); print the replies",
    details: [
      "Watchers (`sn watch`) show the message and reply {received_by: NAME}. Same stop rule and",
      "exit codes as `sn ask`. To broadcast any endpoint with arguments, use `sn broadcast-call`.",
    ],
    positionals: [swarm, { name: "MESSAGE", required: true, description: "The message, as text (quote it)" }],
    flags: [...conversationFlags.map((f) => (f.name === "timeout" ? { ...f, default: "10" } : f)), ...swarmFlags],
    examples: ['sn broadcast lab "Ship status?" --discover 2 --timeout 10'],
    load: () => import("./ask.ts"),
  },
  {
    name: "broadcast-call",
    group: "swarm",
    summary: "Broadcast a call of any endpoint; print the nonce, ACKs, replies and a summary",
    details: ["Collects for --wait seconds (Ctrl+C stops earlier). Arguments are JSON when they parse, else text."],
    positionals: [
      swarm,
      { name: "ENDPOINT", required: true, description: "Endpoint to call on every peer" },
      { name: "ARGS", variadic: true, description: "Arguments: JSON when they parse (1, -2, true, '{\"a\":1}'), else text" },
    ],
    flags: [
      { name: "kw", type: "string", repeat: true, hint: "KEY=VALUE", description: "A keyword argument (repeatable; VALUE parsed like ARGS)" },
      { name: "wait", type: "string", hint: "S", default: "5", description: "Seconds to collect ACKs and replies after sending" },
      ...swarmFlags,
    ],
    examples: ["sn broadcast-call lab kitchen.who_can soup --kw spicy=true --wait 3"],
    load: () => import("./broadcast-call.ts"),
  },
  {
    name: "list-swarms",
    group: "swarm",
    summary: "List the swarms on the local network (mDNS), with their teams and nodes",
    positionals: [],
    flags: [{ name: "seconds", short: "s", type: "string", hint: "S", default: "3", description: "Seconds to listen for answers" }, json],
    examples: ["sn list-swarms", "sn list-swarms --seconds 5 --json"],
    load: () => import("./list-swarms.ts"),
  },
  {
    name: "ping",
    group: "node",
    summary: "Check that a node answers (_synapse.ping) and how fast",
    positionals: [address],
    flags: queryFlags,
    examples: ["sn ping 127.0.0.1:9999", "sn ping 10.0.0.5:9999 --swarm-key swarm.key --swarm lab"],
    load: () => import("./query.ts"),
  },
  {
    name: "info",
    group: "node",
    summary: "Show a node's identity and agent card",
    positionals: [address],
    flags: queryFlags,
    examples: ["sn info 127.0.0.1:9999 --json"],
    load: () => import("./query.ts"),
  },
  {
    name: "methods",
    group: "node",
    summary: "List a node's published endpoints",
    positionals: [address],
    flags: queryFlags,
    examples: ["sn methods 127.0.0.1:9999"],
    load: () => import("./query.ts"),
  },
  {
    name: "peers",
    group: "node",
    summary: "List the peers a node knows",
    positionals: [address],
    flags: queryFlags,
    examples: ["sn peers 127.0.0.1:9999"],
    load: () => import("./query.ts"),
  },
  {
    name: "metrics",
    group: "node",
    summary: "Show a Bun node's counters: calls and bytes by endpoint group, peers by state",
    details: ["Asks the unpublished _synapse.metrics (docs/metrics.md); a Python node does not serve it."],
    positionals: [address],
    flags: queryFlags,
    examples: ["sn metrics 127.0.0.1:9999", "sn metrics 127.0.0.1:9999 --json"],
    load: () => import("./query.ts"),
  },
  {
    name: "call",
    group: "node",
    summary: "Call an endpoint of one node and print its result as JSON",
    details: [
      "ARGS are JSON when they parse (1, -2.5, true, null, '\"x\"', '{\"a\":1}'), else text (ada).",
      "A word that starts like JSON ({ [ \") but does not parse is refused: fix it or quote it as a string.",
    ],
    positionals: [
      address,
      { name: "ENDPOINT", required: true, description: "Endpoint to call" },
      { name: "ARGS", variadic: true, description: "Positional arguments" },
    ],
    flags: [{ name: "kw", short: "k", type: "string", repeat: true, hint: "KEY=VALUE", description: "A keyword argument (repeatable; VALUE parsed like ARGS)" }, ...queryFlags],
    examples: ["sn call 127.0.0.1:9999 sum 1 -2", "sn call 127.0.0.1:9999 greet ada --kw formal=true"],
    load: () => import("./query.ts"),
  },
  {
    name: "context",
    group: "other",
    summary: "Save, select and list named swarm defaults (swarm, seeds, team, bind, ...)",
    details: [
      "Actions: save NAME [values] (updates the values given, keeps the others), use NAME (or --none),",
      "ls, show [NAME], rm NAME. Stored under $XDG_CONFIG_HOME/synapse-p2p (~/.config when unset).",
      "The selected context (or SN_CONTEXT=NAME) gives defaults: flag > SN_* variable > context > built-in.",
    ],
    positionals: [
      { name: "ACTION", required: true, description: CONTEXT_ACTIONS.join(", ") },
      { name: "NAME", required: false, description: "The context's name (letters, digits, _ . -)" },
    ],
    flags: [
      { name: "swarm", type: "string", hint: "SWARM", description: "save: default SWARM of watch/ask/broadcast" },
      { name: "seed", short: "s", type: "string", repeat: true, hint: "HOST:PORT", description: "save: a seed (repeatable, or comma-separated)" },
      { name: "team", short: "t", type: "string", hint: "TEAM", description: "save: team" },
      { name: "bind", type: "string", hint: "ADDRESS", description: "save: address to listen on" },
      { name: "port", type: "string", hint: "PORT", description: "save: port to listen on" },
      { name: "mdns", type: "boolean", negatable: true, description: "save: mDNS on (--mdns) or off (--no-mdns)" },
      { name: "description", type: "string", hint: "TEXT", description: "save: what the context is for" },
      { name: "select", type: "boolean", description: "save: also select it (as `sn context use NAME`)" },
      { name: "none", type: "boolean", description: "use: select no context" },
      { name: "json", type: "boolean", description: "ls, show: print JSON (one object per context)" },
    ],
    examples: [
      "sn context save lab --swarm lab --seed 10.0.0.5:9999 --team red --select",
      "sn context save local --swarm dev --seed 127.0.0.1:9999 --no-mdns",
      "sn context use local",
      "sn context ls",
      "sn context rm lab",
    ],
    load: () => import("./context.ts"),
  },
  {
    name: "keygen",
    group: "other",
    summary: "Print a new random swarm key (base64) for a closed swarm",
    details: [
      "Give it to every member with --swarm-key KEY (or SYNAPSE_SWARM_KEY), or save it in a file",
      "only its owner may read (chmod 600) and give the file's path instead. See docs/security.md.",
    ],
    positionals: [],
    flags: [],
    examples: ["sn keygen > swarm.key && chmod 600 swarm.key", "sn watch lab --swarm-key swarm.key"],
    load: () => import("./keygen.ts"),
  },
  {
    name: "completion",
    group: "other",
    summary: "Print a shell completion script (bash, zsh or fish)",
    details: [
      "bash:  source <(sn completion bash)          (or save it under ~/.local/share/bash-completion/completions/sn)",
      "zsh:   sn completion zsh > \"${fpath[1]}/_sn\"  (then restart the shell)",
      "fish:  sn completion fish > ~/.config/fish/completions/sn.fish",
    ],
    positionals: [{ name: "SHELL", required: true, description: "bash, zsh or fish" }],
    flags: [],
    examples: ["source <(sn completion bash)"],
    load: () => import("./completion.ts"),
  },
];

/** The command named `name`, or undefined. */
export function findCommand(name: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === name);
}
