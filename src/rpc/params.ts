/**
 * Reading a handler's parameter names from its source, so that keyword arguments sent by Python
 * peers (`Client.call("sum", a=1, b=2)`) bind by name. Only plain names (with or without default
 * values) are read; at the first destructured or rest parameter the list stops.
 *
 * @module
 */

// A JavaScript identifier (Unicode letters included, as Python's are).
const IDENT = /^[\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*$/u;

/**
 * When `src[i]` opens a string, a template literal or a comment, the index just past it; else -1.
 * Scanning with this (rather than stripping comments with a regular expression first) keeps a
 * `//` inside a default value such as `url = "http://host"` from eating the rest of the line.
 */
function skipNonCode(src: string, i: number): number {
  const c = src[i];
  if (c === '"' || c === "'" || c === "`") {
    for (let j = i + 1; j < src.length; j++) {
      if (src[j] === "\\") j++;
      else if (src[j] === c) return j + 1;
    }
    return src.length;
  }
  if (c === "/" && src[i + 1] === "/") {
    const end = src.indexOf("\n", i);
    return end < 0 ? src.length : end;
  }
  if (c === "/" && src[i + 1] === "*") {
    const end = src.indexOf("*/", i + 2);
    return end < 0 ? src.length : end + 2;
  }
  return -1;
}

/** Split `text` at top-level commas, skipping brackets, strings, template literals and comments. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const skip = skipNonCode(text, i);
    if (skip >= 0) {
      i = skip - 1;
      continue;
    }
    const c = text[i]!;
    if (c === "(" || c === "[" || c === "{") depth++;
    else if (c === ")" || c === "]" || c === "}") depth--;
    else if (c === "," && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  const last = text.slice(start);
  if (last.trim()) parts.push(last);
  return parts;
}

/** `text` without its comments (strings kept as they are). */
function withoutComments(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const skip = skipNonCode(text, i);
    if (skip < 0) {
      out += text[i];
      continue;
    }
    if (text[i] === "/") out += " ";
    else out += text.slice(i, skip);
    i = skip - 1;
  }
  return out;
}

/** The text between a function's parameter parentheses, or the lone arrow parameter. */
function parameterText(source: string): string | null {
  // `x => ...` or `async x => ...`
  const single = /^(?:async\s+)?([^\s()=,]+)\s*=>/u.exec(withoutComments(source).trim());
  if (single) return single[1]!;
  let open = -1;
  let depth = 0;
  for (let i = 0; i < source.length; i++) {
    const skip = skipNonCode(source, i);
    if (skip >= 0) {
      i = skip - 1;
      continue;
    }
    const c = source[i]!;
    if (c === "(") {
      if (depth++ === 0 && open < 0) open = i;
    } else if (c === ")" && --depth === 0 && open >= 0) {
      return source.slice(open + 1, i);
    }
  }
  return null;
}

/** A parameter name as written in source: `caf\u{e9}` (how Bun prints `café`) becomes `café`. */
function unescapeName(name: string): string {
  return name.replace(/\\u\{([0-9a-fA-F]+)\}|\\u([0-9a-fA-F]{4})/g, (_, long?: string, short?: string) =>
    String.fromCodePoint(parseInt((long ?? short)!, 16)),
  );
}

/**
 * The names of `fn`'s leading plain parameters, in order.
 *
 * @example parameterNames((a, b = 2, ...rest) => a) // ["a", "b"]
 */
export function parameterNames(fn: Function): string[] {
  let text: string | null;
  try {
    text = parameterText(Function.prototype.toString.call(fn));
  } catch {
    return [];
  }
  if (!text) return [];
  const names: string[] = [];
  for (const part of splitTopLevel(text)) {
    const name = unescapeName(withoutComments(part).split("=")[0]!.trim());
    if (!IDENT.test(name)) break; // destructuring or rest: names beyond are unknown
    names.push(name);
  }
  return names;
}
