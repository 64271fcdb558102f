/**
 * The byte-exact frames of the Python implementation. The contract's copy lives in
 * `../shared/wire-vectors.json` (beside the checkout, in development and in CI); the suite reads a
 * copy kept in `test/fixtures/` so that it also runs where `shared/` is absent, and
 * test/wire/wire-vectors.test.ts checks that the copy is still identical to the contract's.
 */

/** One frame of wire-vectors.json. */
export interface Vector {
  name: string;
  direction: string;
  hex: string;
  decoded: unknown;
}

/** The vendored copy. */
export const VECTORS_URL = new URL("../fixtures/wire-vectors.json", import.meta.url);
/** The contract's copy, beside the checkout (may be absent outside development and CI). */
export const SHARED_VECTORS_URL = new URL("../../../shared/wire-vectors.json", import.meta.url);

/** Every frame. */
export async function loadVectors(): Promise<Vector[]> {
  return ((await Bun.file(VECTORS_URL).json()) as { frames: Vector[] }).frames;
}
