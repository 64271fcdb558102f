/**
 * Node identities and swarm keys: the identity file (created owner-only, refused when others may
 * read it), the node id as the public key, the identity proof of the handshake, and how swarm keys
 * and identities are given (bytes, base64, files, environment variables).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "../../src/errors.ts";
import { Node } from "../../src/node.ts";
import { resolveSecurity } from "../../src/security/closed-swarm.ts";
import { NodeIdentity, verifyBinding } from "../../src/security/identity.ts";
import { generateSwarmKey, parseSwarmKey, SwarmKeyring } from "../../src/security/keyring.ts";
import { secureTransport } from "../../src/security/secure-transport.ts";
import type { SecureSocket } from "../../src/security/secure-transport.ts";
import { bunTransport } from "../../src/transport/bun-transport.ts";
import { cleanUp, key, MemoryNetwork, stopAfter } from "./helpers.ts";
import { eventually } from "../helpers/net.ts";

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "synapse-identity-"));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  await cleanUp();
});

describe("identity - file", () => {
  test("created on first use with mode 0600; loaded again, the same identity; the id is the public key in hex", () => {
    const path = join(tempDir(), "node.key");
    const first = NodeIdentity.load(path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(first.id).toMatch(/^[0-9a-f]{64}$/);
    expect(first.id).toBe(Buffer.from(first.publicKey).toString("hex"));
    const again = NodeIdentity.load(path);
    expect(again.id).toBe(first.id);
    expect(Buffer.from(again.staticKey.publicKey)).toEqual(Buffer.from(first.staticKey.publicKey));
    expect(JSON.parse(readFileSync(path, "utf8")).version).toBe(1);
  });

  test("a file that others may read or write is refused with a ConfigError that says how to fix it", () => {
    const path = join(tempDir(), "node.key");
    NodeIdentity.load(path);
    for (const mode of [0o644, 0o640, 0o602]) {
      chmodSync(path, mode);
      expect(() => NodeIdentity.load(path)).toThrow(ConfigError);
      expect(() => NodeIdentity.load(path)).toThrow(/chmod 600/);
    }
  });

  test("a file that cannot be created (no such directory) is a ConfigError; nothing is left behind", () => {
    const dir = tempDir();
    expect(() => NodeIdentity.load(join(dir, "missing", "node.key"))).toThrow(ConfigError);
    expect(readdirSync(dir)).toEqual([]);
    NodeIdentity.load(join(dir, "node.key"));
    expect(readdirSync(dir)).toEqual(["node.key"]); // the temporary file is gone
  });

  test("a file that is not an identity is refused", () => {
    const path = join(tempDir(), "bad.key");
    for (const text of ["not json", JSON.stringify({ version: 1, ed25519: "AAAA", x25519: "AAAA" }), JSON.stringify({ version: 2 })]) {
      writeFileSync(path, text, { mode: 0o600 });
      expect(() => NodeIdentity.load(path)).toThrow(ConfigError);
    }
  });

  test("a Node with an identity file has the key as its id; a different fixed id is refused", () => {
    const path = join(tempDir(), "node.key");
    const node = new Node({ identity: path });
    expect(node.id).toBe(NodeIdentity.load(path).id);
    expect(node.identity.id).toBe(node.id);
    expect(() => new Node({ identity: path, id: "f".repeat(64) })).toThrow(ConfigError);
    // Without a file: a fresh identity in memory, still the id.
    const plain = new Node();
    expect(plain.id).toBe(plain.identity.id);
  });
});

describe("identity - handshake proof", () => {
  test("a binding verifies for its static key and hash only", () => {
    const a = NodeIdentity.generate();
    const b = NodeIdentity.generate();
    const hash = new Uint8Array(32).fill(7);
    const proof = a.bindingPayload(hash);
    expect(verifyBinding(proof, a.staticKey.publicKey, hash)).toBe(a.id);
    expect(verifyBinding(proof, b.staticKey.publicKey, hash)).toBeNull(); // another static key
    expect(verifyBinding(proof, a.staticKey.publicKey, new Uint8Array(32))).toBeNull(); // another session
    const forged = proof.slice();
    forged.set(b.publicKey, 1); // claim b's identity with a's signature
    expect(verifyBinding(forged, a.staticKey.publicKey, hash)).toBeNull();
    expect(verifyBinding(proof.subarray(0, 50), a.staticKey.publicKey, hash)).toBeNull();
  });

  test("both ends of a connection learn the other's identity", async () => {
    const net = new MemoryNetwork();
    const serverId = NodeIdentity.generate();
    const clientId = NodeIdentity.generate();
    let seenByServer = "";
    const handle = secureTransport(net.transport("10.0.0.1"), { keys: key(1), identity: serverId }).listen({ hostname: "10.0.0.1", port: 9999 }, (socket) => {
      seenByServer = (socket as SecureSocket).remoteIdentity;
      return { handleData: () => {}, handleDrain: () => {}, handleEnd: () => {}, handleClose: () => {}, handleError: () => {} };
    });
    stopAfter(() => handle.stop(true));
    let seenByClient = "";
    await secureTransport(net.transport("10.0.0.2"), { keys: key(1), identity: clientId }).connect({ hostname: "10.0.0.1", port: 9999 }, (socket) => {
      seenByClient = (socket as SecureSocket).remoteIdentity;
      stopAfter(() => socket.terminate());
      return { handleData: () => {}, handleDrain: () => {}, handleEnd: () => {}, handleClose: () => {}, handleError: () => {} };
    });
    expect(seenByClient).toBe(serverId.id);
    await eventually(() => seenByServer !== "", 5000, "the server side finished its handshake");
    expect(seenByServer).toBe(clientId.id);
  });
});

describe("swarm keys", () => {
  test("bytes, base64 and an owner-only file give the same key; anything else is a ConfigError", () => {
    const b64 = generateSwarmKey();
    const bytes = new Uint8Array(Buffer.from(b64, "base64"));
    expect(bytes.length).toBe(32);
    expect(parseSwarmKey(b64)).toEqual(bytes);
    expect(parseSwarmKey(bytes)).toEqual(bytes);
    const path = join(tempDir(), "swarm.key");
    writeFileSync(path, b64 + "\n", { mode: 0o600 });
    expect(parseSwarmKey(path)).toEqual(bytes);
    chmodSync(path, 0o644);
    expect(() => parseSwarmKey(path)).toThrow(/chmod 600/);
    expect(() => parseSwarmKey(new Uint8Array(16))).toThrow(ConfigError);
    expect(() => parseSwarmKey("c2hvcnQ=")).toThrow(ConfigError);
    expect(() => parseSwarmKey(join(tempDir(), "missing"))).toThrow(ConfigError);
  });

  test("a keyring: the first key is the primary; install, use, remove; the primary cannot be removed", () => {
    const ring = new SwarmKeyring([key(1), key(2)]);
    expect(ring.primary).toEqual(key(1));
    ring.install(key(3));
    ring.install(key(3));
    expect(ring.keys).toHaveLength(3);
    ring.use(key(3));
    expect(ring.primary).toEqual(key(3));
    expect(() => ring.remove(key(3))).toThrow(ConfigError);
    ring.remove(key(1));
    expect(ring.keys).toEqual([key(3), key(2)]);
    expect(() => new SwarmKeyring([])).toThrow(ConfigError);
  });

  test("SYNAPSE_SWARM_KEY and SYNAPSE_IDENTITY are read when the options are left out; null is open", () => {
    const [k1, k2] = [generateSwarmKey(), generateSwarmKey()];
    const path = join(tempDir(), "id.key");
    const env = { SYNAPSE_SWARM_KEY: `${k1},${k2}`, SYNAPSE_IDENTITY: path };
    const resolved = resolveSecurity({ swarm: "lab", transport: bunTransport, env });
    expect(resolved.keyring!.keys.map((k) => Buffer.from(k).toString("base64"))).toEqual([k1, k2]);
    expect(resolved.identity.id).toBe(NodeIdentity.load(path).id);
    expect(resolved.transport).not.toBeNull();
    const open = resolveSecurity({ swarm: "lab", transport: bunTransport, env, swarmKey: null, identity: null });
    expect(open.keyring).toBeNull();
    expect(open.transport).toBeNull();
    expect(open.named).toBe(false);
    expect(resolveSecurity({ swarm: null, transport: bunTransport, env: {} }).keyring).toBeNull();
  });
});
