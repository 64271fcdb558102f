/**
 * How the demo shows what happens: on a terminal, the full-screen live view of `sn watch` (the
 * swarm's peers with their status marks above a rolling event log, drawn by the command line's own
 * `WatchModel` and `Screen`); anywhere else (a pipe, a test, `--lines`), a line log with the
 * seconds since the start. The demo reports each step once, with {@link DemoView.event}, and both
 * views show it.
 */
import type { Node } from "../../src/index.ts";
import { colourEnabled, painter } from "../../src/cli/color.ts";
import { WatchModel } from "../../src/cli/watch-model.ts";
import { Screen, processTerminal, renderScreen } from "../../src/cli/watch-screen.ts";
import { say } from "../_shared/narrate.ts";

/** What the demo tells its view. */
export interface DemoView {
  /** One step. `kind` is a short capitalised word (JOINED, ASK, ACK, REPLY, TASK, ...). */
  event(kind: string, who: string, text: string): void;
  /** Text for after the live part (the summary): printed at once in the line log, after the screen otherwise. */
  print(line: string): void;
  /** Show `node`'s view of the swarm in the peer table (roles by name). */
  follow(node: Node, roles: Map<string, string>): void;
  /** Leave the screen (if any) and print what was held back. */
  close(): void;
}

/** The line log: `[ 1.23s] KIND    who      text`. */
export function lineView(): DemoView {
  return {
    event: (kind, who, text) => say(`${kind.padEnd(7)} ${who.padEnd(8)} ${text}`),
    print: (line) => console.log(line),
    follow: () => {},
    close: () => {},
  };
}

/**
 * The `sn watch` screen; `quit` runs on q or Ctrl+C (the terminal is in raw mode, so Ctrl+C
 * arrives as a key, not as SIGINT).
 */
export function screenView(swarm: string, quit: () => void): DemoView {
  const model = new WatchModel({ heartbeat: 5 });
  const held: string[] = [];
  const header = { swarm, team: "default", name: "demo", id: "-", address: "127.0.0.1" };
  const paint = painter(colourEnabled());
  const screen = new Screen(processTerminal(), (width, height) => renderScreen(model, { width, height, now: Date.now() / 1000, header, capabilities: true, paint }), 0.5);
  screen.enter(quit);
  return {
    event(kind, who, text) {
      model.log({ time: Date.now() / 1000, kind, who, text, tag: "" });
      screen.redraw();
    },
    print(line) {
      held.push(line);
      if (line.trim()) model.log({ time: Date.now() / 1000, kind: "SUMMARY", who: "", text: line.trim(), tag: "" });
      screen.redraw();
    },
    follow(node, roles) {
      header.name = node.name;
      header.id = node.id;
      header.address = `127.0.0.1:${node.port}`;
      const now = () => Date.now() / 1000;
      node.on("peer.joined", (peer) => {
        model.joined(peer, now());
        model.setRole(peer.id, roles.get(peer.name) ?? null);
        screen.redraw();
      });
      node.on("peer.heartbeat", (peer) => model.seen(peer, now()));
      node.on("peer.offline", (peer) => model.offline(peer, now()));
    },
    close() {
      screen.leave();
      for (const line of held.splice(0)) console.log(line);
    },
  };
}
