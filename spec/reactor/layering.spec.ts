// The reactor's files import one another in layers (see lib/reactor/model.ts): no file reaches a
// file that imports it back, counting type-only imports and re-exports too. A class that must
// name one above it reads the name from model.ts's `Reactor` instead of importing it.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';

const DIR = join(process.cwd(), 'lib/reactor');

/** `from './x.js'` of import and export statements (type-only too), and `import('./x.js')`. */
function localImports(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const found = new Set<string>();
  for (const m of code.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"]\.\/([\w-]+)\.js['"]/gm)) found.add(`${m[1]}.ts`);
  return [...found];
}

/** A cycle of the graph as a list of files (first = last), or null. */
function findCycle(graph: ReadonlyMap<string, readonly string[]>): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (file: string): string[] | null => {
    if (state.get(file) === 'done') return null;
    if (state.get(file) === 'open') return [...path.slice(path.indexOf(file)), file];
    state.set(file, 'open');
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(file, 'done');
    return null;
  };
  for (const file of graph.keys()) {
    const cycle = visit(file);
    if (cycle) return cycle;
  }
  return null;
}

describe('lib/reactor layering', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.ts'));
  const graph = new Map(files.map((f) => [f, localImports(readFileSync(join(DIR, f), 'utf8'))] as const));

  it('reads every kind of local import, and finds a cycle when there is one', () => {
    const src = [
      "import { A } from './a.js';",
      "import type { B } from './b.js';",
      "export type { C } from './c.js';",
      "export { D } from './d.js';",
      "import './e.js';",
      "type F = import('./f.js').F;",
      "import { G } from '../core.js';",
      "// import { H } from './h.js';",
      "declare module './model.js' { interface Reactor { X: X } }",
    ].join('\n');
    expect(localImports(src).sort()).toEqual(['a.ts', 'b.ts', 'c.ts', 'd.ts', 'e.ts', 'f.ts']);
    const cyclic = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
    ]);
    expect(findCycle(cyclic)).toEqual(['a.ts', 'b.ts', 'c.ts', 'a.ts']);
  });

  it('has no import cycle', () => {
    expect(files.length).toBeGreaterThan(10);
    expect(graph.get('container.ts')).toContain('event.ts'); // the graph is read from the real files
    expect(findCycle(graph)).toBeNull();
  });

  it('model.ts imports nothing of the folder', () => {
    expect(graph.get('model.ts')).toEqual([]);
  });
});
