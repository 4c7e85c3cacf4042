import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from '@jest/globals';
import { headingAnchors, linkProblems, markdownLinks } from './docs-links.util.js';

// Issue 18 item 7: the docs stand alone. Every link of the repository's markdown names a file of
// the repository (and a heading that exists), never another site.
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const markdownFiles = execFileSync('git', ['ls-files', '*.md'], { cwd: ROOT, encoding: 'utf8' })
  .split('\n')
  .filter((file) => file !== '');

describe('the links of the repository markdown', () => {
  it('covers the README and the docs pages', () => {
    expect(markdownFiles).toEqual(
      expect.arrayContaining(['README.md', 'docs/library.md', 'libs/dpop/README.md']),
    );
  });

  it('the README links every page of docs/ (the front door lists them all)', () => {
    const linked = new Set(
      markdownLinks(readFileSync(join(ROOT, 'README.md'), 'utf8')).map(
        (l) => l.target.split('#')[0],
      ),
    );
    const pages = markdownFiles.filter((file) => /^docs\/[^/]+\.md$/.test(file));
    expect(pages.filter((page) => !linked.has(page))).toEqual([]);
  });

  it.each(markdownFiles)(
    '%s links only inside the repository, to files and headings that exist',
    (file) => {
      expect(linkProblems(ROOT, file)).toEqual([]);
    },
  );
});

describe('the link check', () => {
  const dir = mkdtempSync(join(tmpdir(), 'docs-links-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'docs'));
  writeFileSync(
    join(dir, 'docs/page.md'),
    '# A page\n\n## Quick start: `npm test`\n\n## Quick start: `npm test`\n',
  );
  const check = (markdown: string) => {
    writeFileSync(join(dir, 'README.md'), markdown);
    return linkProblems(dir, 'README.md');
  };

  it('accepts a file, a folder, a heading of another file and of its own', () => {
    expect(
      check(
        '# Top\n[p](docs/page.md) [d](docs/) [h](docs/page.md#quick-start-npm-test) ' +
          '[h2](docs/page.md#quick-start-npm-test-1) [self](#top)\n',
      ),
    ).toEqual([]);
  });

  it('refuses a link to another site, a missing file, a missing heading, a path out of the repo', () => {
    expect(
      check(
        '[a](https://example.com/x) <https://example.org> [b](docs/nope.md) ' +
          '[c](docs/page.md#nope)\n[d](../outside.md) [e](#nowhere)\n',
      ),
    ).toEqual([
      'README.md:1: https://example.com/x: links outside the repository',
      'README.md:1: https://example.org: links outside the repository',
      'README.md:1: docs/nope.md: no such file',
      'README.md:1: docs/page.md#nope: no heading #nope in docs/page.md',
      'README.md:2: ../outside.md: points outside the repository',
      'README.md:2: #nowhere: no heading #nowhere in README.md',
    ]);
  });

  it('ignores what code blocks and inline code show', () => {
    expect(markdownLinks('```md\n[a](https://x.example)\n```\n`[b](https://y.example)`\n')).toEqual(
      [],
    );
  });

  it('makes anchors as GitHub does', () => {
    expect([
      ...headingAnchors(
        '# Using the library: `nest-dpop`\n## GraphQL, microservices and WebSockets\n',
      ),
    ]).toEqual(['using-the-library-nest-dpop', 'graphql-microservices-and-websockets']);
  });
});
