/**
 * Small helpers on byte arrays shared by the wire's users (the secure session's frames, a batch's
 * items as bytes).
 *
 * @module
 */

/** `parts` back to back in one new array (`total`: their summed length, when the caller has it). */
export function concatBytes(parts: readonly Uint8Array[], total?: number): Uint8Array {
  let len = total;
  if (len === undefined) {
    len = 0;
    for (const p of parts) len += p.length;
  }
  const out = new Uint8Array(len);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
