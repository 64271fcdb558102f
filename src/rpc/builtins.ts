/**
 * The built-in endpoints every node answers without a swarm: `_synapse.ping`, `_synapse.info`,
 * `_synapse.methods`, `_node.info`, `_node.capabilities`, and this implementation's
 * `_synapse.hello` (connection negotiation, see the pool; its answer lists the extensions this
 * node speaks: `multiplex`, `leave` for membership's `_synapse.leave`, `sync_pages` for paged
 * conversation sync and list, `signed` for signed records, and `batch` for
 * `_synapse.conversation.batch`).
 *
 * @module
 */
import type { EndpointRegistry } from "./endpoints.ts";
import type { Capability, NodeInfo } from "../types.ts";
import { HELLO_ENDPOINT } from "../wire/protocol.ts";
import pkg from "../../package.json" with { type: "json" };

/** What the built-ins need to know about their node. */
export interface BuiltinHost {
  info(): NodeInfo;
  capabilityList(): Capability[];
  /** Extra features this node offers in its hello answer (e.g. `{ swim: true }` in gossip mode). */
  helloFeatures?(): Record<string, unknown>;
}

/** Name and version this implementation reports in the hello. */
export const IMPLEMENTATION = "synapse-p2p-bun";
export const VERSION: string = pkg.version;

/** Register the core built-ins (unpublished) on `registry`. */
export function registerCoreBuiltins(registry: EndpointRegistry, host: BuiltinHost): void {
  registry.builtin("_synapse.ping", "Liveness check", [], () => "pong");
  registry.builtin("_synapse.info", "Node identity", [], () => host.info());
  registry.builtin("_synapse.methods", "Published endpoints", [], () =>
    registry
      .list()
      .filter((e) => e.publish)
      .map((e) => ({ name: e.name, publish: e.publish, description: e.description })),
  );
  registry.builtin("_node.info", "Agent card summary", [], () => {
    const info = host.info();
    return { name: info.name, role: info.role ?? "", description: info.description ?? "", capabilities: info.capabilities };
  });
  // An unset schema is {} as a Python node sends it (consumer code indexes into it).
  registry.builtin("_node.capabilities", "Capabilities with schemas", [], () =>
    host.capabilityList().map((c) => ({
      name: c.name,
      description: c.description ?? "",
      input_schema: c.inputSchema ?? {},
      output_schema: c.outputSchema ?? {},
    })),
  );
  registry.builtin(HELLO_ENDPOINT, "Connection negotiation (Bun extension)", ["offer"], () => ({
    multiplex: true,
    // This node answers `_synapse.leave` (registered with membership, see docs/membership.md).
    leave: true,
    // This node pages conversation sync and list for callers that send `page` (docs/protocol.md).
    sync_pages: true,
    // This node takes `_synapse.conversation.batch` (docs/protocol.md).
    batch: true,
    // This node takes batched replies by reference, the replier's id for its record (docs/protocol.md).
    reply_ref: true,
    // This node takes a batch's items as bytes, relayed as they came (docs/protocol.md).
    item_bytes: true,
    // This node takes windowed digests in a batch (`window`, docs/protocol.md).
    have_window: true,
    // This node takes and checks signatures of records (`sig` keyword arguments, docs/security.md).
    signed: true,
    ...host.helloFeatures?.(),
    implementation: IMPLEMENTATION,
    version: VERSION,
  }));
}
