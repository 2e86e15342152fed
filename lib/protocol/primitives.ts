/**
 * AMQP 0-9-1 primitive and field-table codec: {@link Writer} encodes, {@link Reader} decodes.
 *
 * Field tables use RabbitMQ's type tags (not the 0-9-1 spec's, which disagree on several):
 * `t` bool, `b` int8, `B` uint8, `s` int16, `u` uint16, `I` int32, `i` uint32, `l` int64,
 * `f` float32, `d` float64, `D` decimal (uint8 scale + uint32 value, both unsigned as in
 * rabbit_binary_parser), `S` longstr, `A` array, `T` timestamp (uint64 seconds), `F` table,
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
 */
import { isUtf8 } from 'node:buffer';
import { ArgumentError, FrameError } from '../errors.js';

/** A field-value type tag, as RabbitMQ reads and writes it. */
export type FieldType =
  't' | 'b' | 'B' | 's' | 'u' | 'I' | 'i' | 'l' | 'f' | 'd' | 'D' | 'S' | 'A' | 'T' | 'F' | 'V' | 'x';

/** A field value that can be carried in a field table or array. */
export type FieldValue =
  | boolean | number | bigint | string | Buffer | Uint8Array | Date | null
  | Decimal | Typed | FieldTable | FieldValue[];

/** An AMQP field table: string keys (at most 255 UTF-8 bytes) to field values. */
export interface FieldTable { [key: string]: FieldValue }

/**
 * Key of the non-enumerable property in which a decoded table (array) remembers its wire tags, as
 * a `Record<key, FieldType>` (a `FieldType[]`); see the module documentation for when it is set.
 */
export const FIELD_TYPES: unique symbol = Symbol('amqpts.fieldTypes');

/** An AMQP decimal (`D`): `value / 10 ** scale`; scale is 0..255, value 0..2^32-1. */
export class Decimal {
  /**
   * @param scale - Number of decimal digits, an integer 0..255.
   * @param value - The unscaled value, an integer 0..4294967295.
   */
  constructor(readonly scale: number, readonly value: number) {
    if (typeof scale !== 'number' || (scale & 0xff) !== scale) throw new ArgumentError(`decimal scale must be an integer 0..255, got ${String(scale)}`);
    if (typeof value !== 'number' || value >>> 0 !== value) throw new ArgumentError(`decimal value must be an integer 0..4294967295, got ${String(value)}`);
  }

  /** The decimal as a (possibly rounded) number. */
  toNumber(): number { return this.value / 10 ** this.scale; }
}

/** A field value with an explicit type tag, validated when created. */
export class Typed {
  /**
   * @param type - The tag to encode with.
   * @param value - A value the tag can carry (for `T` also uint64 seconds as number or bigint).
   */
  constructor(readonly type: FieldType, readonly value: FieldValue) {
    if (!typedOk(type, value)) throw new ArgumentError(`cannot encode ${describe(value)} as field type '${String(type)}'`);
  }
}

/** Helpers creating {@link Typed} values; each validates its argument. */
export const Field = {
  /** A boolean (`t`). */ bool: (v: boolean): Typed => new Typed('t', v),
  /** A signed 8-bit integer (`b`). */ int8: (v: number): Typed => new Typed('b', v),
  /** An unsigned 8-bit integer (`B`). */ uint8: (v: number): Typed => new Typed('B', v),
  /** A signed 16-bit integer (`s`). */ int16: (v: number): Typed => new Typed('s', v),
  /** An unsigned 16-bit integer (`u`). */ uint16: (v: number): Typed => new Typed('u', v),
  /** A signed 32-bit integer (`I`). */ int32: (v: number): Typed => new Typed('I', v),
  /** An unsigned 32-bit integer (`i`). */ uint32: (v: number): Typed => new Typed('i', v),
  /** A signed 64-bit integer (`l`): a safe integer or a bigint. */ int64: (v: number | bigint): Typed => new Typed('l', v),
  /** A 32-bit float (`f`). */ float: (v: number): Typed => new Typed('f', v),
  /** A 64-bit float (`d`), even for integer values. */ double: (v: number): Typed => new Typed('d', v),
  /** A decimal (`D`). */ decimal: (scale: number, value: number): Typed => new Typed('D', new Decimal(scale, value)),
  /** A long string (`S`) from a string or raw bytes. */ longstr: (v: string | Uint8Array): Typed => new Typed('S', v),
  /** A byte array (`x`). */ bytes: (v: Uint8Array): Typed => new Typed('x', v),
  /** A timestamp (`T`): a Date, or uint64 seconds since the epoch. */ timestamp: (v: Date | number | bigint): Typed => new Typed('T', v),
} as const;

/**
 * The tag of every value of a table: its remembered wire tag when it has one (see
 * {@link FIELD_TYPES}), else the inferred tag (`undefined` for a value that cannot be encoded).
 */
export function getFieldTypes(t: FieldTable): Readonly<Record<string, FieldType | undefined>>;
/** The tag of every element of an array, as for tables. */
export function getFieldTypes(a: readonly FieldValue[]): readonly (FieldType | undefined)[];
export function getFieldTypes(t: object): unknown {
  return (t as { [FIELD_TYPES]?: unknown })[FIELD_TYPES] ?? inferTags(t);
}

function inferTags(t: object): unknown {
  if (Array.isArray(t)) return t.map(inferTag);
  const out: Record<string, FieldType | undefined> = Object.create(null) as Record<string, FieldType | undefined>;
  for (const k of Object.keys(t)) out[k] = inferTag((t as Record<string, unknown>)[k]);
  return out;
}

const U32 = 0x100000000;
const MAX_DEPTH = 100;
const MAX_DATE_SECONDS = 8.64e12;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
const TAG_CODES = 'tbBsuIilfdDSATFVx';
/** Tag character by char code, for decoding. */
const TAG_BY_CODE: (FieldType | undefined)[] = [];
for (const c of TAG_CODES) TAG_BY_CODE[c.charCodeAt(0)] = c as FieldType;

/** Buffer methods Node has but @types/node does not declare (no argument juggling, no copies). */
interface FastBuffer extends Buffer {
  utf8Write(s: string, offset: number, length?: number): number;
  utf8Slice(start: number, end: number): string;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return v.length > 40 ? `string "${v.slice(0, 40)}..."` : `string "${v}"`;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return `${typeof v} ${String(v)}`;
  if (typeof v === 'object') {
    if (Array.isArray(v)) return 'an array';
    const ctor = (Object.getPrototypeOf(v) as { constructor?: { name?: string } } | null)?.constructor?.name;
    return ctor ? `a ${ctor}` : 'an object';
  }
  return `a ${typeof v}`;
}

function argError(field: string | undefined, msg: string): ArgumentError {
  return new ArgumentError(field === undefined ? msg : `${field}: ${msg}`);
}

function intError(field: string | undefined, v: unknown, what: string): ArgumentError {
  return argError(field, `expected ${what}, got ${describe(v)}`);
}

function isPlainObject(v: object): boolean {
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Whether `v` (as decoded, or edited since) can still be written with tag `tag`. */
function compatible(tag: unknown, v: unknown): boolean {
  switch (tag) {
    case 't': return typeof v === 'boolean';
    case 'b': return typeof v === 'number' && ((v << 24) >> 24) === v;
    case 'B': return typeof v === 'number' && (v & 0xff) === v;
    case 's': return typeof v === 'number' && ((v << 16) >> 16) === v;
    case 'u': return typeof v === 'number' && (v & 0xffff) === v;
    case 'I': return typeof v === 'number' && (v | 0) === v;
    case 'i': return typeof v === 'number' && v >>> 0 === v;
    case 'l': return typeof v === 'bigint' ? v >= INT64_MIN && v <= INT64_MAX : Number.isSafeInteger(v);
    case 'f': return typeof v === 'number' && (Math.fround(v) === v || v !== v);
    case 'd': return typeof v === 'number';
    case 'D': return v instanceof Decimal;
    case 'S': return typeof v === 'string' || v instanceof Uint8Array;
    case 'x': return v instanceof Uint8Array;
    case 'T': return v instanceof Date;
    case 'F': return typeof v === 'object' && v !== null && !Array.isArray(v) && isPlainObject(v);
    case 'A': return Array.isArray(v);
    case 'V': return v === null || v === undefined;
    default: return false;
  }
}

/** Whether `v` is acceptable in `new Typed(tag, v)`. */
function typedOk(tag: FieldType, v: unknown): boolean {
  if (tag === 'f') return typeof v === 'number';
  if (tag === 'T' && typeof v !== 'object') {
    return typeof v === 'bigint' ? v >= 0n && v <= UINT64_MAX : Number.isSafeInteger(v) && (v as number) >= 0;
  }
  return compatible(tag, v);
}

/** Containers being encoded (for cycles); key path of a failed encode, filled while unwinding. */
const SEEN: object[] = [];
const PATH: (string | number)[] = [];

function encodeError(e: unknown, field: string | undefined): unknown {
  let where = '';
  for (const k of PATH) where += typeof k === 'number' ? `[${k}]` : where === '' ? k : `.${k}`;
  PATH.length = 0;
  SEEN.length = 0;
  if (!(e instanceof ArgumentError)) return e;
  const prefix = field === undefined ? where : where === '' ? field : `${field}: ${where}`;
  return new ArgumentError(prefix === '' ? e.message : `${prefix}: ${e.message}`);
}

function enter(w: Writer, v: object): number {
  if (SEEN.length >= MAX_DEPTH) throw new ArgumentError(`nested deeper than ${MAX_DEPTH} levels`);
  if (SEEN.includes(v)) throw new ArgumentError('circular reference');
  SEEN.push(v);
  w.ensure(4);
  w.pos += 4;
  return w.pos;
}

function leave(w: Writer, start: number): void {
  SEEN.pop();
  const n = w.pos - start;
  w.pos = start - 4;
  w.u32(n);
  w.pos = start + n;
}

function writeTableBody(w: Writer, t: FieldTable): void {
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

function writeArrayBody(w: Writer, a: readonly FieldValue[]): void {
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
function writeValue(w: Writer, v: unknown, hint: unknown): void {
  if (hint !== undefined && compatible(hint, v)) return writeAs(w, hint as FieldType, v);
  const tag = inferTag(v);
  if (tag === undefined) {
    throw new ArgumentError(typeof v === 'number' ? `integer ${v} is beyond Number.MAX_SAFE_INTEGER; use a bigint or Field.double()`
      : `cannot encode ${describe(v)} in a field table`);
  }
  if (!(v instanceof Typed)) return writeAs(w, tag, v);
  if (!typedOk(tag, v.value)) throw new ArgumentError(`cannot encode ${describe(v.value)} as field type '${String(tag)}'`);
  writeAs(w, tag, v.value);
}

/** Writes `v` with tag `tag`; `v` has been checked to fit. */
function writeAs(w: Writer, tag: FieldType, v: unknown): void {
  w.u8(tag.charCodeAt(0));
  switch (tag) {
    case 't': return w.u8(v ? 1 : 0);
    case 'b': return w.i8(v as number);
    case 'B': return w.u8(v as number);
    case 's': return w.i16(v as number);
    case 'u': return w.u16(v as number);
    case 'I': return w.i32(v as number);
    case 'i': return w.u32(v as number);
    case 'l': return w.i64(v as number | bigint);
    case 'f': return w.f32(v as number);
    case 'd': return w.f64(v as number);
    case 'D': w.u8((v as Decimal).scale); return w.u32((v as Decimal).value);
    case 'S': return w.longstr(v as string | Uint8Array);
    case 'x': return w.longstr(v as Uint8Array);
    case 'T': return w.timestamp(v as Date | number | bigint);
    case 'F': return writeTableBody(w, v as FieldTable);
    case 'A': return writeArrayBody(w, v as FieldValue[]);
    case 'V': return;
  }
}

/**
 * A growable output buffer with AMQP primitive writers. Each writer validates its value and
 * throws {@link ArgumentError} (prefixed by `field` when given) before writing it; after an
 * error the bytes past the start of the failed encode are unspecified, so callers rewind `pos`.
 */
export class Writer {
  /** The underlying buffer; replaced (contents kept) when it grows. */
  buf: Buffer;
  /** Write position: bytes `0..pos` are the output. */
  pos = 0;
  /** @param size - Initial capacity in bytes. */
  constructor(size = 256) { this.buf = Buffer.allocUnsafe(size > 0 ? size : 16); }
  /** Makes room for `n` more bytes after `pos`, doubling the capacity as needed. */
  ensure(n: number): void { if (this.pos + n > this.buf.length) this.grow(n); }
  private grow(n: number): void {
    let cap = this.buf.length * 2;
    while (cap < this.pos + n) cap *= 2;
    const next = Buffer.allocUnsafe(cap);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
  /** Reserves `n` bytes at `pos` and returns their offset (read `buf` after calling). */
  private room(n: number): number {
    const p = this.pos;
    if (p + n > this.buf.length) this.grow(n);
    this.pos = p + n;
    return p;
  }
  /** Empties the writer, keeping its buffer. */
  reset(): void { this.pos = 0; }
  /** The bytes written so far: a view of `buf`, valid until the next write or reset. */
  result(): Buffer { return this.buf.subarray(0, this.pos); }

  /** Writes an unsigned 8-bit integer (octet). */
  u8(v: number, field?: string): void {
    if (typeof v !== 'number' || (v & 0xff) !== v) throw intError(field, v, 'an integer 0..255 (octet)');
    const p = this.room(1); this.buf[p] = v;
  }
  /** Writes an unsigned 16-bit integer (short). */
  u16(v: number, field?: string): void {
    if (typeof v !== 'number' || (v & 0xffff) !== v) throw intError(field, v, 'an integer 0..65535 (short)');
    const p = this.room(2), b = this.buf; b[p] = v >>> 8; b[p + 1] = v;
  }
  /** Writes an unsigned 32-bit integer (long). */
  u32(v: number, field?: string): void {
    if (typeof v !== 'number' || v >>> 0 !== v) throw intError(field, v, 'an integer 0..4294967295 (long)');
    this.put32(v);
  }
  /** Writes an unsigned 64-bit integer (longlong): a non-negative safe integer or a bigint. */
  u64(v: number | bigint, field?: string): void {
    if (typeof v === 'bigint') {
      if (v < 0n || v > UINT64_MAX) throw intError(field, v, 'an integer 0..2^64-1 (longlong)');
      const p = this.room(8); this.buf.writeBigUInt64BE(v, p);
      return;
    }
    if (!Number.isSafeInteger(v) || v < 0) throw intError(field, v, 'a safe integer >= 0 or a bigint (longlong)');
    this.put32(Math.floor(v / U32));
    this.put32(v >>> 0);
  }
  /** Writes a signed 8-bit integer. */
  i8(v: number, field?: string): void {
    if (typeof v !== 'number' || ((v << 24) >> 24) !== v) throw intError(field, v, 'an integer -128..127 (int8)');
    const p = this.room(1); this.buf[p] = v;
  }
  /** Writes a signed 16-bit integer. */
  i16(v: number, field?: string): void {
    if (typeof v !== 'number' || ((v << 16) >> 16) !== v) throw intError(field, v, 'an integer -32768..32767 (int16)');
    const p = this.room(2), b = this.buf; b[p] = v >>> 8; b[p + 1] = v;
  }
  /** Writes a signed 32-bit integer. */
  i32(v: number, field?: string): void {
    if (typeof v !== 'number' || (v | 0) !== v) throw intError(field, v, 'an integer -2^31..2^31-1 (int32)');
    this.put32(v);
  }
  /** Writes a signed 64-bit integer: a safe integer or a bigint. */
  i64(v: number | bigint, field?: string): void {
    if (typeof v === 'bigint') {
      if (v < INT64_MIN || v > INT64_MAX) throw intError(field, v, 'an integer -2^63..2^63-1 (int64)');
      const p = this.room(8); this.buf.writeBigInt64BE(v, p);
      return;
    }
    if (!Number.isSafeInteger(v)) throw intError(field, v, 'a safe integer or a bigint (int64)');
    const hi = Math.floor(v / U32);
    this.put32(hi >>> 0);
    this.put32(v - hi * U32);
  }
  /** Writes a 32-bit IEEE float. */
  f32(v: number, field?: string): void {
    if (typeof v !== 'number') throw intError(field, v, 'a number (float)');
    const p = this.room(4); this.buf.writeFloatBE(v, p);
  }
  /** Writes a 64-bit IEEE float. */
  f64(v: number, field?: string): void {
    if (typeof v !== 'number') throw intError(field, v, 'a number (double)');
    const p = this.room(8); this.buf.writeDoubleBE(v, p);
  }
  private put32(v: number): void {
    const p = this.room(4), b = this.buf;
    b[p] = v >>> 24; b[p + 1] = v >>> 16; b[p + 2] = v >>> 8; b[p + 3] = v;
  }

  /** Writes a short string: a length octet and at most 255 UTF-8 bytes. */
  shortstr(s: string, field?: string): void {
    if (typeof s !== 'string') throw intError(field, s, 'a string');
    const len = s.length;
    if (len > 255) throw argError(field, `shortstr longer than 255 bytes (${Buffer.byteLength(s)})`);
    this.ensure(1 + len * 3);
    const b = this.buf, p = this.pos;
    let i = 0;
    for (; i < len; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      b[p + 1 + i] = c;
    }
    const n = i === len ? len : (b as FastBuffer).utf8Write(s, p + 1);
    if (n > 255) throw argError(field, `shortstr longer than 255 bytes (${n})`);
    b[p] = n;
    this.pos = p + 1 + n;
  }
  /** Writes a long string: a 32-bit length and the bytes (a string is written as UTF-8). */
  longstr(s: string | Uint8Array, field?: string): void {
    if (typeof s === 'string') {
      this.ensure(4 + (s.length <= 4096 ? s.length * 3 : Buffer.byteLength(s)));
      const n = (this.buf as FastBuffer).utf8Write(s, this.pos + 4);
      this.put32(n);
      this.pos += n;
    } else if (s instanceof Uint8Array) {
      if (s.length > 0xffffffff) throw argError(field, 'longstr longer than 2^32-1 bytes');
      this.put32(s.length);
      this.bytes(s);
    } else {
      throw intError(field, s, 'a string or Uint8Array (longstr)');
    }
  }
  /** Writes raw bytes, with no length prefix. */
  bytes(b: Uint8Array): void { const p = this.room(b.length); this.buf.set(b, p); }
  /** Writes a timestamp: uint64 seconds since the epoch, from a Date or a number of seconds. */
  timestamp(d: Date | number | bigint, field?: string): void {
    if (d instanceof Date) {
      const ms = d.getTime();
      if (!(ms >= 0)) throw argError(field, `cannot encode ${ms !== ms ? 'an invalid Date' : 'a Date before 1970'} as a timestamp`);
      d = Math.floor(ms / 1000);
    }
    this.u64(d, field);
  }
  /** Writes a field table (`undefined` or `null` is an empty table). */
  table(t: FieldTable | undefined, field?: string): void {
    if (t == null) return this.put32(0);
    if (typeof t !== 'object' || Array.isArray(t) || !isPlainObject(t)) throw intError(field, t, 'a plain object (table)');
    try { writeTableBody(this, t); } catch (e) { throw encodeError(e, field); }
  }
  /** Writes a field array. */
  array(a: readonly FieldValue[], field?: string): void {
    if (!Array.isArray(a)) throw intError(field, a, 'an array');
    try { writeArrayBody(this, a); } catch (e) { throw encodeError(e, field); }
  }
}

function truncated(r: Reader, n: number): FrameError {
  return new FrameError(`truncated frame: need ${n} bytes at offset ${r.pos}, ${r.end - r.pos} left`, { replyCode: 501 });
}

function malformed(msg: string): FrameError {
  return new FrameError(msg, { replyCode: 501 });
}

/**
 * Reads AMQP primitives from `buf` between `pos` and `end`. Reading past `end` throws
 * {@link FrameError} (never a RangeError); after an error the position is unspecified.
 */
export class Reader {
  /** The input bytes. */
  buf: Buffer;
  /** Read position. */
  pos: number;
  /** End of the readable range (exclusive). */
  end: number;
  /**
   * @param buf - Input bytes.
   * @param pos - Start offset.
   * @param end - End offset (exclusive), at most `buf.length`.
   */
  constructor(buf: Buffer, pos = 0, end = buf.length) {
    if (!(pos >= 0 && pos <= end && end <= buf.length)) throw new ArgumentError(`bad Reader range ${pos}..${end} of ${buf.length}`);
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }
  /** Number of bytes left before `end`. */
  get remaining(): number { return this.end - this.pos; }
  /** Consumes `n` bytes and returns their offset; FrameError if fewer are left. */
  private take(n: number): number {
    const p = this.pos;
    if (p + n > this.end) throw truncated(this, n);
    this.pos = p + n;
    return p;
  }

  /** Reads an unsigned 8-bit integer. */
  u8(): number { return this.buf[this.take(1)]!; }
  /** Reads an unsigned 16-bit integer. */
  u16(): number { const p = this.take(2), b = this.buf; return (b[p]! << 8) | b[p + 1]!; }
  /** Reads an unsigned 32-bit integer. */
  u32(): number {
    const p = this.take(4), b = this.buf;
    return b[p]! * 0x1000000 + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
  }
  /** Reads an unsigned 64-bit integer as a number; FrameError if above Number.MAX_SAFE_INTEGER. */
  u64(): number {
    const hi = this.u32(), lo = this.u32();
    if (hi >= 0x200000) throw malformed(`64-bit value ${(BigInt(hi) << 32n) | BigInt(lo)} exceeds Number.MAX_SAFE_INTEGER`);
    return hi * U32 + lo;
  }
  /** Reads an unsigned 64-bit integer as a bigint. */
  u64n(): bigint { return this.buf.readBigUInt64BE(this.take(8)); }
  /** Reads a signed 8-bit integer. */
  i8(): number { return (this.u8() << 24) >> 24; }
  /** Reads a signed 16-bit integer. */
  i16(): number { return (this.u16() << 16) >> 16; }
  /** Reads a signed 32-bit integer. */
  i32(): number { return this.u32() | 0; }
  /** Reads a signed 64-bit integer as a number; FrameError if it is not a safe integer. */
  i64(): number {
    const v = this.i64safe();
    if (typeof v === 'bigint') throw malformed(`64-bit value ${v} is not a safe integer`);
    return v;
  }
  /** Reads a signed 64-bit integer as a bigint. */
  i64n(): bigint { return this.buf.readBigInt64BE(this.take(8)); }
  /** Reads a signed 64-bit integer: a number when it is a safe integer, else a bigint. */
  i64safe(): number | bigint {
    const hi = this.i32(), lo = this.u32();
    const v = hi * U32 + lo;
    if (hi >= -0x200000 && hi < 0x200000 && Number.isSafeInteger(v)) return v;
    return (BigInt(hi) << 32n) | BigInt(lo);
  }
  /** Reads a 32-bit IEEE float. */
  f32(): number { return this.buf.readFloatBE(this.take(4)); }
  /** Reads a 64-bit IEEE float. */
  f64(): number { return this.buf.readDoubleBE(this.take(8)); }
  /** Reads a short string (invalid UTF-8 is replaced with U+FFFD). */
  shortstr(): string {
    const n = this.u8(), p = this.take(n);
    return n === 0 ? '' : (this.buf as FastBuffer).utf8Slice(p, p + n);
  }
  /** Reads a long string as a zero-copy view of `buf`. */
  longstr(): Buffer { return this.bytes(this.u32()); }
  /** Reads `n` raw bytes as a zero-copy view of `buf`. */
  bytes(n: number): Buffer { const p = this.take(n); return this.buf.subarray(p, p + n); }
  /** Reads a timestamp (uint64 seconds); an Invalid Date if beyond Date's range. */
  timestamp(): Date {
    const s = this.u32() * U32 + this.u32();
    return new Date(s <= MAX_DATE_SECONDS ? s * 1000 : NaN);
  }
  /** Reads a field table; see the module documentation for the value mapping. */
  table(): FieldTable { return readTable(this, 0); }
  /** Reads a field array. */
  array(): FieldValue[] { return readArray(this, 0); }
}

/** Sets `end` to the end of a u32-length-prefixed block; returns the previous end. */
function openBlock(r: Reader, depth: number): number {
  if (depth >= MAX_DEPTH) throw malformed(`field table nested deeper than ${MAX_DEPTH} levels`);
  const n = r.u32(), saved = r.end;
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
    case 'b': case 'B': case 's': case 'u': case 'i': case 'f': return true;
    case 'l': return typeof v === 'number' && (v | 0) === v;
    case 'd': return Number.isInteger(v);
    case 'S': return typeof v !== 'string';
    default: return false;
  }
}

/** The tag `v` is encoded with when nothing is remembered, or undefined if it cannot be. */
function inferTag(v: unknown): FieldType | undefined {
  switch (typeof v) {
    case 'string': return 'S';
    case 'boolean': return 't';
    case 'number': return (v | 0) === v ? 'I' : !Number.isInteger(v) ? 'd' : Number.isSafeInteger(v) ? 'l' : undefined;
    case 'bigint': return 'l';
    case 'undefined': return 'V';
    case 'object':
      if (v === null) return 'V';
      if (v instanceof Uint8Array) return 'x';
      if (v instanceof Date) return 'T';
      if (v instanceof Decimal) return 'D';
      if (v instanceof Typed) return v.type;
      if (Array.isArray(v)) return 'A';
      return isPlainObject(v) ? 'F' : undefined;
    default: return undefined;
  }
}

function readTable(r: Reader, depth: number): FieldTable {
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

function readArray(r: Reader, depth: number): FieldValue[] {
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

function readTag(r: Reader): FieldType {
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

function readValue(r: Reader, tag: FieldType, depth: number): FieldValue {
  switch (tag) {
    case 'S': {
      const n = r.u32(), p = r.pos, b = r.buf;
      if (p + n > r.end) throw truncated(r, n);
      r.pos = p + n;
      let i = n <= 64 ? 0 : n; // short strings: check for ASCII here, cheaper than isUtf8
      while (i < n && b[p + i]! < 0x80) i++;
      if (i === n || isUtf8(b.subarray(p, p + n))) return n === 0 ? '' : (b as FastBuffer).utf8Slice(p, p + n);
      return copyOf(b.subarray(p, p + n));
    }
    case 'I': return r.i32();
    case 't': return r.u8() !== 0;
    case 'l': return r.i64safe();
    case 'F': return readTable(r, depth + 1);
    case 'A': return readArray(r, depth + 1);
    case 'T': {
      const hi = r.u32(), lo = r.u32(), s = hi * U32 + lo;
      if (s <= MAX_DATE_SECONDS) return new Date(s * 1000);
      return new Typed('T', hi < 0x200000 ? s : (BigInt(hi) << 32n) | BigInt(lo));
    }
    case 'b': return r.i8();
    case 'B': return r.u8();
    case 's': return r.i16();
    case 'u': return r.u16();
    case 'i': return r.u32();
    case 'f': return r.f32();
    case 'd': return r.f64();
    case 'D': { const scale = r.u8(); return new Decimal(scale, r.u32()); }
    case 'x': return copyOf(r.longstr());
    case 'V': return null;
  }
}
