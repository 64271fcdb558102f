/**
 * Calls `sum(1, 2)` on the calculator node at 127.0.0.1:9999 (or $PORT) and prints the result.
 *
 * Run `bun examples/basic_rpc/node.ts` first.
 */
import { Client, kw } from "../../src/index.ts";

const client = new Client("127.0.0.1", Number(process.env.PORT ?? 9999), { timeout: 5 });

// Positional arguments, as in Python's client.call("sum", 1, 2).
const result = await client.call<number>("sum", 1, 2);
console.log(`sum(1, 2) = ${result}`);

// The same call with keyword arguments, as in Python's client.call("sum", a=1, b=2).
const again = await client.call<number>("sum", kw({ a: 1, b: 2 }));
console.log(`sum(a=1, b=2) = ${again}`);
