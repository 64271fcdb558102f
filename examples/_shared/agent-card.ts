/**
 * Agent cards in the convention of the Python package's examples, so that a Python planner reads
 * a Bun agent's card and the other way round: an artifact named `agent-card` whose content is
 * `{name, role, capabilities: [names], description}`, MIME type
 * `application/vnd.synapse.agent-card+json`, kind `metadata`.
 */
import { AGENT_CARD_MIME_TYPE, Client, type ArtifactDocument, type Node, type Peer } from "../../src/index.ts";

/** The artifact name every example agent publishes its card under. */
export const AGENT_CARD = "agent-card";

/** The card's MIME type, as the Python examples set it. */
export const AGENT_CARD_MIME = AGENT_CARD_MIME_TYPE;

/** The card's content. */
export interface AgentCard {
  name: string;
  role: string;
  capabilities: string[];
  description: string;
}

/**
 * Publish `node`'s card with a description of its work: `node.publishAgentCard()` (its name, role
 * and capability names, plus the library's extra detail), with that description.
 */
export function publishAgentCard(node: Node, description: string): AgentCard {
  node.publishAgentCard({ description }, AGENT_CARD);
  return { name: node.name, role: node.role ?? "", capabilities: node.capabilityNames(), description };
}

/** Fetch a peer's card; null when it publishes none (a Python node without a card, a bare seed). */
export async function fetchAgentCard(peer: Peer, timeout = 5): Promise<AgentCard | null> {
  const client = Client.fromPeer(peer, { timeout });
  const listed = await client.call<Array<{ name: string; mime_type: string }>>("_synapse.artifacts");
  if (!listed.some((d) => d.name === AGENT_CARD && d.mime_type === AGENT_CARD_MIME)) return null;
  const doc = await client.call<ArtifactDocument>("_synapse.artifact.get", AGENT_CARD);
  return doc.content as AgentCard;
}
