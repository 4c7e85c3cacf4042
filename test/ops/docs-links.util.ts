/**
 * The links of the repository's markdown, checked without a network: the docs stand alone, so a
 * link names a file or folder of the repository (and, with `#`, a heading of that file), never
 * another site.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** One `[text](target)` of a markdown file, outside code. */
export interface MarkdownLink {
  line: number;
  target: string;
}

/** Markdown without its fenced blocks and inline code (kept as blank lines, so numbers hold). */
function withoutCode(markdown: string): string[] {
  const lines = markdown.split('\n');
  let fence: string | undefined;
  return lines.map((line) => {
    const open = /^\s*(`{3,}|~{3,})/.exec(line);
    if (fence !== undefined) {
      if (open !== null && line.trim().startsWith(fence)) fence = undefined;
      return '';
    }
    if (open !== null) {
      fence = open[1];
      return '';
    }
    return line.replace(/`+[^`]*`+/g, '');
  });
}

/** The inline links and images of a markdown file, and its `<a href>`s. */
export function markdownLinks(markdown: string): MarkdownLink[] {
  const links: MarkdownLink[] = [];
  withoutCode(markdown).forEach((line, index) => {
    const found = [
      ...line.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g),
      ...line.matchAll(/<a\s[^>]*href="([^"]+)"/g),
      ...line.matchAll(/<(https?:\/\/[^>\s]+)>/g),
    ].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
    for (const m of found) links.push({ line: index + 1, target: m[1] as string });
  });
  return links;
}

/** GitHub's anchors for the headings of a markdown file (`## Quick start` → `quick-start`). */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const lines = markdown.split('\n');
  let fence: string | undefined;
  for (const line of lines) {
    const open = /^\s*(`{3,}|~{3,})/.exec(line);
    if (fence !== undefined) {
      if (open !== null && line.trim().startsWith(fence)) fence = undefined;
      continue;
    }
    if (open !== null) {
      fence = open[1];
      continue;
    }
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading === null) continue;
    const slug = (heading[1] as string)
      .toLowerCase()
      .replace(/<[^>]+>/g, '')
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/**
 * What is wrong with the links of `file` (a path relative to `root`): a link out of the
 * repository, a file that does not exist, an anchor that names no heading.
 */
export function linkProblems(root: string, file: string): string[] {
  const markdown = readFileSync(join(root, file), 'utf8');
  const problems: string[] = [];
  for (const { line, target } of markdownLinks(markdown)) {
    const where = `${file}:${line}: ${target}`;
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) {
      problems.push(`${where}: links outside the repository`);
      continue;
    }
    const [path = '', anchor] = target.split('#', 2);
    const resolved = path === '' ? join(root, file) : resolve(dirname(join(root, file)), path);
    if (relative(root, resolved).startsWith('..')) {
      problems.push(`${where}: points outside the repository`);
      continue;
    }
    if (!existsSync(resolved)) {
      problems.push(`${where}: no such file`);
      continue;
    }
    if (anchor !== undefined && anchor !== '') {
      if (!statSync(resolved).isFile() || !resolved.endsWith('.md')) {
        problems.push(`${where}: an anchor into something that is not markdown`);
      } else if (!headingAnchors(readFileSync(resolved, 'utf8')).has(decodeURIComponent(anchor))) {
        problems.push(`${where}: no heading #${anchor} in ${relative(root, resolved)}`);
      }
    }
  }
  return problems;
}
