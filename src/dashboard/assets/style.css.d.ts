/** `style.css` imported `with { type: "file" }` (embedded by `bun build --compile`): its path. */
declare const path: string;
export default path;
