/**
 * Tampering with a signed agent card (issue #13): a card (any artifact) a Bun node publishes is
 * signed; a reader (`node.fetchArtifact`, the dashboard) refuses one whose content, descriptor or
 * signer was changed, whether the attacker re-hashes the content, re-signs it with its own key, or
 * serves it from another node. An unsigned card is refused from a node known to sign, and shown as
 * unsigned from a Python-like one.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { checkArtifact, type ArtifactDocument } from "../../src/conversation/artifacts.ts";
import { canonicalJsonBytes } from "../../src/conversation/canonical-json.ts";
import { SignatureError } from "../../src/errors.ts";
import { NodeIdentity } from "../../src/security/identity.ts";
import { SignedRecords } from "../../src/security/records.ts";
import { cleanUp, MemoryNetwork, nodeAt } from "./helpers.ts";

afterEach(cleanUp);

/** `doc` with new JSON content, its size and sha256 recomputed (what a careful attacker does). */
function rehashed(doc: ArtifactDocument, content: Record<string, unknown>): ArtifactDocument {
  const bytes = canonicalJsonBytes(content);
  return { ...doc, content, size: bytes.byteLength, sha256: createHash("sha256").update(bytes).digest("hex") };
}

/** `doc` re-signed by `records` (its own key), as an attacker would sign it. */
function resigned(doc: ArtifactDocument, records: SignedRecords, signer: string): ArtifactDocument {
  const metadata = records.signArtifact(doc);
  return { ...doc, metadata: { ...metadata, _signer: signer } };
}

describe("signed agent cards", () => {
  test("every way of tampering with a card is found; the genuine card checks", async () => {
    const net = new MemoryNetwork();
    const a = await nodeAt(net, "10.0.0.1", { swarm: "lab" });
    a.capability("search");
    a.publishAgentCard();
    const b = await nodeAt(net, "10.0.0.2", { swarm: "lab" });
    const genuine = await b.fetchArtifact(a.toPeer(), "agent-card");
    expect(genuine.signature).toEqual({ status: "signed", signer: a.id });
    const doc: ArtifactDocument = { ...genuine };
    delete (doc as Partial<typeof genuine>).signature;
    expect(checkArtifact(doc, a.id).status).toBe("signed");

    const card = doc.content as Record<string, unknown>;
    const grander = { ...card, capabilities: ["search", "root"] };
    const attacker = new SignedRecords({ identity: NodeIdentity.generate(), closed: false });
    const cases: Array<[string, ArtifactDocument, string]> = [
      ["content changed", { ...doc, content: grander }, "the content does not match its sha256"],
      ["content changed and re-hashed", rehashed(doc, grander), "the signature does not verify"],
      ["descriptor changed", { ...doc, description: "an admin node" }, "the signature does not verify"],
      ["metadata changed", { ...doc, metadata: { ...doc.metadata, trusted: true } }, "the signature does not verify"],
      ["re-signed by another key in a's name", resigned(rehashed(doc, grander), attacker, a.id), "the signature does not verify"],
      ["re-signed by another node as itself", resigned(rehashed(doc, grander), attacker, attacker.signerId!), `signed by ${attacker.signerId!.slice(0, 8)}, not by ${a.id.slice(0, 8)}`],
      ["signature removed but signer kept", { ...doc, metadata: { ...doc.metadata, _sig: undefined } }, "the signature does not verify"],
    ];
    for (const [what, tampered, reason] of cases) {
      expect({ what, check: checkArtifact(tampered, a.id) }).toEqual({ what, check: { status: "tampered", signer: expect.anything(), reason } });
    }
    // A card that names another node than its (valid) signer.
    const other = new SignedRecords({ identity: NodeIdentity.generate(), closed: false });
    const borrowed = resigned(rehashed(doc, { ...card, id: a.id }), other, other.signerId!);
    expect(checkArtifact(borrowed)).toMatchObject({ status: "tampered", reason: "the card names another node than its signer" });
  });

  test("fetchArtifact refuses a tampered card served in a's name, and an unsigned one from a node known to sign", async () => {
    const net = new MemoryNetwork();
    const a = await nodeAt(net, "10.0.0.1", { swarm: "lab" });
    a.publishAgentCard();
    const b = await nodeAt(net, "10.0.0.2", { swarm: "lab" });
    const liar = await nodeAt(net, "10.0.0.3", { swarm: "lab" });
    const genuine = a.artifacts.get("agent-card");
    liar.endpoints.unregister("_synapse.artifact.get");
    let serve: unknown = { ...genuine, description: "the admin" };
    liar.endpoint("_synapse.artifact.get", { params: ["name"] }, () => serve);
    const asA = { id: a.id, address: "10.0.0.3", port: 9999 };
    const refused = await b.fetchArtifact(asA, "agent-card").catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SignatureError);
    expect((refused as SignatureError).reason).toBe("tampered");

    // Unsigned: refused once b knows that a signs (here: it has checked a's genuine card).
    expect(b.records.knownSigner(a.id)).toBe(false);
    expect((await b.fetchArtifact(a.toPeer(), "agent-card")).signature.status).toBe("signed");
    expect(b.records.knownSigner(a.id)).toBe(true);
    serve = { ...genuine, metadata: {} };
    const unsigned = await b.fetchArtifact(asA, "agent-card").catch((e: unknown) => e);
    expect(unsigned).toBeInstanceOf(SignatureError);
    expect((unsigned as SignatureError).reason).toBe("unsigned");

    // From a Python-like node (never seen signing), an unsigned card is shown as such.
    const pythonLike = { id: "ab".repeat(32), address: "10.0.0.3", port: 9999 };
    expect((await b.fetchArtifact(pythonLike, "agent-card")).signature).toEqual({ status: "unsigned", signer: null });
  });
});
