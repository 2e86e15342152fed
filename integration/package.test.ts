// What users get is what the package gives them: npm pack holds the built code with its typings,
// the CLI, README, CHANGELOG and LICENSE; the package loads by `import` and by `require()`
// (Node >= 20.19 loads ES modules through require), by its own name through its exports map.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, test } from '@jest/globals';

const run = promisify(execFile);
const ROOT = new URL('..', import.meta.url).pathname;

describe('the published package', () => {
  test('npm pack holds dist with typings, the CLI, README, CHANGELOG, LICENSE; no sources or tests', async () => {
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, maxBuffer: 16 << 20 });
    const files = (JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>)[0]?.files.map((f) => f.path) ?? [];
    for (const f of [
      'dist/index.js',
      'dist/index.d.ts',
      'dist/core.d.ts',
      'dist/cli/main.js',
      'dist/otel/index.js',
      'dist/otel/index.d.ts',
      'README.md',
      'CHANGELOG.md',
      'LICENSE',
      'package.json',
    ]) {
      expect(files).toContain(f);
    }
    expect(files.filter((f) => /^(lib|spec|integration|bench|scripts|examples)\//.test(f))).toEqual([]);
    const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { license: string; bin: Record<string, string> };
    expect(readFileSync(`${ROOT}LICENSE`, 'utf8')).toMatch(new RegExp(`^${pkg.license} License`));
    expect(files).toContain(pkg.bin['amqpts']?.replace(/^\.\//, ''));
  });

  test('loads by import and by require(), with the same public names', async () => {
    const names = "Object.keys(m).filter((k) => !k.startsWith('__')).sort().join(',')";
    const esm = await run(process.execPath, ['--input-type=module', '-e', `const m = await import('amqpts'); console.log(${names})`], {
      cwd: ROOT,
    });
    const cjs = await run(process.execPath, ['--input-type=commonjs', '-e', `const m = require('amqpts'); console.log(${names})`], {
      cwd: ROOT,
    });
    const list = esm.stdout.trim().split(',');
    for (const n of [
      'Connection',
      'Channel',
      'Message',
      'AbstractConsumer',
      'NotFound',
      'FrameSyntaxError',
      'UnencodableValue',
      'parseUrl',
      'VERSION',
    ]) {
      expect(list).toContain(n);
    }
    for (const internal of ['ERROR_CLASSES', 'errorForCode', 'ConsumerIterator', 'ChannelLink', 'Transport', 'Writer', 'Reader']) {
      expect(list).not.toContain(internal);
    }
    expect(cjs.stdout.trim()).toBe(esm.stdout.trim());
  });

  test("'amqpts' loads without @opentelemetry installed; 'amqpts/otel' loads through the exports map and needs it", async () => {
    // a resolve hook that makes every @opentelemetry package unresolvable, as for a user without it
    const hook = `export async function resolve(s, c, next) { if (s.startsWith('@opentelemetry/')) throw new Error('not installed: ' + s); return next(s, c); }`;
    const block = `import { register } from 'node:module'; register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}));`;
    const root = await run(
      process.execPath,
      ['--input-type=module', '-e', `${block} const m = await import('amqpts'); console.log(typeof m.Connection, typeof m.instrument)`],
      {
        cwd: ROOT,
      },
    );
    expect(root.stdout.trim()).toBe('function function');
    const otel = await run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `${block} await import('amqpts/otel').then(() => console.log('loaded'), (e) => console.log(e.message))`,
      ],
      {
        cwd: ROOT,
      },
    );
    expect(otel.stdout.trim()).toBe('not installed: @opentelemetry/api');
    const withApi = await run(
      process.execPath,
      ['--input-type=module', '-e', "const m = await import('amqpts/otel'); console.log(typeof m.AmqptsInstrumentation)"],
      {
        cwd: ROOT,
      },
    );
    expect(withApi.stdout.trim()).toBe('function');
  });
});
