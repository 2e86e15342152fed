/**
 * Parsing command-line values: integers, durations (`500ms`, `5s`, `2m`; a bare number is
 * milliseconds), sizes (`12`, `4k`, `1MiB`), `key=value` pairs with typed values (`k:=json`),
 * message properties by their AMQP names, and stream offsets. Every parser throws a UsageError
 * naming the option; `commanderParser()` turns one into a commander option parser.
 */
import { InvalidArgumentError } from 'commander';
import type { BasicProperties, FieldTable, FieldValue } from '../core.js';
import { Typed } from '../core.js';
import { UsageError } from './errors.js';

/** Wraps a parser for commander: a UsageError becomes commander's invalid-argument error (exit 1). */
export function commanderParser<T>(parse: (value: string) => T): (value: string) => T {
  return (value) => {
    try {
      return parse(value);
    } catch (err) {
      if (err instanceof UsageError) throw new InvalidArgumentError(err.message);
      throw err;
    }
  };
}

/** A parser appending each value to a list (for repeatable options such as --header). */
export function collect<T>(parse: (value: string) => T): (value: string, previous: T[] | undefined) => T[] {
  return (value, previous) => [...(previous ?? []), commanderParser(parse)(value)];
}

/** Parses an integer in [min, max]. @throws UsageError otherwise. */
export function parseInteger(text: string, what: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const n = /^[+-]?\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw new UsageError(`${what} must be an integer from ${min} to ${max}, got '${text}'`);
  return n;
}

/** An integer parser for commander, e.g. `int('--count', 1)`. */
export function int(what: string, min = 0, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return commanderParser((v) => parseInteger(v, what, min, max));
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a duration into milliseconds: `250` or `250ms`, `1.5s`, `2m`, `1h`. @throws UsageError. */
export function parseDuration(text: string, what = 'duration'): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new UsageError(`${what} must be a duration such as 500ms, 5s, 2m or 1h (a bare number is milliseconds), got '${text}'`);
  return Math.round(Number(m[1]) * (DURATION_UNITS[m[2] ?? 'ms'] ?? 1));
}

/** A duration parser for commander. */
export function duration(what: string): (value: string) => number {
  return commanderParser((v) => parseDuration(v, what));
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kib: 1024,
  kb: 1000,
  m: 1 << 20,
  mib: 1 << 20,
  mb: 1e6,
  g: 1 << 30,
  gib: 1 << 30,
  gb: 1e9,
};

/** Parses a size in bytes: `12`, `4k` or `4KiB` (4096), `4kB` (4000), `1M`/`1MiB`, `1MB`, `1G`. @throws UsageError. */
export function parseSize(text: string, what = 'size'): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = SIZE_UNITS[(m?.[2] ?? 'x').toLowerCase()];
  if (!m || unit === undefined) throw new UsageError(`${what} must be a size such as 100, 4k, 1MiB or 1MB, got '${text}'`);
  const n = Math.round(Number(m[1]) * unit);
  if (!Number.isSafeInteger(n)) throw new UsageError(`${what} is too large: '${text}'`);
  return n;
}

/** A size parser for commander. */
export function size(what: string): (value: string) => number {
  return commanderParser((v) => parseSize(v, what));
}

/** Converts a parsed JSON value to a field value: objects become tables, integers int32/int64, other numbers doubles. */
export function jsonToField(v: unknown): FieldValue {
  if (v === null || typeof v === 'string' || typeof v === 'boolean' || typeof v === 'number') return v;
  if (Array.isArray(v)) return v.map(jsonToField);
  const t: FieldTable = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) t[k] = jsonToField(x);
  return t;
}

/** One `key=value` (a string) or `key:=json` (a typed value: 5, true, 1.5, null, [..], {..}). */
export interface KeyValue {
  /** The key (a header or argument name). */
  key: string;
  /** The value: a string, or what the JSON after `:=` gave. */
  value: FieldValue;
}

/** Parses `key=value` or `key:=json`. @throws UsageError without `=`, with an empty key or bad JSON. */
export function parseKeyValue(text: string, what = 'key=value'): KeyValue {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new UsageError(`${what}: expected key=value or key:=json, got '${text}'`);
  const typed = text[eq - 1] === ':';
  const key = text.slice(0, typed ? eq - 1 : eq);
  const raw = text.slice(eq + 1);
  if (key === '') throw new UsageError(`${what}: the key is empty in '${text}'`);
  if (!typed) return { key, value: raw };
  try {
    return { key, value: jsonToField(JSON.parse(raw)) };
  } catch {
    throw new UsageError(`${what}: '${raw}' after ${key}:= is not JSON (use ${key}=${raw} for a string)`);
  }
}

/** Builds a field table from key/value pairs (a later key wins). */
export function toTable(pairs: readonly KeyValue[]): FieldTable {
  const t: FieldTable = {};
  for (const { key, value } of pairs) t[key] = value;
  return t;
}

type PropertyName = Exclude<keyof BasicProperties, 'applicationHeaders'>;
const PROPERTY_NAMES: readonly PropertyName[] = [
  'contentType',
  'contentEncoding',
  'deliveryMode',
  'priority',
  'correlationId',
  'replyTo',
  'expiration',
  'messageId',
  'timestamp',
  'type',
  'userId',
  'appId',
  'clusterId',
];
const BY_KEY = new Map<string, PropertyName>(PROPERTY_NAMES.map((p) => [p.toLowerCase(), p]));

/** The AMQP property name for `content_type`, `content-type` or `contentType`, if it is one. */
export function propertyName(key: string): PropertyName | undefined {
  return BY_KEY.get(key.replace(/[-_]/g, '').toLowerCase());
}

/** The names `--property` accepts, as shown in help and errors. */
export const PROPERTY_KEYS = PROPERTY_NAMES.map((p) => p.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`));

/**
 * Parses one `--property name=value` into basic properties: delivery_mode 1, 2, `transient` or
 * `persistent`; priority 0-255; expiration in ms; timestamp as ISO-8601, seconds since the epoch
 * or `now`; the rest as strings. @throws UsageError for an unknown name or a bad value.
 */
export function parseProperty(text: string): Partial<BasicProperties> {
  const eq = text.indexOf('=');
  const key = eq > 0 ? text.slice(0, eq) : '';
  const raw = text.slice(eq + 1);
  const name = propertyName(key);
  if (eq <= 0 || !name) {
    throw new UsageError(`--property: expected name=value with a name among ${PROPERTY_KEYS.join(', ')}; got '${text}'`);
  }
  switch (name) {
    case 'deliveryMode': {
      const mode = raw === 'persistent' ? 2 : raw === 'transient' ? 1 : parseInteger(raw, '--property delivery_mode', 1, 2);
      return { deliveryMode: mode };
    }
    case 'priority':
      return { priority: parseInteger(raw, '--property priority', 0, 255) };
    case 'expiration':
      return { expiration: String(parseInteger(raw, '--property expiration (ms)', 0)) };
    case 'timestamp': {
      const date = raw === 'now' ? new Date() : /^\d+$/.test(raw) ? new Date(Number(raw) * 1000) : new Date(raw);
      if (Number.isNaN(date.getTime()))
        throw new UsageError(`--property timestamp: expected ISO-8601, epoch seconds or 'now', got '${raw}'`);
      return { timestamp: date };
    }
    default:
      return { [name]: raw };
  }
}

/** Merges `--property` values and `--header` pairs into basic properties. */
export function buildProperties(props: readonly Partial<BasicProperties>[], headers: readonly KeyValue[]): BasicProperties {
  const p: BasicProperties = Object.assign({}, ...props) as BasicProperties;
  if (headers.length > 0) p.applicationHeaders = toTable(headers);
  return p;
}

/**
 * Parses a stream offset for `x-stream-offset`: `first`, `last`, `next`, an offset number, an
 * ISO-8601 time (a timestamp), or an interval back from now such as `10m`, `1h`, `7D`, `1Y`.
 * @throws UsageError for anything else.
 */
export function parseStreamOffset(text: string): FieldValue {
  const t = text.trim();
  if (t === 'first' || t === 'last' || t === 'next') return t;
  if (/^\d+$/.test(t)) return new Typed('l', parseInteger(t, '--offset'));
  if (/^\d+[YMDhms]$/.test(t)) return t; // RabbitMQ's interval form
  if (/^\d{4}-\d{2}-\d{2}/.test(t)) {
    const d = new Date(t);
    if (!Number.isNaN(d.getTime())) return d;
  }
  throw new UsageError(`--offset must be first, last, next, an offset, an ISO-8601 time or an interval such as 10m, 1h, 7D; got '${text}'`);
}
