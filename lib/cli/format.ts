/**
 * How the CLI prints things: a received message as a JSON line (properties, headers, body as text
 * or base64) or as its plain body, AMQP field values as JSON, aligned text tables, and numbers.
 */
import { isUtf8 } from 'node:buffer';
import { Decimal, type FieldValue, type Message, Typed } from '../core.js';

/** A JSON value as printed. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * A field value as JSON: bytes as `{ "base64": "..." }`, timestamps as ISO-8601 strings, big
 * integers as strings, decimals as numbers, tables as objects.
 */
export function fieldToJson(v: FieldValue | undefined): Json {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (typeof v === 'bigint') return String(v);
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
  if (v instanceof Decimal) return v.toNumber();
  if (v instanceof Typed) return fieldToJson(v.value);
  if (v instanceof Uint8Array) return { base64: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
  if (Array.isArray(v)) return v.map(fieldToJson);
  const out: { [key: string]: Json } = {};
  for (const [k, x] of Object.entries(v)) out[k] = fieldToJson(x);
  return out;
}

/** A body as text when it is (valid UTF-8 or already a string), else as base64. */
export function bodyOf(msg: Message): { body: string; encoding: 'utf8' | 'base64'; size: number } {
  const b: unknown = msg.body;
  if (typeof b === 'string') return { body: b, encoding: 'utf8', size: Buffer.byteLength(b) };
  const buf = msg.bodyBuffer;
  return isUtf8(buf)
    ? { body: buf.toString('utf8'), encoding: 'utf8', size: buf.length }
    : { body: buf.toString('base64'), encoding: 'base64', size: buf.length };
}

/**
 * The JSON line `consume --json` and `get --json` print for a message: where it came from,
 * its properties (without headers), its headers, and its body.
 */
export function messageRecord(msg: Message, queue: string): { [key: string]: Json } {
  const info = msg.deliveryInfo;
  const { applicationHeaders, ...props } = msg.properties;
  const properties: { [key: string]: Json } = {};
  for (const [k, v] of Object.entries(props)) if (v !== undefined) properties[k] = fieldToJson(v as FieldValue);
  const { body, encoding, size } = bodyOf(msg);
  const rec: { [key: string]: Json } = {
    queue,
    exchange: info?.exchange ?? '',
    routingKey: info?.routingKey ?? '',
    deliveryTag: info?.deliveryTag ?? 0,
    redelivered: info?.redelivered ?? false,
  };
  if (info?.messageCount !== undefined) rec['messageCount'] = info.messageCount;
  rec['properties'] = properties;
  rec['headers'] = fieldToJson(applicationHeaders ?? {});
  rec['bodySize'] = size;
  rec['bodyEncoding'] = encoding;
  rec['body'] = body;
  return rec;
}

/** The bytes `consume`/`get` print for a message without --json: its body and a newline. */
export function plainBody(msg: Message): Buffer {
  const b: unknown = msg.body;
  const buf = typeof b === 'string' ? Buffer.from(b, 'utf8') : msg.bodyBuffer;
  return Buffer.concat([buf, Buffer.from('\n')]);
}

/** Renders rows as an aligned table: the first column left-aligned, the others right-aligned. */
export function renderTable(rows: readonly (readonly string[])[], indent = ''): string {
  const widths: number[] = [];
  for (const r of rows) for (const [i, c] of r.entries()) widths[i] = Math.max(widths[i] ?? 0, c.length);
  return rows
    .map(
      (r) =>
        indent +
        r
          .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
          .join('  ')
          .trimEnd(),
    )
    .join('\n');
}

/** A number with at most `digits` decimals (`-` when undefined or not finite). */
export function num(v: number | undefined, digits = 2): string {
  if (v === undefined || !Number.isFinite(v)) return '-';
  const s = v.toFixed(digits);
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

/** Milliseconds for a person: `0.35 ms`, `12.3 ms`, `4.2 s`. */
export function ms(v: number): string {
  return v >= 1000 ? `${num(v / 1000, 1)} s` : `${num(v, v < 10 ? 2 : 1)} ms`;
}

/** `n` and the word, pluralised: `1 message`, `3 messages`. */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
