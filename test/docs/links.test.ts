import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import GithubSlugger from 'github-slugger';
import MarkdownIt from 'markdown-it';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/paths.js';

/**
 * Every relative link and image in README.md and docs/**\/*.md points at a file or folder that
 * exists inside the repository, and every `#anchor` into a markdown file names one of its headings
 * (slugged as GitHub slugs them). A section moved out of the README cannot leave a dead link behind.
 * Links with a scheme (https:, mailto:) are not fetched.
 */

const md = new MarkdownIt();

interface Link {
  href: string;
  line: number;
}

/** The links and image sources of one markdown file, with their 1-based line. */
function linksOf(text: string): Link[] {
  const out: Link[] = [];
  for (const block of md.parse(text, {})) {
    if (block.type !== 'inline' || !block.children) continue;
    const line = (block.map?.[0] ?? 0) + 1;
    for (const t of block.children) {
      const href = t.type === 'link_open' ? t.attrGet('href') : t.type === 'image' ? t.attrGet('src') : null;
      if (href !== null) out.push({ href: String(href), line });
    }
  }
  return out;
}

/** The anchors GitHub gives a markdown file's headings (duplicates get -1, -2, …). */
function anchorsOf(text: string): Set<string> {
  const slugger = new GithubSlugger();
  const tokens = md.parse(text, {});
  const out = new Set<string>();
  tokens.forEach((t, i) => {
    if (t.type !== 'heading_open') return;
    const inline = tokens[i + 1];
    const title = (inline?.children ?? []).filter((c) => c.type === 'text' || c.type === 'code_inline').map((c) => c.content).join('');
    out.add(slugger.slug(title));
  });
  return out;
}

/** Each link of `file` that does not resolve, as `line: href (why)`. */
export function deadLinks(file: string, root: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const dead: string[] = [];
  for (const { href, line } of linksOf(text)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(href)) continue; // https:, mailto:, …: not checked here
    const hash = href.indexOf('#');
    const target = decodeURIComponent(hash === -1 ? href : href.slice(0, hash));
    const anchor = hash === -1 ? undefined : decodeURIComponent(href.slice(hash + 1));
    const resolved = target === '' ? file : path.resolve(path.dirname(file), target);
    const why =
      path.relative(root, resolved).startsWith('..') || path.isAbsolute(target) ? 'outside the repository'
      : !fs.existsSync(resolved) ? 'no such file'
      : anchor !== undefined && resolved.endsWith('.md') && !anchorsOf(fs.readFileSync(resolved, 'utf8')).has(anchor) ? `no heading #${anchor} in ${path.relative(root, resolved)}`
      : undefined;
    if (why) dead.push(`${line}: ${href} (${why})`);
  }
  return dead;
}

function markdownUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.md'))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

const PAGES = [path.join(ROOT, 'README.md'), ...markdownUnder(path.join(ROOT, 'docs'))];

describe('documentation links', () => {
  for (const page of PAGES) {
    it(`${path.relative(ROOT, page)}: every relative link and #anchor resolves`, () => {
      expect(deadLinks(page, ROOT)).toEqual([]);
    });
  }

  it('sees the links it checks (a parser that found none would pass every page)', () => {
    const all = PAGES.flatMap((p) => linksOf(fs.readFileSync(p, 'utf8')).map((l) => l.href));
    const relative = all.filter((h) => !/^[a-z][a-z0-9+.-]*:/i.test(h));
    expect(relative.length).toBeGreaterThan(50);
    expect(relative.filter((h) => h.includes('#')).length).toBeGreaterThan(5);
    // The README links every page of docs/ (its "Where to read more"), so none is an orphan.
    const readmeLinks = new Set(linksOf(fs.readFileSync(PAGES[0]!, 'utf8')).map((l) => l.href.split('#')[0]));
    const orphans = fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md') && !readmeLinks.has(`docs/${f}`));
    expect(orphans).toEqual([]);
  });

  describe('the checker itself, on planted dead links', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-links-'));
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
    fs.mkdirSync(path.join(dir, 'docs'));
    fs.writeFileSync(path.join(dir, 'docs', 'page.md'), '# A page\n\n## Error codes\n\n## Error codes\n\n### Tour (`docs/x.sh`, real output)\n');
    fs.writeFileSync(
      path.join(dir, 'README.md'),
      [
        '# Top',
        '[ok](docs/page.md) [ok](docs/page.md#error-codes) [ok](docs/page.md#error-codes-1)',
        '[ok](docs/page.md#tour-docsxsh-real-output) [ok](#top) [ok](docs/) [ok](https://example.invalid/nowhere)',
        '[gone](docs/missing.md)',
        '[bad anchor](docs/page.md#limits)',
        '[bad local anchor](#nowhere)',
        '![gone image](docs/screenshots/none.png)',
        '[escapes](../outside.md)',
        '`[not a link](docs/missing.md)`',
        '```',
        '[in a code block](docs/missing.md)',
        '```',
      ].join('\n\n'),
    );

    it('reports each dead link once, with its line and reason, and passes the good ones', () => {
      expect(deadLinks(path.join(dir, 'README.md'), dir)).toEqual([
        '7: docs/missing.md (no such file)',
        '9: docs/page.md#limits (no heading #limits in docs/page.md)',
        '11: #nowhere (no heading #nowhere in README.md)',
        '13: docs/screenshots/none.png (no such file)',
        '15: ../outside.md (outside the repository)',
      ]);
    });
  });
});
