/**
 * Every error the package throws or rejects with. Each class carries a `code` (the wire error code
 * where one exists) and the data that explains it.
 *
 * @module
 */

/** Wire error codes (the `error.code` of a response). */
export const ErrorCode = {
  BadRequest: "bad_request",
  InternalError: "internal_error",
} as const;

/** Base class: every error thrown by synapse-p2p is a `SynapseError`. */
export class SynapseError extends Error {
  /** Machine-readable code, such as `bad_request`, `timeout` or `connection_closed`. */
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
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
  constructor(code: string, message: string, endpoint: string, peer: string) {
    super(code, message);
    this.name = "RemoteError";
    this.endpoint = endpoint;
    this.peer = peer;
  }
}

/** No response arrived within the call's timeout. */
export class CallTimeoutError extends SynapseError {
  readonly endpoint: string;
  readonly peer: string;
  /** The timeout that ran out, in milliseconds. */
  readonly timeoutMs: number;
  constructor(endpoint: string, peer: string, timeoutMs: number) {
    super("timeout", `call to ${endpoint} on ${peer} timed out after ${timeoutMs} ms`);
    this.name = "CallTimeoutError";
    this.endpoint = endpoint;
    this.peer = peer;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * The connection failed or closed before the response arrived. `sent` tells whether the request
 * had been handed to the socket: when it had, the peer may have run it.
 */
export class ConnectionError extends SynapseError {
  readonly peer: string;
  readonly endpoint: string | undefined;
  readonly sent: boolean;
  constructor(message: string, peer: string, options: { endpoint?: string; sent?: boolean; cause?: unknown } = {}) {
    super("connection_closed", message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ConnectionError";
    this.peer = peer;
    this.endpoint = options.endpoint;
    this.sent = options.sent ?? false;
  }
}

/** A frame announced more bytes than the receiving side accepts. */
export class FrameTooLargeError extends SynapseError {
  readonly size: number;
  readonly limit: number;
  constructor(size: number, limit: number) {
    super("bad_request", `frame too large: ${size} > ${limit}`);
    this.name = "FrameTooLargeError";
    this.size = size;
    this.limit = limit;
  }
}

/** Bytes that are not a valid Synapse message (undecodable, wrong shape, unknown keys). */
export class ProtocolError extends SynapseError {
  constructor(message: string, options?: ErrorOptions) {
    super("bad_request", message, options);
    this.name = "ProtocolError";
  }
}

/** A value MessagePack cannot carry (a function, a symbol, a cyclic structure...). */
export class EncodeError extends SynapseError {
  constructor(message: string, options?: ErrorOptions) {
    super("internal_error", message, options);
    this.name = "EncodeError";
  }
}

/**
 * Thrown by an endpoint handler to answer with a specific wire error code (for example
 * `bad_request` for a membership refusal) instead of `internal_error`.
 */
export class EndpointError extends SynapseError {
  constructor(code: string, message: string) {
    super(code, message);
    this.name = "EndpointError";
  }
}

/**
 * A node could not listen on its address: `code` is `address_in_use` when another socket holds the
 * port, `listen_failed` otherwise (for example an address this machine does not have).
 */
export class ListenError extends SynapseError {
  /** `host:port` the node tried to bind. */
  readonly address: string;
  constructor(address: string, code: "address_in_use" | "listen_failed", message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.name = "ListenError";
    this.address = address;
  }
}

/** Bad arguments to a public API (never from the network). */
export class ConfigError extends SynapseError {
  constructor(message: string) {
    super("invalid_config", message);
    this.name = "ConfigError";
  }
}
