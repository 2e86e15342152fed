/**
 * AMQP 0-9-1 primitive codec: {@link Writer} encodes, {@link Reader} decodes.
 *
 * Field tables and arrays (`Writer.table`/`array`, `Reader.table`/`array`) are encoded and decoded
 * by `field-table.ts`, which documents the tag ↔ value mapping; the field value model
 * ({@link FieldValue}, {@link Decimal}, {@link Typed}, {@link Field}, ...) lives in
 * `field-values.ts` and is re-exported from here, so callers import everything from this module.
 */
import { ArgumentError } from '../errors.js';
import { encodeError, readArray, readTable, writeArrayBody, writeTableBody } from './field-table.js';
import {
  INT64_MAX,
  INT64_MIN,
  MAX_DATE_SECONDS,
  U32,
  UINT64_MAX,
  argError,
  intError,
  isPlainObject,
  malformed,
  truncated,
  type FastBuffer,
  type FieldTable,
  type FieldValue,
} from './field-values.js';

/** The field value model (documented where it is defined, in `field-values.ts`). */
export {
  Decimal,
  FIELD_TYPES,
  Field,
  Typed,
  getFieldTypes,
  type FieldTable,
  type FieldType,
  type FieldValue,
} from './field-values.js';

/** Cache of `Reader.shortstrRepeated()`: byte copies and their strings, direct-mapped. */
const INTERN_SLOTS = 64;
const INTERN_MAX_LEN = 64;
const internBytes: Array<Uint8Array | undefined> = new Array<Uint8Array | undefined>(INTERN_SLOTS).fill(undefined);
const internStrings: string[] = new Array<string>(INTERN_SLOTS).fill('');

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
  constructor(size = 256) {
    this.buf = Buffer.allocUnsafe(size > 0 ? size : 16);
  }
  /** Makes room for `n` more bytes after `pos`, doubling the capacity as needed. */
  ensure(n: number): void {
    if (this.pos + n > this.buf.length) this.grow(n);
  }
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
  reset(): void {
    this.pos = 0;
  }
  /** The bytes written so far: a view of `buf`, valid until the next write or reset. */
  result(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  /** Writes an unsigned 8-bit integer (octet). */
  u8(v: number, field?: string): void {
    if (typeof v !== 'number' || (v & 0xff) !== v) throw intError(field, v, 'an integer 0..255 (octet)');
    const p = this.room(1);
    this.buf[p] = v;
  }
  /** Writes an unsigned 16-bit integer (short). */
  u16(v: number, field?: string): void {
    if (typeof v !== 'number' || (v & 0xffff) !== v) throw intError(field, v, 'an integer 0..65535 (short)');
    const p = this.room(2),
      b = this.buf;
    b[p] = v >>> 8;
    b[p + 1] = v;
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
      const p = this.room(8);
      this.buf.writeBigUInt64BE(v, p);
      return;
    }
    if (!Number.isSafeInteger(v) || v < 0) throw intError(field, v, 'a safe integer >= 0 or a bigint (longlong)');
    this.put32(Math.floor(v / U32));
    this.put32(v >>> 0);
  }
  /** Writes a signed 8-bit integer. */
  i8(v: number, field?: string): void {
    if (typeof v !== 'number' || (v << 24) >> 24 !== v) throw intError(field, v, 'an integer -128..127 (int8)');
    const p = this.room(1);
    this.buf[p] = v;
  }
  /** Writes a signed 16-bit integer. */
  i16(v: number, field?: string): void {
    if (typeof v !== 'number' || (v << 16) >> 16 !== v) throw intError(field, v, 'an integer -32768..32767 (int16)');
    const p = this.room(2),
      b = this.buf;
    b[p] = v >>> 8;
    b[p + 1] = v;
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
      const p = this.room(8);
      this.buf.writeBigInt64BE(v, p);
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
    const p = this.room(4);
    this.buf.writeFloatBE(v, p);
  }
  /** Writes a 64-bit IEEE float. */
  f64(v: number, field?: string): void {
    if (typeof v !== 'number') throw intError(field, v, 'a number (double)');
    const p = this.room(8);
    this.buf.writeDoubleBE(v, p);
  }
  private put32(v: number): void {
    const p = this.room(4),
      b = this.buf;
    b[p] = v >>> 24;
    b[p + 1] = v >>> 16;
    b[p + 2] = v >>> 8;
    b[p + 3] = v;
  }

  /** Writes a short string: a length octet and at most 255 UTF-8 bytes. */
  shortstr(s: string, field?: string): void {
    if (typeof s !== 'string') throw intError(field, s, 'a string');
    const len = s.length;
    if (len > 255) throw argError(field, `shortstr longer than 255 bytes (${Buffer.byteLength(s)})`);
    this.ensure(1 + len * 3);
    const b = this.buf,
      p = this.pos;
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
  bytes(b: Uint8Array): void {
    const p = this.room(b.length);
    this.buf.set(b, p);
  }
  /** Writes a timestamp: uint64 seconds since the epoch, from a Date or a number of seconds. */
  timestamp(d: Date | number | bigint, field?: string): void {
    if (d instanceof Date) {
      const ms = d.getTime();
      if (!(ms >= 0)) throw argError(field, `cannot encode ${Number.isNaN(ms) ? 'an invalid Date' : 'a Date before 1970'} as a timestamp`);
      d = Math.floor(ms / 1000);
    }
    this.u64(d, field);
  }
  /** Writes a field table (`undefined` or `null` is an empty table). */
  table(t: FieldTable | undefined, field?: string): void {
    if (t == null) return this.put32(0);
    if (typeof t !== 'object' || Array.isArray(t) || !isPlainObject(t)) throw intError(field, t, 'a plain object (table)');
    try {
      writeTableBody(this, t);
    } catch (e) {
      throw encodeError(e, field);
    }
  }
  /** Writes a field array. */
  array(a: readonly FieldValue[], field?: string): void {
    if (!Array.isArray(a)) throw intError(field, a, 'an array');
    try {
      writeArrayBody(this, a);
    } catch (e) {
      throw encodeError(e, field);
    }
  }
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
  get remaining(): number {
    return this.end - this.pos;
  }
  /** Consumes `n` bytes and returns their offset; FrameError if fewer are left. */
  private take(n: number): number {
    const p = this.pos;
    if (p + n > this.end) throw truncated(this, n);
    this.pos = p + n;
    return p;
  }

  /** Reads an unsigned 8-bit integer. */
  u8(): number {
    return this.buf[this.take(1)]!;
  }
  /** Reads an unsigned 16-bit integer. */
  u16(): number {
    const p = this.take(2),
      b = this.buf;
    return (b[p]! << 8) | b[p + 1]!;
  }
  /** Reads an unsigned 32-bit integer. */
  u32(): number {
    const p = this.take(4),
      b = this.buf;
    return b[p]! * 0x1000000 + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
  }
  /** Reads an unsigned 64-bit integer as a number; FrameError if above Number.MAX_SAFE_INTEGER. */
  u64(): number {
    const hi = this.u32(),
      lo = this.u32();
    if (hi >= 0x200000) throw malformed(`64-bit value ${(BigInt(hi) << 32n) | BigInt(lo)} exceeds Number.MAX_SAFE_INTEGER`);
    return hi * U32 + lo;
  }
  /** Reads an unsigned 64-bit integer as a bigint. */
  u64n(): bigint {
    return this.buf.readBigUInt64BE(this.take(8));
  }
  /** Reads a signed 8-bit integer. */
  i8(): number {
    return (this.u8() << 24) >> 24;
  }
  /** Reads a signed 16-bit integer. */
  i16(): number {
    return (this.u16() << 16) >> 16;
  }
  /** Reads a signed 32-bit integer. */
  i32(): number {
    return this.u32() | 0;
  }
  /** Reads a signed 64-bit integer as a number; FrameError if it is not a safe integer. */
  i64(): number {
    const v = this.i64safe();
    if (typeof v === 'bigint') throw malformed(`64-bit value ${v} is not a safe integer`);
    return v;
  }
  /** Reads a signed 64-bit integer as a bigint. */
  i64n(): bigint {
    return this.buf.readBigInt64BE(this.take(8));
  }
  /** Reads a signed 64-bit integer: a number when it is a safe integer, else a bigint. */
  i64safe(): number | bigint {
    const hi = this.i32(),
      lo = this.u32();
    const v = hi * U32 + lo;
    if (hi >= -0x200000 && hi < 0x200000 && Number.isSafeInteger(v)) return v;
    return (BigInt(hi) << 32n) | BigInt(lo);
  }
  /** Reads a 32-bit IEEE float. */
  f32(): number {
    return this.buf.readFloatBE(this.take(4));
  }
  /** Reads a 64-bit IEEE float. */
  f64(): number {
    return this.buf.readDoubleBE(this.take(8));
  }
  /** Reads a short string (invalid UTF-8 is replaced with U+FFFD). */
  shortstr(): string {
    const n = this.u8(),
      p = this.take(n);
    return n === 0 ? '' : (this.buf as FastBuffer).utf8Slice(p, p + n);
  }
  /**
   * Reads a short string that is likely to repeat (a delivery's consumer tag, exchange and
   * routing key): returns the earlier string when the bytes match one seen recently, sparing
   * the decode, the allocation and, for Map keys such as consumer tags, the re-hashing.
   */
  shortstrRepeated(): string {
    const n = this.u8(),
      p = this.take(n);
    if (n === 0) return '';
    const buf = this.buf;
    if (n > INTERN_MAX_LEN) return (buf as FastBuffer).utf8Slice(p, p + n);
    const slot = (n * 31 + buf[p]! * 7 + buf[p + (n >> 1)]! * 3 + buf[p + n - 1]!) & (INTERN_SLOTS - 1);
    const known = internBytes[slot];
    if (known !== undefined && known.length === n) {
      let i = 0;
      while (i < n && known[i] === buf[p + i]) i++;
      if (i === n) return internStrings[slot]!;
    }
    const str = (buf as FastBuffer).utf8Slice(p, p + n);
    internBytes[slot] = Uint8Array.prototype.slice.call(buf, p, p + n);
    internStrings[slot] = str;
    return str;
  }
  /**
   * Reads a long string as a copy: method arguments outlive the read they arrived in (the socket's
   * landing buffer is reused by the next read).
   */
  longstr(): Buffer {
    return Buffer.from(this.bytes(this.u32()));
  }
  /** Reads `n` raw bytes as a zero-copy view of `buf`. */
  bytes(n: number): Buffer {
    const p = this.take(n);
    return this.buf.subarray(p, p + n);
  }
  /** Reads a timestamp (uint64 seconds); an Invalid Date if beyond Date's range. */
  timestamp(): Date {
    const s = this.u32() * U32 + this.u32();
    return new Date(s <= MAX_DATE_SECONDS ? s * 1000 : NaN);
  }
  /** Reads a field table; see `field-table.ts` for the value mapping. */
  table(): FieldTable {
    return readTable(this, 0);
  }
  /** Reads a field array. */
  array(): FieldValue[] {
    return readArray(this, 0);
  }
}
