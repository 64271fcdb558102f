/**
 * What a call carries through the pool besides its request: its timeout as a deadline, its frame
 * limit, and how a failed answer becomes an error (given by the RPC layer, which knows what an
 * answer's error means; the transport only carries answers).
 *
 * @module
 */
import type { ResponseMessage } from "../wire/messages.ts";
import type { TrafficMeter } from "./traffic.ts";

/**
 * Turns an `ok: false` response (or an id-less error the peer sent before closing) into the error
 * the call rejects with. The RPC layer's `responseError` makes a `RemoteError`.
 */
export type ResponseErrorMapper = (res: ResponseMessage, endpoint: string, peer: string) => Error;

/** Per-call settings. A Client keeps one object for all its calls without a timeout of their own. */
export interface CallSettings {
  /** Milliseconds; 0 or Infinity = no timeout. */
  timeoutMs: number;
  /** Largest accepted response frame, bytes. */
  maxFrame: number;
  /** How a failed answer becomes the call's error. */
  toError: ResponseErrorMapper;
  /**
   * When the call times out, on the {@link clock}. Set once when the call starts, so that
   * connecting, the hello and a retry all come out of the same budget.
   */
  deadline?: number;
  /** Told of the request's frame and of its response's (a node's traffic counters); none when absent. */
  meter?: TrafficMeter;
}

/** Clock of the call deadlines (ms): monotonic and much cheaper than `Date.now()`. */
export const clock = (): number => performance.now();

/** The deadline of a call starting now. */
export function deadlineOf(settings: CallSettings): number {
  if (settings.deadline !== undefined) return settings.deadline;
  const t = settings.timeoutMs;
  return t > 0 && t < Infinity ? clock() + t : Infinity;
}

/** `promise`, or `onTimeout()` when `deadline` (clock ms) comes first. */
export function untilDeadline<T>(promise: Promise<T>, deadline: number, onTimeout: () => Error): Promise<T> {
  if (deadline === Infinity) return promise;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), Math.max(0, deadline - clock()));
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
