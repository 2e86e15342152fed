/**
 * Text bodies and their `contentEncoding` label: which labels amqpts can encode a string in,
 * which it can decode, and how.
 *
 * Labels are read the way amqpy, pika and Python's codecs write them as well as the WHATWG way
 * (`latin_1`, `iso8859-1`, `cp1252`, `utf_16_le`, `UTF-8`...). The families:
 *
 * | family | labels (some) | encode | decode |
 * |---|---|---|---|
 * | UTF-8 | `utf-8`, `utf8`, `utf_8` | yes | when the bytes are valid UTF-8 |
 * | ISO-8859-1 | `latin_1`, `latin-1`, `latin1`, `iso-8859-1`, `iso8859_1`, `l1`, `cp819` | yes (code points up to U+00FF) | yes, byte = code point |
 * | ASCII | `ascii`, `us-ascii` | yes (code points up to U+007F) | when every byte is under 0x80 |
 * | UTF-16 | `utf-16le`, `utf_16_le`, `ucs2`, `utf-16be`, `utf-16` (BOM, then little-endian, as Python writes it) | yes | yes |
 * | other single-byte | `cp1252`, `windows-1250`..`1258`, `iso-8859-2`..`16`, `koi8-r`, `koi8-u`, `macintosh`, `ibm866`... | yes (characters the code page has) | yes |
 * | multi-byte legacy | `shift_jis`, `euc-jp`, `gbk`, `gb18030`, `big5`, `euc-kr`, `iso-2022-jp` | no: refused | yes |
 * | binary-to-text | `base64`, `hex` | yes (Node's) | yes (Node's) |
 *
 * Note that the WHATWG standard (and so `TextDecoder`) reads `latin1` and `iso-8859-1` as
 * windows-1252; Python and the AMQP clients mean true ISO-8859-1, so amqpts does too.
 * A label amqpts cannot encode makes encoding a string body an `ArgumentError`: the message is
 * never sent with bytes other than its label says. Decoding never loses bytes: a body that is not
 * valid in its label stays a Buffer.
 */
import { isUtf8 } from 'node:buffer';
import { ArgumentError } from './errors.js';

/** How one label is encoded and decoded. */
interface Charset {
  /** The canonical name, for error messages. */
  readonly name: string;
  /** Encodes `text`; throws ArgumentError for a character the charset lacks; null if it cannot encode at all. */
  readonly encode: ((text: string) => Buffer) | null;
  /** Decodes `bytes`, or returns null when they are not valid in the charset. */
  readonly decode: (bytes: Buffer) => string | null;
}

const LATIN1_LABELS = [
  'iso-8859-1',
  'iso8859-1',
  'iso88591',
  'latin-1',
  'latin1',
  'l1',
  'cp819',
  'ibm819',
  'iso-ir-100',
  '8859',
  'csisolatin1',
];
const ASCII_LABELS = ['ascii', 'us-ascii', 'us', '646', 'ansi-x3.4-1968', 'iso646-us', 'csascii'];
const UTF8_LABELS = ['utf-8', 'utf8', 'u8', 'utf', 'unicode-1-1-utf-8'];
const UTF16LE_LABELS = ['utf-16le', 'utf16le', 'utf-16-le', 'ucs2', 'ucs-2', 'ucs-2le'];
const UTF16BE_LABELS = ['utf-16be', 'utf16be', 'utf-16-be', 'ucs-2be'];
const UTF16_LABELS = ['utf-16', 'utf16', 'u16'];

/** Characters the charset lacks, as an ArgumentError. */
function unencodable(name: string, text: string, index: number): ArgumentError {
  const cp = text.codePointAt(index) ?? 0;
  return new ArgumentError(
    `cannot encode the body in its contentEncoding ${name}: character U+${cp.toString(16).toUpperCase().padStart(4, '0')} at index ${index} has no byte in ${name} (use another contentEncoding, or pass the body as a Buffer)`,
  );
}

function rangeEncoder(name: string, max: number, enc: BufferEncoding): (text: string) => Buffer {
  return (text) => {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > max) throw unencodable(name, text, i);
    return Buffer.from(text, enc);
  };
}

const utf8: Charset = {
  name: 'utf-8',
  encode: (text) => Buffer.from(text, 'utf8'),
  decode: (b) => (isUtf8(b) ? b.toString('utf8') : null),
};
const latin1: Charset = { name: 'iso-8859-1', encode: rangeEncoder('iso-8859-1', 0xff, 'latin1'), decode: (b) => b.toString('latin1') };
const ascii: Charset = {
  name: 'us-ascii',
  encode: rangeEncoder('us-ascii', 0x7f, 'latin1'),
  decode: (b) => {
    for (let i = 0; i < b.length; i++) if ((b[i] as number) > 0x7f) return null;
    return b.toString('latin1');
  },
};

function swap16(b: Buffer): Buffer {
  const out = Buffer.from(b);
  out.swap16();
  return out;
}

/** A decoder that rejects invalid input (null instead of replacement characters). */
function strictDecoder(label: string): (b: Buffer) => string | null {
  const d = new TextDecoder(label, { fatal: true, ignoreBOM: false });
  return (b) => {
    try {
      return d.decode(b);
    } catch {
      return null;
    }
  };
}

const utf16le: Charset = { name: 'utf-16le', encode: (t) => Buffer.from(t, 'utf16le'), decode: strictDecoder('utf-16le') };
const utf16be: Charset = { name: 'utf-16be', encode: (t) => swap16(Buffer.from(t, 'utf16le')), decode: strictDecoder('utf-16be') };
const utf16: Charset = {
  name: 'utf-16',
  encode: (t) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(t, 'utf16le')]),
  decode: (b) => (b.length >= 2 && b[0] === 0xfe && b[1] === 0xff ? utf16be.decode(b.subarray(2)) : utf16le.decode(b)),
};
const nodeCodec = (enc: BufferEncoding): Charset => ({ name: enc, encode: (t) => Buffer.from(t, enc), decode: (b) => b.toString(enc) });

/**
 * A single-byte charset TextDecoder knows (iso-8859-2, koi8-r, windows-1250, ...), as a table
 * read from TextDecoder once. Bytes the charset leaves undefined make a body undecodable (it stays
 * a Buffer) and have no character that encodes to them.
 */
function singleByte(label: string): Charset {
  const decoder = new TextDecoder(label);
  const toChar: number[] = [];
  for (let byte = 0; byte < 256; byte++) {
    const ch = decoder.decode(Uint8Array.of(byte));
    toChar.push(ch.length === 1 && ch !== '\ufffd' ? ch.charCodeAt(0) : -1);
  }
  const cs = tableCharset(decoder.encoding, toChar);
  return { ...cs, decode: (b) => (b.some((x) => toChar[x] === -1) ? null : cs.decode(b)) };
}

/**
 * windows-1252's bytes 0x80..0x9F (the rest is ISO-8859-1). Node 20's TextDecoder reads
 * windows-1252 as ISO-8859-1 (its Latin-1 fast path), so this code page has its own table. Bytes
 * the code page leaves undefined map to the C1 control of the same value, as in the WHATWG index.
 */
const CP1252_HIGH = [
  0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021, 0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0x8d, 0x17d, 0x8f, 0x90, 0x2018, 0x2019,
  0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x2dc, 0x2122, 0x161, 0x203a, 0x153, 0x9d, 0x17e, 0x178,
];

function tableCharset(name: string, toChar: readonly number[]): Charset {
  const toByte = new Map<number, number>();
  toChar.forEach((cp, byte) => {
    toByte.set(cp, byte);
  });
  return {
    name,
    encode: (text) => {
      const out = Buffer.allocUnsafe(text.length);
      for (let i = 0; i < text.length; i++) {
        const byte = toByte.get(text.charCodeAt(i));
        if (byte === undefined) throw unencodable(name, text, i);
        out[i] = byte;
      }
      return out;
    },
    decode: (b) => {
      let s = '';
      for (let i = 0; i < b.length; i += 4096) s += String.fromCharCode(...Array.from(b.subarray(i, i + 4096), (x) => toChar[x] as number));
      return s;
    },
  };
}

const cp1252 = tableCharset('windows-1252', [
  ...Array.from({ length: 0x80 }, (_, i) => i),
  ...CP1252_HIGH,
  ...Array.from({ length: 0x60 }, (_, i) => 0xa0 + i),
]);

/** Encodings TextDecoder decodes with more than one byte per character, which amqpts cannot encode. */
const MULTI_BYTE = new Set(['shift_jis', 'euc-jp', 'iso-2022-jp', 'gbk', 'gb18030', 'big5', 'euc-kr']);

const FIXED = new Map<string, Charset>();
for (const l of UTF8_LABELS) FIXED.set(l, utf8);
for (const l of LATIN1_LABELS) FIXED.set(l, latin1);
for (const l of ASCII_LABELS) FIXED.set(l, ascii);
for (const l of UTF16LE_LABELS) FIXED.set(l, utf16le);
for (const l of UTF16BE_LABELS) FIXED.set(l, utf16be);
for (const l of UTF16_LABELS) FIXED.set(l, utf16);
FIXED.set('binary', latin1); // Node's name for latin-1
FIXED.set('base64', nodeCodec('base64'));
FIXED.set('hex', nodeCodec('hex'));

const cache = new Map<string, Charset | null>();

/** Python spellings (`latin_1`, `iso8859_2`, `utf_16_le`) and WHATWG ones, as one key. */
function normalise(label: string): string {
  return label.trim().toLowerCase().replace(/_/g, '-');
}

/** The charset a `contentEncoding` label names, or null when amqpts knows no such text encoding. */
export function charsetOf(label: string): Charset | null {
  const hit = cache.get(label);
  if (hit !== undefined) return hit;
  const key = normalise(label);
  let cs = FIXED.get(key) ?? FIXED.get(key.replace(/-/g, '')) ?? null;
  if (cs === null) {
    let whatwg: string | null = null;
    for (const candidate of [key, key.replace(/^(latin|iso8859|cp)-/, '$1')]) {
      try {
        whatwg = new TextDecoder(candidate).encoding;
        break;
      } catch {
        // not a label TextDecoder knows
      }
    }
    if (whatwg !== null) {
      cs = MULTI_BYTE.has(whatwg)
        ? { name: whatwg, encode: null, decode: strictDecoder(whatwg) }
        : whatwg === 'windows-1252'
          ? cp1252
          : singleByte(whatwg);
    }
  }
  if (cache.size < 256) cache.set(label, cs);
  return cs;
}

/**
 * Encodes a string body in its `contentEncoding` (UTF-8 when there is none).
 * @throws ArgumentError for a label amqpts cannot encode, or a character the charset lacks.
 */
export function encodeText(text: string, label: string | undefined): Buffer {
  if (label === undefined) return Buffer.from(text, 'utf8');
  const cs = charsetOf(label);
  if (cs === null) {
    throw new ArgumentError(
      `cannot encode a string body as contentEncoding ${JSON.stringify(label)}: amqpts knows no such text encoding (pass the body as a Buffer to send bytes labelled so)`,
    );
  }
  if (cs.encode === null) {
    throw new ArgumentError(
      `cannot encode a string body as contentEncoding ${JSON.stringify(label)}: amqpts decodes ${cs.name} but cannot encode it (pass the body as a Buffer)`,
    );
  }
  return cs.encode(text);
}

/** Checks that a string body can be encoded in `label` (the same errors as `encodeText`, without the work). */
export function checkEncodable(label: string | undefined): void {
  if (label === undefined) return;
  const cs = charsetOf(label);
  if (cs === null || cs.encode === null) encodeText('', label);
}

/**
 * Decodes a received body by its `contentEncoding`; null when the label is no text encoding
 * amqpts knows or the bytes are not valid in it (the body then stays a Buffer, byte for byte).
 */
export function decodeText(body: Buffer, label: string): string | null {
  const cs = charsetOf(label);
  return cs === null ? null : cs.decode(body);
}
