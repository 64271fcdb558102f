/**
 * The seam through which a node counts its traffic: the listener and the client connections tell
 * a {@link TrafficMeter} of every frame they send or receive, with the endpoint it belongs to.
 *
 * The transport only reports; what the counts are grouped by (user endpoints, membership,
 * conversations) is decided above it, by the meter the node gives (`node-metrics.ts`). The calls
 * happen on the hot path, once per frame, so a meter must not allocate: it increments numbers.
 *
 * @module
 */

/** Receives the size of every frame a listener or a client connection handles. */
export interface TrafficMeter {
  /**
   * A frame went out: a request to `endpoint` (`request` true, a client side call) or the response
   * to one (`request` false, a served call). `bytes` counts the frame with its length header.
   */
  sent(endpoint: string, bytes: number, request: boolean): void;
  /**
   * A frame came in: a request to `endpoint` (served here) or the response to a call this side
   * made to `endpoint`. `bytes` counts the frame with its length header.
   */
  received(endpoint: string, bytes: number, request: boolean): void;
}
