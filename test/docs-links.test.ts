/**
 * The README's and the docs' links between each other: every relative link names a file that
 * exists, and every `#anchor` one of that Markdown file's headings (as GitHub makes them: lower
 * case, punctuation dropped, spaces to hyphens, `-1`, `-2` ... for repeats).
 */
import { expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { ROOT, markdownFiles } from "./helpers/markdown.ts";

/** Text outside fenced code blocks. */
function prose(text: string): string {
  return text.replace(/^```[^\n]*\n[\s\S]*?^```[^\n]*$/gm, "");
}

/** The anchors of a Markdown file's headings, as GitHub makes them. */
function headingAnchors(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of prose(text).split("\n")) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = m[1]!.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/ /g, "-");
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

test("docs - the anchor of a heading is GitHub's", () => {
  const anchors = headingAnchors("# Swarm membership in detail\n## sn ping / info / methods\n### Issue #12: the runtime's share (Dec 4, s40)\n## Errors\n## Errors\n```sh\n# not a heading\n```\n");
  expect([...anchors]).toEqual(["swarm-membership-in-detail", "sn-ping--info--methods", "issue-12-the-runtimes-share-dec-4-s40", "errors", "errors-1"]);
});

test("docs - every relative link between the README and the docs names a file that exists, and a heading of it", () => {
  const anchors = new Map<string, Set<string>>();
  const anchorsOf = (file: string): Set<string> => {
    let set = anchors.get(file);
    if (!set) anchors.set(file, (set = headingAnchors(readFileSync(file, "utf8"))));
    return set;
  };
  const broken: string[] = [];
  let checked = 0;
  for (const file of markdownFiles({ examples: true })) {
    const text = prose(readFileSync(file, "utf8"));
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target!)) continue; // http:, https:, mailto: ...
      const [path, anchor] = target!.split("#") as [string, string | undefined];
      const linked = path === "" ? file : normalize(join(dirname(file), decodeURIComponent(path)));
      const where = `${relative(ROOT, file)} -> ${target}`;
      checked++;
      if (!existsSync(linked)) broken.push(`${where}: no such file`);
      else if (anchor !== undefined && linked.endsWith(".md") && !anchorsOf(linked).has(anchor)) broken.push(`${where}: no such heading`);
    }
  }
  expect(broken).toEqual([]);
  expect(checked).toBeGreaterThan(100);
});
