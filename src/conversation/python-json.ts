/**
 * Reading JSON text that Python's `json.dumps` wrote. Python's JSON is standard JSON plus three
 * bare words, `NaN`, `Infinity` and `-Infinity` (its default `allow_nan=True`), which
 * `JSON.parse` refuses. Standard text goes through `JSON.parse` (fast); only text it refuses is read
 * by the small parser below.
 *
 * @module
 */

const WORDS: Record<string, unknown> = { true: true, false: false, null: null, NaN: Number.NaN, Infinity: Number.POSITIVE_INFINITY, "-Infinity": Number.NEGATIVE_INFINITY };

class Reader {
  at = 0;
  constructor(private readonly text: string) {}

  fail(what: string): never {
    throw new SyntaxError(`${what} at character ${this.at}`);
  }

  space(): void {
    while (this.at < this.text.length && " \t\n\r".includes(this.text[this.at]!)) this.at++;
  }

  value(depth: number): unknown {
    if (depth > 512) this.fail("nested too deeply");
    this.space();
    const c = this.text[this.at];
    if (c === "{") return this.object(depth);
    if (c === "[") return this.array(depth);
    if (c === '"') return this.string();
    for (const word in WORDS) {
      if (this.text.startsWith(word, this.at)) {
        this.at += word.length;
        return WORDS[word];
      }
    }
    const number = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(this.text.slice(this.at, this.at + 400));
    if (!number) this.fail("unexpected text");
    this.at += number[0].length;
    return Number(number[0]);
  }

  string(): string {
    // A JSON string literal is read by JSON.parse itself: escapes behave exactly as standard.
    const start = this.at;
    for (this.at++; this.at < this.text.length; this.at++) {
      const c = this.text[this.at];
      if (c === "\\") this.at++;
      else if (c === '"') return JSON.parse(this.text.slice(start, ++this.at)) as string;
    }
    return this.fail("unterminated string");
  }

  expect(c: string): void {
    this.space();
    if (this.text[this.at] !== c) this.fail(`expected '${c}'`);
    this.at++;
  }

  array(depth: number): unknown[] {
    this.at++;
    const out: unknown[] = [];
    this.space();
    if (this.text[this.at] === "]") {
      this.at++;
      return out;
    }
    for (;;) {
      out.push(this.value(depth + 1));
      this.space();
      if (this.text[this.at] === "]") {
        this.at++;
        return out;
      }
      this.expect(",");
    }
  }

  object(depth: number): Record<string, unknown> {
    this.at++;
    const out: Record<string, unknown> = {};
    this.space();
    if (this.text[this.at] === "}") {
      this.at++;
      return out;
    }
    for (;;) {
      this.space();
      if (this.text[this.at] !== '"') this.fail("expected a key");
      const key = this.string();
      this.expect(":");
      // defineProperty: a "__proto__" key is data, not the object's prototype (as JSON.parse does).
      Object.defineProperty(out, key, { value: this.value(depth + 1), enumerable: true, writable: true, configurable: true });
      this.space();
      if (this.text[this.at] === "}") {
        this.at++;
        return out;
      }
      this.expect(",");
    }
  }
}

/**
 * Parse JSON as Python's `json.loads` reads it: standard JSON, plus `NaN`, `Infinity` and
 * `-Infinity`.
 *
 * @throws {SyntaxError} for anything else.
 * @example pythonJsonLoads('{"x": NaN}') // { x: NaN }
 */
export function pythonJsonLoads(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    if (!/NaN|Infinity/.test(text)) throw error;
  }
  const reader = new Reader(text);
  const value = reader.value(0);
  reader.space();
  if (reader.at !== text.length) reader.fail("unexpected text after the value");
  return value;
}
