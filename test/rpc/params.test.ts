import { describe, expect, test } from "bun:test";
import { parameterNames } from "../../src/rpc/params.ts";
import { EndpointRegistry, bindArguments, type CallContext } from "../../src/rpc/endpoints.ts";
import { request } from "../../src/wire/messages.ts";

describe("params - names read from a handler's source", () => {
  const cases: Array<[string, Function, string[]]> = [
    ["arrow", (a: number, b: number) => a + b, ["a", "b"]],
    ["lone arrow parameter", (x: number) => x, ["x"]],
    ["async arrow", async (a: number, b: number) => a + b, ["a", "b"]],
    ["function expression", function (a: number, b: number) { return a + b; }, ["a", "b"]],
    ["named async function", async function named(first: string) { return first; }, ["first"]],
    ["generator", function* (a: number) { yield a; }, ["a"]],
    ["method", { m(a: number, b: number) { return a + b; } }.m, ["a", "b"]],
    ["async method", { async m(q: string) { return q; } }.m, ["q"]],
    ["defaults with brackets, commas and strings", (a = 1, b = { x: [1, 2] }, c = "s,t") => [a, b, c], ["a", "b", "c"]],
    ["a default holding // (a URL)", (url = "http://example.com", b = 2) => url + b, ["url", "b"]],
    ["a default holding a paren in a string", (a = ")", b = 2) => a + b, ["a", "b"]],
    ["a default that is an arrow function", (cb = (x: number, y: number) => x + y, z = 3) => cb(z, z), ["cb", "z"]],
    ["$ and _", ($a: number, _b: number) => $a + _b, ["$a", "_b"]],
    ["non-ASCII names", (café: number, naïve: number) => café + naïve, ["café", "naïve"]],
    ["stops at a destructured parameter", (a: number, { x }: { x: number }, c: number) => a + x + c, ["a"]],
    ["stops at a rest parameter", (a: number, ...more: number[]) => a + more.length, ["a"]],
    ["no parameters", () => 1, []],
    ["a bound function has no readable source", function (a: number) { return a; }.bind(null), []],
  ];
  for (const [name, fn, expected] of cases) {
    test(name, () => {
      expect(parameterNames(fn)).toEqual(expected);
    });
  }

  test("source with comments (e.g. new Function keeps them)", () => {
    // biome-ignore lint: Function constructor on purpose, to get source with comments in it.
    const fn = new Function("a /* first, (with a paren */", "b // second, http://x\n", "return a + b");
    expect(parameterNames(fn)).toEqual(["a", "b"]);
  });
});

describe("params - binding", () => {
  const ctx = (kwargs: Record<string, unknown>): CallContext => ({
    endpoint: "e",
    id: "1",
    kwargs,
    broadcast: null,
    remote: { address: "127.0.0.1", port: 1 },
    remoteIdentity: null,
  });

  test("kwargs go to their parameter's position; the context only to a handler that asks, after its params", () => {
    const plain = { name: "e", description: "", publish: true, params: ["a", "b", "c"], context: false, handler: () => 0 };
    const withContext = { ...plain, context: true };
    const c1 = ctx({ c: 3 });
    expect(bindArguments(plain, [1], { c: 3 }, c1)).toEqual([1, undefined, 3]);
    expect(bindArguments(withContext, [1], { c: 3 }, c1)).toEqual([1, undefined, 3, c1]);
    const c2 = ctx({});
    expect(bindArguments(plain, [], {}, c2)).toEqual([]);
    expect(bindArguments(withContext, [], {}, c2)).toEqual([undefined, undefined, undefined, c2]);
    expect(bindArguments(withContext, [1, 2], {}, c2)).toEqual([1, 2, undefined, c2]);
  });

  test("Python's TypeError texts: unknown keyword, multiple values, too many positional arguments", () => {
    const endpoint = { name: "sum", description: "", publish: true, params: ["a", "b"], context: true, handler: () => 0 };
    const c = ctx({});
    expect(() => bindArguments(endpoint, [], { a: 1, c: 2 }, c)).toThrow("sum() got an unexpected keyword argument 'c'");
    expect(() => bindArguments({ ...endpoint, context: false }, [], { a: 1, c: 2 }, c)).toThrow("sum() got an unexpected keyword argument 'c'");
    expect(() => bindArguments(endpoint, [1], { a: 1 }, c)).toThrow("sum() got multiple values for argument 'a'");
    expect(() => bindArguments(endpoint, [1, 2, 3], {}, c)).toThrow("sum() takes 2 positional arguments but 3 were given");
    expect(() => bindArguments({ ...endpoint, params: [] }, [1], {}, c)).toThrow("sum() takes 0 positional arguments but 1 was given");
    // Python's **kwargs: { extraKwargs: true } leaves them in ctx.kwargs.
    expect(bindArguments({ ...endpoint, extraKwargs: true }, [], { a: 1, c: 2 }, c)).toEqual([1, undefined, c]);
    // Without a context, extra positional arguments reach a rest parameter as JavaScript passes them.
    expect(bindArguments({ ...endpoint, context: false }, [1, 2, 3], {}, c)).toEqual([1, 2, 3]);
  });

  test("a last parameter named ctx asks for the context; { context } overrides the rule", () => {
    const registry = new EndpointRegistry();
    const named = registry.register("a", {}, (x: unknown, ctx: CallContext) => [x, ctx]);
    expect(named.params).toEqual(["x"]);
    expect(named.context).toBe(true);
    const plain = registry.register("b", {}, (x: unknown, context: unknown) => [x, context]);
    expect(plain.params).toEqual(["x", "context"]);
    expect(plain.context).toBe(false);
    const explicit = registry.register("c", { context: true }, (x: unknown, call: CallContext) => [x, call]);
    expect(explicit.params).toEqual(["x"]); // the last parameter is the context's
    const given = registry.register("d", { params: ["x"], context: true }, (...args: unknown[]) => args);
    expect(given.params).toEqual(["x"]);
    // params given and a last parameter named ctx: the context still comes (as before params existed).
    const both = registry.register("f", { params: ["first"] }, (x: unknown, ctx: CallContext) => [x, ctx]);
    expect([both.params, both.context]).toEqual([["first"], true]);
    const off = registry.register("e", { context: false }, (x: unknown, ctx: unknown) => [x, ctx]);
    expect(off.params).toEqual(["x", "ctx"]);
    expect(off.context).toBe(false);
  });

  test("a default value is kept when its kwarg is missing and a later one is given", async () => {
    const registry = new EndpointRegistry();
    registry.register("e", {}, (a: number, b = 10, c = 100) => [a, b, c]);
    const res = await registry.dispatch(request("e", "1", [1], { c: 3 }), { address: "127.0.0.1", port: 1 });
    expect(res.result).toEqual([1, 10, 3]);
  });

  test("a URL default does not break kwargs binding", async () => {
    const registry = new EndpointRegistry();
    registry.register("fetch", {}, (url = "http://example.com/a", retries = 1) => `${url} x${retries}`);
    const res = await registry.dispatch(request("fetch", "1", [], { retries: 3 }), { address: "127.0.0.1", port: 1 });
    expect(res).toMatchObject({ ok: true, result: "http://example.com/a x3" });
  });
});
