/**
 * AMQP 0-9-1 field-table and field-array codec, behind {@link Writer.table}/{@link Writer.array}
 * (encode) and {@link Reader.table}/{@link Reader.array} (decode). The value model it encodes
 * lives in `field-values.ts`.
 *
 * Field tables use RabbitMQ's type tags (not the 0-9-1 spec's, which disagree on several):
 * `t` bool, `b` int8, `B` uint8, `s` int16, `u` uint16, `I` int32, `i` uint32, `l` int64,
 * `f` float32, `d` float64, `D` decimal (uint8 scale + a 32-bit value read and written signed, as
 * amqpy, pika and the Java client do; the broker only passes the bits through), `S` longstr, `A` array, `T` timestamp (uint64 seconds), `F` table,
 * `V` void, `x` byte array. Any other tag (including `L`) is a {@link FrameError}.
 *
 * Encoding a plain value infers its tag: boolean → t, string → S, integer in int32 range → I,
 * other safe integer → l, non-integer number (incl. NaN, ±Infinity) → d, bigint → l,
 * Buffer/Uint8Array → x, Date → T, null → V, {@link Decimal} → D, array → A, plain object → F.
 * Keys whose value is `undefined` are skipped (as JSON does); `undefined` inside an array is V.
 * Wrap a value in {@link Typed} (or use the {@link Field} helpers) to choose the tag.
 * Anything else (functions, symbols, Map/Set/other class instances, cycles, unsafe integers
 * that are not bigints, keys over 255 UTF-8 bytes, nesting deeper than 100) is an
 * {@link ArgumentError} naming the key path, e.g. `arguments: x-death[0].count: ...`.
 *
 * Decoding yields plain values: t → boolean, S → string (a Buffer if its bytes are not valid
 * UTF-8), integers → number, l → number when safe else bigint, f/d → number, T → Date (a
 * `Typed('T', seconds)` beyond Date's range), x → Buffer (a copy), V → null, D → Decimal,
 * F → plain object, A → array. A decoded table or array remembers its wire tags (key → tag, or
 * index → tag) in a non-enumerable {@link FIELD_TYPES} property. To keep decoding cheap, the
 * property is only added when some tag differs from what inference would pick for the decoded
 * value (b, B, s, u, i, f; l of an int32-range value, d of an integer, a non-UTF-8 S): otherwise
 * inference reproduces every tag anyway. {@link getFieldTypes} gives the tags either way.
 * When encoding a table/array that carries FIELD_TYPES, each value still compatible with its
 * remembered tag is written with that tag, so `encode(decode(bytes))` reproduces the bytes
 * exactly: e.g. a small `l` (RabbitMQ's x-death count) stays `l`, a `d` of 1.0 stays `d`, a
 * non-UTF-8 `S` stays `S`. Exceptions: a `t` octet other than 0/1 re-encodes as 1, NaN payload
 * bits are not kept, and of duplicate keys the last wins. `{...t}` drops the remembered tags.
 *
 * It reads and writes through the narrow `PrimitiveReader` / `PrimitiveWriter` shapes that
 * `primitives.ts`'s Reader and Writer have, and imports nothing from that module (which imports
 * this one), so the two form no import cycle.
 */
import { isUtf8 } from 'node:buffer';
import { ArgumentError, UnencodableValue } from '../errors.js';
import {
  Decimal,
  FIELD_TYPES,
  MAX_DATE_SECONDS,
  MAX_DEPTH,
  TAG_BY_CODE,
  Typed,
  U32,
  compatible,
  describe,
  inferTag,
  inferTags,
  malformed,
  truncated,
  typedOk,
  type FastBuffer,
  type FieldTable,
  type FieldType,
  type FieldValue,
} from './field-values.js';

/** What the table codec writes through: `Writer` (primitives.ts) has this shape. */
export interface PrimitiveWriter {
  buf: Buffer;
  pos: number;
  ensure(n: number): void;
  u8(v: number): void;
  u16(v: number): void;
  u32(v: number): void;
  i8(v: number): void;
  i16(v: number): void;
  i32(v: number): void;
  i64(v: number | bigint): void;
  f32(v: number): void;
  f64(v: number): void;
  shortstr(s: string, field?: string): void;
  longstr(s: string | Uint8Array): void;
  timestamp(d: Date | number | bigint): void;
}

/** What the table codec reads through: `Reader` (primitives.ts) has this shape. */
export interface PrimitiveReader {
  buf: Buffer;
  pos: number;
  end: number;
  u8(): number;
  u16(): number;
  u32(): number;
  i8(): number;
  i16(): number;
  i32(): number;
  i64safe(): number | bigint;
  f32(): number;
  f64(): number;
  shortstr(): string;
  longstr(): Buffer;
}

/** Containers being encoded (for cycles); key path of a failed encode, filled while unwinding. */
const SEEN: object[] = [];
const PATH: (string | number)[] = [];

/**
 * @internal The error to throw for a failed table/array encode: an ArgumentError gets the key path
 * (and `field`) prefixed; resets the encoder state (SEEN, PATH) either way.
 */
export function encodeError(e: unknown, field: string | undefined): unknown {
  let where = '';
  for (const k of PATH) where += typeof k === 'number' ? `[${k}]` : where === '' ? k : `.${k}`;
  PATH.length = 0;
  SEEN.length = 0;
  if (!(e instanceof ArgumentError)) return e;
  const prefix = field === undefined ? where : where === '' ? field : `${field}: ${where}`;
  return new UnencodableValue(prefix === '' ? e.message : `${prefix}: ${e.message}`);
}

function enter(w: PrimitiveWriter, v: object): number {
  if (SEEN.length >= MAX_DEPTH) throw new UnencodableValue(`nested deeper than ${MAX_DEPTH} levels`);
  if (SEEN.includes(v)) throw new UnencodableValue('circular reference');
  SEEN.push(v);
  w.ensure(4);
  w.pos += 4;
  return w.pos;
}

function leave(w: PrimitiveWriter, start: number): void {
  SEEN.pop();
  const n = w.pos - start;
  w.pos = start - 4;
  w.u32(n);
  w.pos = start + n;
}

/** @internal Writes table `t` (u32 length + entries) at `w.pos`; a failed encode leaves its key path in PATH. */
export function writeTableBody(w: PrimitiveWriter, t: FieldTable): void {
  const start = enter(w, t);
  const tags = (t as { [FIELD_TYPES]?: Record<string, unknown> })[FIELD_TYPES];
  let key = '';
  try {
    for (key in t) {
      const v = t[key];
      if (v === undefined || !Object.hasOwn(t, key)) continue;
      w.shortstr(key, 'key');
      writeValue(w, v, tags === undefined ? undefined : tags[key]);
    }
  } catch (e) {
    PATH.unshift(key);
    throw e;
  }
  leave(w, start);
}

/** @internal Writes array `a` (u32 length + values) at `w.pos`, as {@link writeTableBody}. */
export function writeArrayBody(w: PrimitiveWriter, a: readonly FieldValue[]): void {
  const start = enter(w, a);
  const tags = (a as { [FIELD_TYPES]?: unknown[] })[FIELD_TYPES];
  let i = 0;
  try {
    for (; i < a.length; i++) writeValue(w, a[i], tags === undefined ? undefined : tags[i]);
  } catch (e) {
    PATH.unshift(i);
    throw e;
  }
  leave(w, start);
}

/** Writes tag + value, using the remembered tag `hint` when `v` still fits it. */
function writeValue(w: PrimitiveWriter, v: unknown, hint: unknown): void {
  if (hint !== undefined && compatible(hint, v)) return writeAs(w, hint as FieldType, v);
  const tag = inferTag(v);
  if (tag === undefined) {
    throw new UnencodableValue(
      typeof v === 'number'
        ? `integer ${v} is beyond Number.MAX_SAFE_INTEGER; use a bigint or Field.double()`
        : `cannot encode ${describe(v)} in a field table`,
    );
  }
  if (!(v instanceof Typed)) return writeAs(w, tag, v);
  if (!typedOk(tag, v.value)) throw new UnencodableValue(`cannot encode ${describe(v.value)} as field type '${String(tag)}'`);
  writeAs(w, tag, v.value);
}

/** Writes `v` with tag `tag`; `v` has been checked to fit. */
function writeAs(w: PrimitiveWriter, tag: FieldType, v: unknown): void {
  w.u8(tag.charCodeAt(0));
  switch (tag) {
    case 't':
      return w.u8(v ? 1 : 0);
    case 'b':
      return w.i8(v as number);
    case 'B':
      return w.u8(v as number);
    case 's':
      return w.i16(v as number);
    case 'u':
      return w.u16(v as number);
    case 'I':
      return w.i32(v as number);
    case 'i':
      return w.u32(v as number);
    case 'l':
      return w.i64(v as number | bigint);
    case 'f':
      return w.f32(v as number);
    case 'd':
      return w.f64(v as number);
    case 'D':
      w.u8((v as Decimal).scale);
      return w.i32((v as Decimal).value);
    case 'S':
      return w.longstr(v as string | Uint8Array);
    case 'x':
      return w.longstr(v as Uint8Array);
    case 'T':
      return w.timestamp(v as Date | number | bigint);
    case 'F':
      return writeTableBody(w, v as FieldTable);
    case 'A':
      return writeArrayBody(w, v as FieldValue[]);
    case 'V':
      return;
  }
}

/** Sets `end` to the end of a u32-length-prefixed block; returns the previous end. */
function openBlock(r: PrimitiveReader, depth: number): number {
  if (depth >= MAX_DEPTH) throw malformed(`field table nested deeper than ${MAX_DEPTH} levels`);
  const n = r.u32(),
    saved = r.end;
  if (r.pos + n > saved) throw truncated(r, n);
  r.end = r.pos + n;
  return saved;
}

function tagFields(o: object, types: object): void {
  Object.defineProperty(o, FIELD_TYPES, { value: types, writable: true, configurable: true });
}

/** Whether decoding `tag` to `v` loses the tag: inference would write `v` with another one. */
function tagLost(tag: FieldType, v: FieldValue): boolean {
  switch (tag) {
    case 'b':
    case 'B':
    case 's':
    case 'u':
    case 'i':
    case 'f':
      return true;
    case 'l':
      return typeof v === 'number' && (v | 0) === v;
    case 'd':
      return Number.isInteger(v);
    case 'S':
      return typeof v !== 'string';
    default:
      return false;
  }
}

/** @internal Reads a table (u32 length + entries) at `r.pos`; `depth` counts enclosing tables/arrays. */
export function readTable(r: PrimitiveReader, depth: number): FieldTable {
  const saved = openBlock(r, depth);
  const t: FieldTable = {};
  let types: Record<string, FieldType> | undefined;
  while (r.pos < r.end) {
    const key = r.shortstr();
    const tag = readTag(r);
    const v = readValue(r, tag, depth);
    if (key === '__proto__') Object.defineProperty(t, key, { value: v, enumerable: true, writable: true, configurable: true });
    else t[key] = v;
    if (types !== undefined) types[key] = tag;
    else if (tagLost(tag, v)) (types = inferTags(t) as Record<string, FieldType>)[key] = tag;
  }
  r.end = saved;
  if (types !== undefined) tagFields(t, types);
  return t;
}

/** @internal Reads an array (u32 length + values) at `r.pos`, as {@link readTable}. */
export function readArray(r: PrimitiveReader, depth: number): FieldValue[] {
  const saved = openBlock(r, depth);
  const a: FieldValue[] = [];
  let types: FieldType[] | undefined;
  while (r.pos < r.end) {
    const tag = readTag(r);
    const v = readValue(r, tag, depth);
    a.push(v);
    if (types !== undefined) types.push(tag);
    else if (tagLost(tag, v)) (types = inferTags(a) as FieldType[])[a.length - 1] = tag;
  }
  r.end = saved;
  if (types !== undefined) tagFields(a, types);
  return a;
}

function readTag(r: PrimitiveReader): FieldType {
  const code = r.u8();
  const tag = TAG_BY_CODE[code];
  if (tag === undefined) throw malformed(`unknown field type tag 0x${code.toString(16).padStart(2, '0')} at offset ${r.pos - 1}`);
  return tag;
}

function copyOf(b: Buffer): Buffer {
  const out = Buffer.allocUnsafe(b.length);
  b.copy(out);
  return out;
}

function readValue(r: PrimitiveReader, tag: FieldType, depth: number): FieldValue {
  switch (tag) {
    case 'S': {
      const n = r.u32(),
        p = r.pos,
        b = r.buf;
      if (p + n > r.end) throw truncated(r, n);
      r.pos = p + n;
      let i = n <= 64 ? 0 : n; // short strings: check for ASCII here, cheaper than isUtf8
      while (i < n && b[p + i]! < 0x80) i++;
      if (i === n || isUtf8(b.subarray(p, p + n))) return n === 0 ? '' : (b as FastBuffer).utf8Slice(p, p + n);
      return copyOf(b.subarray(p, p + n));
    }
    case 'I':
      return r.i32();
    case 't':
      return r.u8() !== 0;
    case 'l':
      return r.i64safe();
    case 'F':
      return readTable(r, depth + 1);
    case 'A':
      return readArray(r, depth + 1);
    case 'T': {
      const hi = r.u32(),
        lo = r.u32(),
        s = hi * U32 + lo;
      if (s <= MAX_DATE_SECONDS) return new Date(s * 1000);
      return new Typed('T', hi < 0x200000 ? s : (BigInt(hi) << 32n) | BigInt(lo));
    }
    case 'b':
      return r.i8();
    case 'B':
      return r.u8();
    case 's':
      return r.i16();
    case 'u':
      return r.u16();
    case 'i':
      return r.u32();
    case 'f':
      return r.f32();
    case 'd':
      return r.f64();
    case 'D': {
      const scale = r.u8();
      return new Decimal(scale, r.i32());
    }
    case 'x':
      return r.longstr(); // a copy
    case 'V':
      return null;
  }
}
