// The package root must load without @opentelemetry/api installed: nothing outside lib/otel/
// imports it, and lib/otel/ itself is reached only through the `amqpts/otel` subpath.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect, it } from '@jest/globals';

const LIB = join(import.meta.dirname, '..', '..', 'lib');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

it('no module outside lib/otel/ imports @opentelemetry or lib/otel/', () => {
  const offenders = sources(LIB)
    .filter((f) => !relative(LIB, f).startsWith('otel'))
    .filter((f) => /from '(@opentelemetry\/|\.{1,2}\/(\.\.\/)*otel\/)/.test(readFileSync(f, 'utf8')));
  expect(offenders).toEqual([]);
  expect(sources(join(LIB, 'otel')).length).toBeGreaterThan(0);
});
