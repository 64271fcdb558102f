/**
 * Every error the package throws or rejects with, in one place. Each class sets `name`, accepts
 * `ErrorOptions` (`{ cause }`), carries a `code` from {@link ErrorCode} and the data that explains
 * it. Catch by class, or switch on `code`:
 *
 * @example
 * import { CallTimeoutError, ErrorCode, SynapseError } from "synapse-p2p";
 * try {
 *   await client.call("sum", 1, 2);
 * } catch (error) {
 *   if (error instanceof CallTimeoutError) console.log("slow peer", error.peer);
 *   else if (error instanceof SynapseError && error.code === ErrorCode.BadRequest) console.log("refused");
 * }
 *
 * @module
 */

/**
 * Every code the package sends on the wire or throws locally. Wire codes travel in the
 * `error.code` of a response (`bad_request`, `internal_error`, `going_away`); the others name a
 * failure seen on this side only.
 */
export const ErrorCode = {
  /** Wire: the request was refused (undecodable, bad shape, unknown endpoint, membership refused...). */
  BadRequest: "bad_request",
  /** Wire: the endpoint raised, or its result could not be encoded. */
  InternalError: "internal_error",
  /** Wire: the server is closing the connection; requests not answered were not run. */
  GoingAway: "going_away",
  /** No answer (or event) within the timeout. */
  Timeout: "timeout",
  /** Could not connect, or the connection closed before the answer. */
  ConnectionClosed: "connection_closed",
  /** Bad arguments or options to a public API. */
  InvalidConfig: "invalid_config",
  /** A schedule that cannot work (interval, cron expression, time zone, solar event, place). */
  InvalidSchedule: "invalid_schedule",
  /** `node.start()`: another socket holds the port. */
  AddressInUse: "address_in_use",
  /** `node.start()`: could not listen for any other reason (an address this machine lacks...). */
  ListenFailed: "listen_failed",
  /** A broadcast found no peer to send to (the `sn` CLI). */
  NoPeers: "no_peers",
  /** A command line `sn` cannot run (unknown command or flag, bad value): exit code 2. */
  Usage: "usage",
  /** A team task failed: its worker reported `task.failed`, or no worker completed it within `maxAttempts` offers. */
  TaskFailed: "task_failed",
  /** A closed swarm's handshake failed: no or another swarm key, a plaintext peer, a bad identity, a timeout. */
  HandshakeFailed: "handshake_failed",
  /** An encrypted connection broke its record layer (a record that does not authenticate, a nonce used up). */
  SecureChannel: "secure_channel",
  /** A signed record (an artifact, an agent card) whose signature or content does not verify. */
  BadSignature: "bad_signature",
  /** A Bun extension endpoint, or an argument a built-in lacks, asked of a peer that speaks the original protocol only (a Python node): not sent. */
  Unsupported: "unsupported",
} as const;

/** One of the codes of {@link ErrorCode}: every code this package sends or throws. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * A code as it travels on the wire: one of ours, or any string that a peer (a newer version, the
 * Python package) or an endpoint handler ({@link EndpointError}) chose. `string & {}` keeps the
 * known codes offered by the editor while accepting any string.
 */
export type WireErrorCode = ErrorCode | (string & {});

const KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode));

/** True when `code` is one of this package's {@link ErrorCode}s (not a peer's own code). */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === "string" && KNOWN_CODES.has(code);
}

/**
 * Base class: every error thrown by synapse-p2p is a `SynapseError`. Its `code` is an
 * {@link ErrorCode}, except for a {@link RemoteError} or an {@link EndpointError}, which carry
 * whatever code the peer or the handler chose.
 */
export class SynapseError extends Error {
  /** Machine-readable code, such as `bad_request`, `timeout` or `connection_closed`. */
  readonly code: WireErrorCode;
  constructor(code: WireErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SynapseError";
    this.code = code;
  }
}

/** The remote endpoint answered `ok: false`; `code` and `message` are the peer's. */
export class RemoteError extends SynapseError {
  /** The endpoint that was called. */
  readonly endpoint: string;
  /** `host:port` of the peer that answered. */
  readonly peer: string;
  constructor(code: WireErrorCode, message: string, endpoint: string, peer: string, options?: ErrorOptions) {
    super(code, message, options);
    this.name = "RemoteError";
    this.endpoint = endpoint;
    this.peer = peer;
  }
}

/** No response arrived within the call's timeout. */
export class CallTimeoutError extends SynapseError {
  declare readonly code: typeof ErrorCode.Timeout;
  /** The endpoint that was called. */
  readonly endpoint: string;
  /** `host:port` of the peer that was called. */
  readonly peer: string;
  /** The timeout that ran out, in milliseconds. */
  readonly timeoutMs: number;
  constructor(endpoint: string, peer: string, timeoutMs: number, options?: ErrorOptions) {
    super(ErrorCode.Timeout, `call to ${endpoint} on ${peer} timed out after ${timeoutMs} ms`, options);
    this.name = "CallTimeoutError";
    this.endpoint = endpoint;
    this.peer = peer;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * `waitFor` saw no matching event within its timeout. Created when the wait starts, so its
 * stack points at the code that waited.
 */
export class WaitTimeoutError extends SynapseError {
  declare readonly code: typeof ErrorCode.Timeout;
  /** The event that was awaited. */
  readonly event: string;
  /** The timeout that ran out, in seconds. */
  readonly timeout: number;
  constructor(event: string, timeout: number, options?: ErrorOptions) {
    super(ErrorCode.Timeout, `timed out after ${timeout} s waiting for ${event}`, options);
    this.name = "WaitTimeoutError";
    this.event = event;
    this.timeout = timeout;
  }
}

/** Options of a {@link ConnectionError}. */
export interface ConnectionErrorOptions extends ErrorOptions {
  /** The endpoint of the call that failed, when a call failed. */
  endpoint?: string;
  /** Whether the request had been handed to the socket (default false). */
  sent?: boolean;
}

/**
 * The connection failed or closed before the response arrived. `sent` tells whether the request
 * had been handed to the socket: when it had, the peer may have run it.
 */
export class ConnectionError extends SynapseError {
  declare readonly code: typeof ErrorCode.ConnectionClosed;
  /** `host:port` of the peer. */
  readonly peer: string;
  /** The endpoint of the call that failed, if any. */
  readonly endpoint: string | undefined;
  /** True when the request had gone out: the peer may have run it. */
  readonly sent: boolean;
  constructor(message: string, peer: string, options: ConnectionErrorOptions = {}) {
    super(ErrorCode.ConnectionClosed, message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ConnectionError";
    this.peer = peer;
    this.endpoint = options.endpoint;
    this.sent = options.sent ?? false;
  }
}

/**
 * A frame announced more bytes than the receiving side accepts. `bad_request`, as the wire answers
 * an oversized request frame (`frame too large: N > LIMIT`).
 */
export class FrameTooLargeError extends SynapseError {
  declare readonly code: typeof ErrorCode.BadRequest;
  /** The size the frame header announced, in bytes. */
  readonly size: number;
  /** The limit it exceeds, in bytes. */
  readonly limit: number;
  constructor(size: number, limit: number, options?: ErrorOptions) {
    super(ErrorCode.BadRequest, `frame too large: ${size} > ${limit}`, options);
    this.name = "FrameTooLargeError";
    this.size = size;
    this.limit = limit;
  }
}

/** Bytes that are not a valid Synapse message (undecodable, wrong shape, unknown keys). */
export class ProtocolError extends SynapseError {
  declare readonly code: typeof ErrorCode.BadRequest;
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCode.BadRequest, message, options);
    this.name = "ProtocolError";
  }
}

/** A value MessagePack cannot carry (a function, a symbol, a cyclic structure...). */
export class EncodeError extends SynapseError {
  declare readonly code: typeof ErrorCode.InternalError;
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCode.InternalError, message, options);
    this.name = "EncodeError";
  }
}

/**
 * Thrown by an endpoint handler to answer with a specific wire error code (for example
 * `bad_request` for a membership refusal) instead of `internal_error`. The code is the handler's
 * choice: one of {@link ErrorCode} or a code of its own.
 */
export class EndpointError extends SynapseError {
  constructor(code: WireErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.name = "EndpointError";
  }
}

/**
 * A node could not listen on its address: `code` is `address_in_use` when another socket holds the
 * port, `listen_failed` otherwise (for example an address this machine does not have).
 */
export class ListenError extends SynapseError {
  declare readonly code: typeof ErrorCode.AddressInUse | typeof ErrorCode.ListenFailed;
  /** `host:port` the node tried to bind. */
  readonly address: string;
  constructor(address: string, code: typeof ErrorCode.AddressInUse | typeof ErrorCode.ListenFailed, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.name = "ListenError";
    this.address = address;
  }
}

/** Bad arguments to a public API (never from the network). */
export class ConfigError extends SynapseError {
  declare readonly code: typeof ErrorCode.InvalidConfig;
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCode.InvalidConfig, message, options);
    this.name = "ConfigError";
  }
}

/**
 * A schedule that cannot work: a bad interval, cron expression, time zone, solar event or
 * location, or a schedule whose event never occurs. Thrown when the schedule is built or
 * registered, never later from a timer. `cause` keeps the underlying library error.
 */
export class ScheduleError extends SynapseError {
  declare readonly code: typeof ErrorCode.InvalidSchedule;
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCode.InvalidSchedule, message, options);
    this.name = "ScheduleError";
  }
}

/**
 * A command line `sn` cannot run (an unknown command or flag, a missing or bad value): printed as
 * one line, exit code 2. `command` names the command it concerns, for the `sn <command> --help` hint.
 */
export class UsageError extends SynapseError {
  declare readonly code: typeof ErrorCode.Usage;
  /** The command it concerns, when known. */
  readonly command: string | null;
  constructor(message: string, command: string | null = null, options?: ErrorOptions) {
    super(ErrorCode.Usage, message, options);
    this.name = "UsageError";
    this.command = command;
  }
}

/**
 * `team.wait(task)` could not return a result: the task failed (`code` `task_failed`: its worker
 * reported `task.failed`, or no worker completed it within `maxAttempts` offers; `error` is the
 * reason as the task records it) or the wait timed out (`code` `timeout`; the task goes on).
 */
export class TeamTaskError extends SynapseError {
  declare readonly code: typeof ErrorCode.TaskFailed | typeof ErrorCode.Timeout;
  /** The task (its id is its conversation id). */
  readonly taskId: string;
  /** The task's error text when it failed; null when the wait timed out. */
  readonly error: string | null;
  /** Offers made for the task so far. */
  readonly attempts: number;
  constructor(code: typeof ErrorCode.TaskFailed | typeof ErrorCode.Timeout, taskId: string, message: string, details: { error?: string | null; attempts?: number } = {}, options?: ErrorOptions) {
    super(code, message, options);
    this.name = "TeamTaskError";
    this.taskId = taskId;
    this.error = details.error ?? null;
    this.attempts = details.attempts ?? 0;
  }
}

/** Why a {@link HandshakeError} happened. */
export type HandshakeFailure =
  /** The peer spoke plaintext (an open-swarm node, a Python node) or something else than this protocol. */
  | "not_noise"
  /** A handshake message did not authenticate: the peer holds none of our swarm keys, or another swarm name. */
  | "bad_key"
  /** The peer's identity proof (its Ed25519 signature over the handshake) was missing or wrong. */
  | "bad_identity"
  /** The handshake did not finish in time. */
  | "timeout"
  /** The connection closed during the handshake. */
  | "closed"
  /** A handshake message broke the Noise rules (size, order). */
  | "protocol";

/**
 * The handshake of a closed swarm's connection failed (`handshake_failed`): nothing was sent in the
 * clear and the connection is closed. `reason` says why.
 */
export class HandshakeError extends SynapseError {
  declare readonly code: typeof ErrorCode.HandshakeFailed;
  /** What went wrong. */
  readonly reason: HandshakeFailure;
  constructor(reason: HandshakeFailure, message: string, options?: ErrorOptions) {
    super(ErrorCode.HandshakeFailed, message, options);
    this.name = "HandshakeError";
    this.reason = reason;
  }
}

/**
 * An encrypted channel cannot go on (`secure_channel`): a record did not authenticate (tampered,
 * replayed, reordered), a message was over Noise's 65535 bytes, or a key's nonces ran out. The
 * connection is closed.
 */
export class SecureChannelError extends SynapseError {
  declare readonly code: typeof ErrorCode.SecureChannel;
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCode.SecureChannel, message, options);
    this.name = "SecureChannelError";
  }
}

/** Why a {@link SignatureError} happened. */
export type SignatureFailure =
  /** Its content does not match its digest, its signature does not verify, or another node signed it. */
  | "tampered"
  /** It carries no signature, and its author is known to sign (or the swarm is closed). */
  | "unsigned";

/**
 * A signed record fetched from a peer does not hold (`bad_signature`): an artifact tampered with,
 * or unsigned where a signature is due (docs/security.md). `reason` says which; the message, why.
 */
export class SignatureError extends SynapseError {
  declare readonly code: typeof ErrorCode.BadSignature;
  /** What does not hold. */
  readonly reason: SignatureFailure;
  constructor(reason: SignatureFailure, message: string, options?: ErrorOptions) {
    super(ErrorCode.BadSignature, message, options);
    this.name = "SignatureError";
    this.reason = reason;
  }
}

/**
 * Why a node of the original protocol would not take a call to `endpoint`, an extension of this
 * implementation: {@link UnsupportedError}'s default reason, and `originalRefusal`'s (wire/protocol.ts).
 */
export function extensionReason(endpoint: string): string {
  return `${endpoint} is an extension of synapse-p2p for Bun`;
}

/**
 * A call the peer could not take was refused before any byte of it was sent (`unsupported`): the
 * peer refused the hello, so it speaks the original protocol only (a Python node), and the call is
 * to an extension endpoint of this implementation (`_synapse.swim.*`, `_synapse.conversation.batch`,
 * `_synapse.leave`, `_synapse.metrics`...) or gives one of the original built-ins an argument it has
 * no parameter for (a Bun-only keyword such as `sig` or `page`). Nothing ran on the peer.
 */
export class UnsupportedError extends SynapseError {
  declare readonly code: typeof ErrorCode.Unsupported;
  /** `host:port` of the peer. */
  readonly peer: string;
  /** The endpoint that was not sent. */
  readonly endpoint: string;
  /** Always false: nothing was sent. */
  readonly sent = false;
  /**
   * @param options `reason`: what the peer would not take, as the message says it (default: the
   *   endpoint is an extension of this implementation); `cause` as for every error.
   */
  constructor(endpoint: string, peer: string, options: ErrorOptions & { reason?: string } = {}) {
    const { reason = extensionReason(endpoint), ...rest } = options;
    super(ErrorCode.Unsupported, `${peer} speaks the original protocol only (a Python node): ${reason}; not sent`, "cause" in rest ? rest : undefined);
    this.name = "UnsupportedError";
    this.peer = peer;
    this.endpoint = endpoint;
  }
}
