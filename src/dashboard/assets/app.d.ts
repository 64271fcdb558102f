/**
 * `app.js` is the page's script, run by the browser, not by Bun. The server imports it only
 * `with { type: "file" }` (so that `bun build --compile` embeds it), which yields its path.
 */
declare const path: string;
export default path;
