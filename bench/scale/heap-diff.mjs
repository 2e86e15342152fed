#!/usr/bin/env node
// Where the heap of one more connection or channel goes: compares two V8 heap snapshots (as
// written by `child.mjs --heap-snapshot`) by object kind (constructor name for objects, function
// name for closures, one bucket each for strings, code and numbers) and prints the kinds that grew,
// largest first, with their count and self size per unit.
//
//   node bench/scale/heap-diff.mjs BEFORE.heapsnapshot AFTER.heapsnapshot --per N [--top 25]
//
// Self sizes only (what each object occupies itself, not what it keeps alive); the sum over all
// kinds is the growth the snapshots saw. `native system / JSArrayBufferData` rows are ArrayBuffer
// backing stores: external memory (`external`, `arrayBuffers`), not the JS heap (`heapUsed`).

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: { per: { type: 'string', default: '1' }, top: { type: 'string', default: '25' } },
});
if (positionals.length !== 2) throw new Error('usage: heap-diff.mjs BEFORE AFTER --per N');

const BUCKETS = new Set(['string', 'concatenated string', 'sliced string', 'code', 'number', 'bigint', 'symbol']);

function census(file) {
  const snap = JSON.parse(readFileSync(file, 'utf8'));
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const stride = fields.length;
  const iType = fields.indexOf('type');
  const iName = fields.indexOf('name');
  const iSize = fields.indexOf('self_size');
  const out = new Map();
  const { nodes, strings } = snap;
  for (let i = 0; i < nodes.length; i += stride) {
    const type = types[nodes[i + iType]];
    const key = BUCKETS.has(type) ? `(${type})` : `${type} ${strings[nodes[i + iName]]}`;
    const e = out.get(key) ?? { count: 0, size: 0 };
    e.count++;
    e.size += nodes[i + iSize];
    out.set(key, e);
  }
  return out;
}

const before = census(positionals[0]);
const after = census(positionals[1]);
const per = Number(opt.per);
const rows = [];
let total = 0;
for (const [key, a] of after) {
  const b = before.get(key) ?? { count: 0, size: 0 };
  const size = a.size - b.size;
  total += size;
  if (size > 0) rows.push({ key, count: (a.count - b.count) / per, size: size / per });
}
rows.sort((x, y) => y.size - x.size);
process.stdout.write(`heap growth ${(total / per).toFixed(0)} B per unit (${per} units)\n`);
process.stdout.write('| bytes/unit | objects/unit | kind |\n| ---: | ---: | --- |\n');
for (const r of rows.slice(0, Number(opt.top))) {
  process.stdout.write(`| ${r.size.toFixed(0)} | ${r.count.toFixed(2)} | ${r.key.replaceAll('|', '\\|').slice(0, 80)} |\n`);
}
