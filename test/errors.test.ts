import { describe, expect, test } from "bun:test";
import * as errors from "../src/errors.ts";
import {
  CallTimeoutError,
  ConfigError,
  ConnectionError,
  EncodeError,
  HandshakeError,
  SecureChannelError,
  SignatureError,
  EndpointError,
  ErrorCode,
  FrameTooLargeError,
  ListenError,
  ProtocolError,
  RemoteError,
  ScheduleError,
  SynapseError,
  TeamTaskError,
  UnsupportedError,
  UsageError,
  WaitTimeoutError,
  isErrorCode,
} from "../src/errors.ts";
import { Emitter, waitFor } from "../src/events.ts";
import { rejection } from "./helpers/net.ts";
import { originalRefusal } from "../src/wire/protocol.ts";

/** One instance of every error class, each built with a `cause`, and the code it must carry. */
function samples(cause: unknown): Array<{ error: SynapseError; type: new (...args: never[]) => SynapseError; code: string }> {
  return [
    { error: new SynapseError(ErrorCode.NoPeers, "m", { cause }), type: SynapseError, code: "no_peers" },
    { error: new RemoteError("bad_request", "m", "sum", "127.0.0.1:9999", { cause }), type: RemoteError, code: "bad_request" },
    { error: new CallTimeoutError("sum", "127.0.0.1:9999", 50, { cause }), type: CallTimeoutError, code: "timeout" },
    { error: new WaitTimeoutError("peer.joined", 0.05, { cause }), type: WaitTimeoutError, code: "timeout" },
    { error: new ConnectionError("m", "127.0.0.1:9999", { endpoint: "sum", sent: true, cause }), type: ConnectionError, code: "connection_closed" },
    { error: new FrameTooLargeError(10, 5, { cause }), type: FrameTooLargeError, code: "bad_request" },
    { error: new ProtocolError("m", { cause }), type: ProtocolError, code: "bad_request" },
    { error: new EncodeError("m", { cause }), type: EncodeError, code: "internal_error" },
    { error: new EndpointError(ErrorCode.BadRequest, "m", { cause }), type: EndpointError, code: "bad_request" },
    { error: new ListenError("0.0.0.0:9999", ErrorCode.AddressInUse, "m", { cause }), type: ListenError, code: "address_in_use" },
    { error: new ConfigError("m", { cause }), type: ConfigError, code: "invalid_config" },
    { error: new ScheduleError("m", { cause }), type: ScheduleError, code: "invalid_schedule" },
    { error: new UsageError("m", "ping", { cause }), type: UsageError, code: "usage" },
    { error: new TeamTaskError(ErrorCode.TaskFailed, "t", "m", { error: "boom", attempts: 2 }, { cause }), type: TeamTaskError, code: "task_failed" },
    { error: new HandshakeError("bad_key", "m", { cause }), type: HandshakeError, code: "handshake_failed" },
    { error: new SecureChannelError("m", { cause }), type: SecureChannelError, code: "secure_channel" },
    { error: new SignatureError("tampered", "m", { cause }), type: SignatureError, code: "bad_signature" },
    { error: new UnsupportedError("_synapse.metrics", "127.0.0.1:9999", { cause }), type: UnsupportedError, code: "unsupported" },
  ];
}

describe("errors - classes", () => {
  test("every error class of src/errors.ts has a case here", () => {
    const classes = Object.values(errors).filter((v) => typeof v === "function" && v.prototype instanceof Error);
    const covered = new Set(samples(null).map((s) => s.type));
    expect(classes.filter((c) => !covered.has(c as never)).map((c) => (c as { name: string }).name)).toEqual([]);
  });

  for (const { error, type, code } of samples(new Error("root"))) {
    test(`errors - ${type.name} sets name and code and keeps its cause`, () => {
      expect(error).toBeInstanceOf(type);
      expect(error).toBeInstanceOf(SynapseError);
      expect(error).toBeInstanceOf(Error);
      expect(error.name).toBe(type.name);
      expect(error.code).toBe(code);
      expect(isErrorCode(error.code)).toBe(true);
      expect((error.cause as Error).message).toBe("root");
    });
  }

  test("errors - without options no cause is set", () => {
    expect("cause" in new ConfigError("m")).toBe(false);
    expect("cause" in new ConnectionError("m", "127.0.0.1:1")).toBe(false);
  });

  test("errors - classes carry their data", () => {
    const listen = new ListenError("10.9.9.9:1", ErrorCode.ListenFailed, "m");
    expect([listen.code, listen.address]).toEqual(["listen_failed", "10.9.9.9:1"]);
    const conn = new ConnectionError("m", "127.0.0.1:1", { endpoint: "sum", sent: true });
    expect([conn.peer, conn.endpoint, conn.sent]).toEqual(["127.0.0.1:1", "sum", true]);
    const unsupported = new UnsupportedError("_synapse.leave", "127.0.0.1:1");
    expect([unsupported.peer, unsupported.endpoint, unsupported.sent]).toEqual(["127.0.0.1:1", "_synapse.leave", false]);
    // The default reason is the protocol's own for an extension endpoint (one sentence, one home).
    expect(unsupported.message).toBe(`127.0.0.1:1 speaks the original protocol only (a Python node): ${originalRefusal("_synapse.leave", [], {})}; not sent`);
    const keyword = new UnsupportedError("_synapse.join", "127.0.0.1:1", { reason: "_synapse.join takes no keyword argument sig there" });
    expect([keyword.message, "cause" in keyword]).toEqual(["127.0.0.1:1 speaks the original protocol only (a Python node): _synapse.join takes no keyword argument sig there; not sent", false]);
    const wait = new WaitTimeoutError("peer.joined", 1.5);
    expect([wait.event, wait.timeout, wait.message]).toEqual(["peer.joined", 1.5, "timed out after 1.5 s waiting for peer.joined"]);
  });

  test("errors - a peer's or a handler's own code is kept as it came", () => {
    expect(new RemoteError("quota_exceeded", "m", "sum", "127.0.0.1:1").code).toBe("quota_exceeded");
    expect(new EndpointError("not_found", "m").code).toBe("not_found");
    expect(isErrorCode("quota_exceeded")).toBe(false);
    expect(isErrorCode(undefined)).toBe(false);
  });

  test("errors - ErrorCode names each code once", () => {
    const values = Object.values(ErrorCode);
    expect(new Set(values).size).toBe(values.length);
    expect(values).toContain("bad_request");
    expect(values).toContain("internal_error");
    expect(values).toContain("going_away");
    for (const value of values) expect(isErrorCode(value)).toBe(true);
  });
});

describe("errors - waitFor", () => {
  type Events = { ping: number; other: string };

  test("waitFor - rejects with a WaitTimeoutError when no event comes (timeout in seconds)", async () => {
    const emitter = new Emitter<Events>();
    const error = await rejection(waitFor(emitter, "ping", 0.05), WaitTimeoutError);
    expect(error.code).toBe(ErrorCode.Timeout);
    expect([error.event, error.timeout]).toEqual(["ping", 0.05]);
    // Made when the wait started: the stack names the caller, not a timer.
    expect(error.stack).toContain("errors.test.ts");
    expect(emitter.has("ping")).toBe(false); // the listener is gone
  });

  test("waitFor - a matching event resolves it; others do not", async () => {
    const emitter = new Emitter<Events>();
    const waiting = waitFor(emitter, "ping", 10, (n) => n > 1);
    emitter.emit("other", "x");
    emitter.emit("ping", 1);
    emitter.emit("ping", 2);
    expect(await waiting).toBe(2);
    expect(emitter.has("ping")).toBe(false);
  });

  test("waitFor - 0 waits without a timeout", async () => {
    const emitter = new Emitter<Events>();
    const waiting = waitFor(emitter, "ping", 0);
    setTimeout(() => emitter.emit("ping", 7), 60);
    expect(await waiting).toBe(7);
  });

  test("waitFor - a timeout that is not a number of seconds is a ConfigError", async () => {
    const emitter = new Emitter<Events>();
    await rejection(waitFor(emitter, "ping", -1), ConfigError);
    await rejection(waitFor(emitter, "ping", Number.NaN), ConfigError);
    expect(emitter.has("ping")).toBe(false);
  });
});
