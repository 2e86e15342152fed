#!/usr/bin/env node
// Runs a self-contained TypeScript script (no relative .ts imports) on Node 20, which cannot
// strip types itself: transpiles it with the project's `typescript` and imports the result.
import { readFileSync, writeFileSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';

const [file, ...args] = process.argv.slice(2);
if (!file) {
  console.error('usage: node scripts/run-ts.mjs <script.ts> [args...]');
  process.exit(2);
}
const src = readFileSync(resolve(file), 'utf8');
const out = ts.transpileModule(src, {
  compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  fileName: file,
}).outputText;
const dir = mkdtempSync(join(tmpdir(), 'amqpts-run-'));
const tmp = join(dir, 'script.mjs');
writeFileSync(tmp, out);
process.argv = [process.argv[0], resolve(file), ...args];
try {
  await import(pathToFileURL(tmp).href);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
