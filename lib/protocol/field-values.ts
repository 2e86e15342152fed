/**
 * The AMQP field value model: type tags ({@link FieldType}), values ({@link FieldValue},
 * {@link FieldTable}), explicitly tagged values ({@link Typed}, {@link Field}), {@link Decimal},
 * and the wire tags a decoded table remembers ({@link FIELD_TYPES}, {@link getFieldTypes}).
 *
 * How values map to tags on the wire, and back, is documented with the codec in
 * `field-table.ts`. This module also holds the `@internal` tag tables, limits, validation and
 * error helpers shared by that codec and by `Writer`/`Reader` in `primitives.ts`. It depends on
 * neither, so the three modules form no import cycle.
 */
import { FrameError, UnencodableValue } from '../errors.js';

/** A field-value type tag, as RabbitMQ reads and writes it. */
export type FieldType = 't' | 'b' | 'B' | 's' | 'u' | 'I' | 'i' | 'l' | 'f' | 'd' | 'D' | 'S' | 'A' | 'T' | 'F' | 'V' | 'x';

/** A field value that can be carried in a field table or array. */
export type FieldValue =
  | boolean
  | number
  | bigint
  | string
  | Buffer
  | Uint8Array
  | Date
  | null
  | Decimal
  | Typed
  | FieldTable
  | FieldValue[];

/** An AMQP field table: string keys (at most 255 UTF-8 bytes) to field values. */
export interface FieldTable {
  [key: string]: FieldValue;
}

/**
 * Key of the non-enumerable property in which a decoded table (array) remembers its wire tags, as
 * a `Record<key, FieldType>` (a `FieldType[]`); see the `field-table.ts` module documentation for
 * when it is set.
 */
export const FIELD_TYPES: unique symbol = Symbol('amqpts.fieldTypes');

/** An AMQP decimal (`D`): `value / 10 ** scale`; scale is 0..255, value a signed 32-bit integer. */
export class Decimal {
  /**
   * @param scale - Number of decimal digits, an integer 0..255.
   * @param value - The unscaled value, a signed 32-bit integer (-2147483648..2147483647), as amqpy, pika and the Java client read and write it.
   * @throws UnencodableValue for a scale or value out of range.
   */
  constructor(
    readonly scale: number,
    readonly value: number,
  ) {
    if (typeof scale !== 'number' || (scale & 0xff) !== scale)
      throw new UnencodableValue(`decimal scale must be an integer 0..255, got ${String(scale)}`);
    if (typeof value !== 'number' || (value | 0) !== value)
      throw new UnencodableValue(`decimal value must be an integer -2147483648..2147483647, got ${String(value)}`);
  }

  /** The decimal as a (possibly rounded) number. */
  toNumber(): number {
    return this.value / 10 ** this.scale;
  }
}

/** A field value with an explicit type tag, validated when created. */
export class Typed {
  /**
   * @param type - The tag to encode with.
   * @param value - A value the tag can carry (for `T` also uint64 seconds as number or bigint).
   * @throws UnencodableValue when the tag cannot carry the value (e.g. 300 as `b`, an int8).
   */
  constructor(
    readonly type: FieldType,
    readonly value: FieldValue,
  ) {
    if (!typedOk(type, value)) throw new UnencodableValue(`cannot encode ${describe(value)} as field type '${String(type)}'`);
  }
}

/**
 * Helpers creating {@link Typed} values; each validates its argument and throws
 * {@link UnencodableValue} (an ArgumentError, and `instanceof FrameSyntaxError`) for one its type
 * cannot carry.
 */
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

/** @internal The inferred tag of every value of a table (`Record`) or array (array). */
export function inferTags(t: object): unknown {
  if (Array.isArray(t)) return t.map(inferTag);
  const out: Record<string, FieldType | undefined> = Object.create(null) as Record<string, FieldType | undefined>;
  for (const k of Object.keys(t)) out[k] = inferTag((t as Record<string, unknown>)[k]);
  return out;
}

/** @internal 2^32, for splitting and joining 64-bit values. */
export const U32 = 0x100000000;
/** @internal Deepest nesting of tables/arrays accepted when encoding or decoding. */
export const MAX_DEPTH = 100;
/** @internal Largest timestamp (seconds) a Date can hold. */
export const MAX_DATE_SECONDS = 8.64e12;
/** @internal Smallest int64. */
export const INT64_MIN = -(2n ** 63n);
/** @internal Largest int64. */
export const INT64_MAX = 2n ** 63n - 1n;
/** @internal Largest uint64. */
export const UINT64_MAX = 2n ** 64n - 1n;
const TAG_CODES = 'tbBsuIilfdDSATFVx';
/** @internal Tag character by char code, for decoding. */
export const TAG_BY_CODE: (FieldType | undefined)[] = [];
for (const c of TAG_CODES) TAG_BY_CODE[c.charCodeAt(0)] = c as FieldType;

/** @internal Buffer methods Node has but @types/node does not declare (no argument juggling, no copies). */
export interface FastBuffer extends Buffer {
  utf8Write(s: string, offset: number, length?: number): number;
  utf8Slice(start: number, end: number): string;
}

/** @internal A short description of `v` for error messages, e.g. `string "abc"`, `a Map`. */
export function describe(v: unknown): string {
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

/** @internal An UnencodableValue whose message is prefixed by `field` when given. */
export function argError(field: string | undefined, msg: string): UnencodableValue {
  return new UnencodableValue(field === undefined ? msg : `${field}: ${msg}`);
}

/** @internal An UnencodableValue for a value that is not `what`. */
export function intError(field: string | undefined, v: unknown, what: string): UnencodableValue {
  return argError(field, `expected ${what}, got ${describe(v)}`);
}

/** @internal Whether `v` is a plain object (prototype Object.prototype or null). */
export function isPlainObject(v: object): boolean {
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** @internal Whether `v` (as decoded, or edited since) can still be written with tag `tag`. */
export function compatible(tag: unknown, v: unknown): boolean {
  switch (tag) {
    case 't':
      return typeof v === 'boolean';
    case 'b':
      return typeof v === 'number' && (v << 24) >> 24 === v;
    case 'B':
      return typeof v === 'number' && (v & 0xff) === v;
    case 's':
      return typeof v === 'number' && (v << 16) >> 16 === v;
    case 'u':
      return typeof v === 'number' && (v & 0xffff) === v;
    case 'I':
      return typeof v === 'number' && (v | 0) === v;
    case 'i':
      return typeof v === 'number' && v >>> 0 === v;
    case 'l':
      return typeof v === 'bigint' ? v >= INT64_MIN && v <= INT64_MAX : Number.isSafeInteger(v);
    case 'f':
      return typeof v === 'number' && (Math.fround(v) === v || Number.isNaN(v));
    case 'd':
      return typeof v === 'number';
    case 'D':
      return v instanceof Decimal;
    case 'S':
      return typeof v === 'string' || v instanceof Uint8Array;
    case 'x':
      return v instanceof Uint8Array;
    case 'T':
      return v instanceof Date;
    case 'F':
      return typeof v === 'object' && v !== null && !Array.isArray(v) && isPlainObject(v);
    case 'A':
      return Array.isArray(v);
    case 'V':
      return v === null || v === undefined;
    default:
      return false;
  }
}

/** @internal Whether `v` is acceptable in `new Typed(tag, v)`. */
export function typedOk(tag: FieldType, v: unknown): boolean {
  if (tag === 'f') return typeof v === 'number';
  if (tag === 'T' && typeof v !== 'object') {
    return typeof v === 'bigint' ? v >= 0n && v <= UINT64_MAX : Number.isSafeInteger(v) && (v as number) >= 0;
  }
  return compatible(tag, v);
}

/** @internal The tag `v` is encoded with when nothing is remembered, or undefined if it cannot be. */
export function inferTag(v: unknown): FieldType | undefined {
  switch (typeof v) {
    case 'string':
      return 'S';
    case 'boolean':
      return 't';
    case 'number':
      return (v | 0) === v ? 'I' : !Number.isInteger(v) ? 'd' : Number.isSafeInteger(v) ? 'l' : undefined;
    case 'bigint':
      return 'l';
    case 'undefined':
      return 'V';
    case 'object':
      if (v === null) return 'V';
      if (v instanceof Uint8Array) return 'x';
      if (v instanceof Date) return 'T';
      if (v instanceof Decimal) return 'D';
      if (v instanceof Typed) return v.type;
      if (Array.isArray(v)) return 'A';
      return isPlainObject(v) ? 'F' : undefined;
    default:
      return undefined;
  }
}

/** @internal The FrameError for reading `n` bytes at `r.pos` when fewer are left. */
export function truncated(r: { readonly pos: number; readonly end: number }, n: number): FrameError {
  return new FrameError(`truncated frame: need ${n} bytes at offset ${r.pos}, ${r.end - r.pos} left`, { replyCode: 501 });
}

/** @internal A FrameError (reply code 501, frame error) for malformed input. */
export function malformed(msg: string): FrameError {
  return new FrameError(msg, { replyCode: 501 });
}
