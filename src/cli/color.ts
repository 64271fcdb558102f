/**
 * Colours of `sn`: only on a terminal, never with `NO_COLOR` set (https://no-color.org), and
 * `FORCE_COLOR` to force them (for example under tmux in tests that look at the colours).
 *
 * @module
 */

/** ANSI SGR codes `sn` uses. */
const CODES = { bold: 1, dim: 2, red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36, gray: 90 } as const;

/** A colour name of {@link paint}. */
export type Colour = keyof typeof CODES;

/** Whether output to `stream` should carry colours. */
export function colourEnabled(stream: { isTTY?: boolean } = process.stdout): boolean {
  const env = process.env;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "" && env.FORCE_COLOR !== "0") return true;
  return stream.isTTY === true && env.TERM !== "dumb";
}

/** A painter: `paint("red", text)`, or the text unchanged when colours are off. */
export type Painter = (colour: Colour, text: string) => string;

/** A {@link Painter} that colours when `enabled`. */
export function painter(enabled: boolean): Painter {
  return enabled ? (colour, text) => `\u001b[${CODES[colour]}m${text}\u001b[0m` : (_colour, text) => text;
}

/** Remove ANSI escape codes. */
export function plain(text: string): string {
  return text.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, "");
}
