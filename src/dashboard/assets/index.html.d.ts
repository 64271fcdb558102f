/**
 * `index.html` imported `with { type: "file" }` (embedded by `bun build --compile`): its path.
 * Declared here because bun-types types every `*.html` import as an HTML bundle.
 */
declare const path: string;
export default path;
