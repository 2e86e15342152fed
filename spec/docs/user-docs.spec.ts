// The user documentation stays true to code that compiles: every line of every TypeScript block in
// README.md and the "Coming from" guides is a line of some program in examples/ (which
// `npm run build:examples` compiles strictly against the built package and the integration tests
// run), and every relative link in them points at a file or folder of the repository.
import { describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DOCS = ['README.md', 'docs/coming-from-amqplib.md', 'docs/coming-from-amqpy.md', 'docs/observability.md'];

/** Every `.ts` file under examples/, recursively. */
function exampleFiles(dir = join(ROOT, 'examples')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? exampleFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** The fenced blocks of `markdown` whose info string is `lang`, with the line each starts on. */
function fencedBlocks(markdown: string, lang: string): Array<{ line: number; code: string[] }> {
  const blocks: Array<{ line: number; code: string[] }> = [];
  let current: { line: number; code: string[] } | null = null;
  markdown.split('\n').forEach((text, i) => {
    const fence = /^\s*```(\S*)\s*$/.exec(text);
    if (current) {
      if (fence && fence[1] === '') {
        blocks.push(current);
        current = null;
      } else current.code.push(text);
    } else if (fence) {
      current = fence[1] === lang ? { line: i + 1, code: [] } : { line: -1, code: [] };
    }
  });
  return blocks.filter((b) => b.line > 0);
}

/** Relative link targets of `markdown` (no scheme, no pure #anchor), without their #fragment. */
function relativeLinks(markdown: string): string[] {
  const out: string[] = [];
  for (const m of markdown.matchAll(/\]\(([^)\s]+)\)/g)) {
    const target = m[1] ?? '';
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue;
    out.push(target.replace(/#.*$/, ''));
  }
  return out;
}

const exampleLines = new Set(
  exampleFiles().flatMap((f) =>
    readFileSync(f, 'utf8')
      .split('\n')
      .map((l) => l.trim()),
  ),
);

describe('user documentation', () => {
  it('finds the examples and the TypeScript blocks it checks', () => {
    expect(exampleFiles().length).toBeGreaterThanOrEqual(10);
    expect(fencedBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8'), 'ts').length).toBeGreaterThanOrEqual(10);
  });

  for (const doc of DOCS) {
    it(`${doc}: every line of every ts block is a line of a compiled example`, () => {
      const markdown = readFileSync(join(ROOT, doc), 'utf8');
      const missing: string[] = [];
      for (const block of fencedBlocks(markdown, 'ts')) {
        block.code.forEach((text, i) => {
          const line = text.trim();
          if (line !== '' && !exampleLines.has(line)) missing.push(`${doc}:${block.line + 1 + i}: ${line}`);
        });
      }
      expect(missing).toEqual([]);
    });

    it(`${doc}: every relative link points at something in the repository`, () => {
      const markdown = readFileSync(join(ROOT, doc), 'utf8');
      const broken = relativeLinks(markdown).filter((target) => !existsSync(join(ROOT, dirname(doc), target)));
      expect(broken.map((t) => `${doc} -> ${relative(ROOT, join(ROOT, dirname(doc), t))}`)).toEqual([]);
    });
  }

  it('the checks catch a line that is in no example, and a dead link', () => {
    const doc = [
      '```ts',
      'await ch.noSuchMethod();',
      '```',
      '```sh',
      'npm test',
      '```',
      '[x](no/such/file.md) [y](#anchor) [z](https://example.com/)',
    ];
    const blocks = fencedBlocks(doc.join('\n'), 'ts');
    expect(blocks).toEqual([{ line: 1, code: ['await ch.noSuchMethod();'] }]);
    expect(blocks[0]?.code.filter((l) => !exampleLines.has(l.trim()))).toEqual(['await ch.noSuchMethod();']);
    expect(relativeLinks(doc.join('\n'))).toEqual(['no/such/file.md']);
  });
});
