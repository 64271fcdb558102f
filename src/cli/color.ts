/**
 * Imported first by `main.ts`: citty decides once, when it loads, whether to colour its help
 * text, from `NO_COLOR`/`TERM`/`CI`. Help and errors that go to a pipe or a file should carry no
 * escape codes, so `NO_COLOR` is set here when stdout is not a terminal.
 *
 * @module
 */
if (!process.stdout.isTTY && process.env.NO_COLOR === undefined) process.env.NO_COLOR = "1";

/** Remove ANSI colour codes (citty colours parts of its error messages). */
export function plain(text: string): string {
  return text.replace(/\u001b\[[0-9;]*m/g, "");
}
