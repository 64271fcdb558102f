/**
 * Reading a handler's parameter names from its source, so that keyword arguments sent by Python
 * peers (`Client.call("sum", a=1, b=2)`) bind by name. Only plain names (with or without default
 * values) are read; at the first destructured or rest parameter the list stops.
 *
 * @module
 */

const IDENT = /^[A-Za-z_$][\w$]*$/;

/** Split `text` at top-level commas, skipping brackets, strings and template literals. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === "\\") i++;
      else if (c === quote) quote = null;
      continue;
    }
    if (c === '"' || c === "'" || c === "`") quote = c;
    else if (c === "(" || c === "[" || c === "{") depth++;
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

/** The text between a function's parameter parentheses, or the lone arrow parameter. */
function parameterText(source: string): string | null {
  const src = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
  // `x => ...` or `async x => ...`
  const single = /^(?:async\s+)?([A-Za-z_$][\w$]*)\s*=>/.exec(src.trim());
  if (single) return single[1]!;
  const open = src.indexOf("(");
  if (open < 0) return null;
  let depth = 0;
  let quote: string | null = null;
  for (let i = open; i < src.length; i++) {
    const c = src[i]!;
    if (quote) {
      if (c === "\\") i++;
      else if (c === quote) quote = null;
      continue;
    }
    if (c === '"' || c === "'" || c === "`") quote = c;
    else if (c === "(") depth++;
    else if (c === ")" && --depth === 0) return src.slice(open + 1, i);
  }
  return null;
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
    const name = part.split("=")[0]!.trim();
    if (!IDENT.test(name)) break; // destructuring or rest: names beyond are unknown
    names.push(name);
  }
  return names;
}
