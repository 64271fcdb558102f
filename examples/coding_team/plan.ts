/**
 * What the architect asks for: a request split into one task per function, each with a
 * description and examples a coder's work must pass. In an agent team a model call would write
 * this plan; here it is fixed, so the example runs offline and without any API key.
 */

/** One function to write: its name, what it does, and examples `[arguments, expected result]`. */
export interface FunctionSpec {
  [key: string]: unknown;
  function: string;
  description: string;
  examples: Array<[unknown[], unknown]>;
}

/** The user's request. */
export const REQUEST = "a small text toolkit: slugify, titleCase, wordCount, reverseWords and truncate";

/** The architect's plan for {@link REQUEST}: one task per function. */
export function plan(): FunctionSpec[] {
  return [
    {
      function: "slugify",
      description: "lower-case words joined by single dashes, without other characters",
      examples: [[["Hello, World!"], "hello-world"], [["  Bun  and   TypeScript "], "bun-and-typescript"]],
    },
    {
      function: "titleCase",
      description: "every word with an upper-case first letter and the rest lower-case",
      examples: [[["the QUICK brown fox"], "The Quick Brown Fox"], [["a"], "A"]],
    },
    {
      function: "wordCount",
      description: "how many words (runs of non-space characters) a text has",
      examples: [[["one two  three"], 3], [["   "], 0]],
    },
    {
      function: "reverseWords",
      description: "the words in reverse order, joined by single spaces",
      examples: [[["swarms of agents"], "agents of swarms"], [["solo"], "solo"]],
    },
    {
      function: "truncate",
      description: "the text cut to at most n characters, ending with an ellipsis when cut",
      examples: [[["peer to peer", 7], "peer t…"], [["short", 10], "short"]],
    },
  ];
}
