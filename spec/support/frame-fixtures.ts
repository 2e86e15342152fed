// Shared fixtures of the FrameParser specs: frame builders, stream fixtures, split runners and
// the malformed-input corpus.
import { expect } from '@jest/globals';
import { FrameError } from '../../lib/errors.js';
import { FrameParser, type BodyPartHandler } from '../../lib/protocol/frame-parser.js';
import { prng } from './prng.js';

/**
 * A FrameParser whose handler takes each payload as a view (`buf.subarray(start, end)` of what the
 * parser passes), so specs can compare payloads directly; the range itself is checked that way.
 */
export class ViewParser extends FrameParser {
  constructor(onFrame: (type: number, channel: number, payload: Buffer) => void, frameMax?: number, onBodyPart?: BodyPartHandler) {
    super((type, channel, buf, start, end) => onFrame(type, channel, buf.subarray(start, end)), frameMax, onBodyPart);
  }
}
// ---------------------------------------------------------------------------------------------
// Helpers

export interface Frame {
  type: number;
  channel: number;
  payload: Buffer;
}

export interface Fixture {
  stream: Buffer;
  frames: Frame[];
  /** Offset of each frame in `stream`, plus `stream.length` at the end. */
  starts: number[];
}

/** Encodes a frame independently of lib/protocol/frame.ts. */
export function raw(type: number, channel: number, payload: Uint8Array | readonly number[]): Buffer {
  const body = Buffer.from(payload);
  const out = Buffer.alloc(body.length + 8);
  out[0] = type;
  out.writeUInt16BE(channel, 1);
  out.writeUInt32BE(body.length, 3);
  body.copy(out, 7);
  out[7 + body.length] = 0xce;
  return out;
}

/** Payload bytes: seeded noise, seasoned with end octets and 'AMQP' to trip naive parsers. */
export function payloadOf(size: number, rand: () => number): Buffer {
  const p = Buffer.alloc(size);
  for (let i = 0; i < size; i++) p[i] = Math.floor(rand() * 256);
  if (size > 0) p[size - 1] = 0xce;
  if (size >= 4 && rand() < 0.5) p.write('AMQP', 0, 'latin1');
  return p;
}

/** Fast seeded filler for multi-MiB payloads (xorshift32, a word at a time). */
export function bigPayload(size: number, seed: number): Buffer {
  const words = new Uint32Array(Math.ceil(size / 4));
  let x = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  const p = Buffer.from(words.buffer, 0, size);
  p[size - 1] = 0xce;
  return p;
}

export function buildFixture(specs: ReadonlyArray<readonly [number, number, number]>, seed: number): Fixture {
  const rand = prng(seed);
  const frames: Frame[] = [];
  const parts: Buffer[] = [];
  const starts: number[] = [];
  let offset = 0;
  for (const [type, channel, size] of specs) {
    const payload = type === 8 ? Buffer.alloc(0) : payloadOf(size, rand);
    frames.push({ type, channel, payload });
    const bytes = raw(type, channel, payload);
    parts.push(bytes);
    starts.push(offset);
    offset += bytes.length;
  }
  starts.push(offset);
  return { stream: Buffer.concat(parts), frames, starts };
}

/** Copies `stream` into chunks cut at `cuts`; every chunk gets its own ArrayBuffer. */
export function chunksAt(stream: Buffer, cuts: readonly number[]): { chunks: Buffer[]; offsets: number[] } {
  const chunks: Buffer[] = [];
  const offsets: number[] = [];
  let prev = 0;
  for (const cut of [...cuts, stream.length]) {
    const chunk = Buffer.from(new ArrayBuffer(cut - prev));
    stream.copy(chunk, 0, prev, cut);
    chunks.push(chunk);
    offsets.push(prev);
    prev = cut;
  }
  return { chunks, offsets };
}

/**
 * Pushes `chunks` into `parser` in order (`before(i)` runs ahead of push i) and returns a problem
 * for every push after which `parser.buffered` is not the size of the frame still incomplete.
 */
export function pushChecked(
  parser: FrameParser,
  chunks: readonly Buffer[],
  starts: readonly number[],
  where: string,
  before: (i: number) => void,
): string[] {
  const problems: string[] = [];
  let pushed = 0;
  for (let i = 0; i < chunks.length; i++) {
    before(i);
    const chunk = chunks[i]!;
    parser.push(chunk);
    pushed += chunk.length;
    let boundary = 0;
    for (const s of starts) if (s <= pushed) boundary = s;
    if (parser.buffered !== pushed - boundary) {
      problems.push(`${where}: buffered ${parser.buffered} after ${pushed} bytes, expected ${pushed - boundary}`);
    }
  }
  return problems;
}

/**
 * Parses `fixture.stream` cut at `cuts` and returns a list of problems (empty when all is well):
 * wrong frames, wrong `buffered` after a push, or a frame lying wholly inside a chunk that was
 * not delivered as a view of that chunk. Payloads are compared only after the last push, so a
 * parser that reuses memory it has handed out is caught too.
 */
export function run(fixture: Fixture, cuts: readonly number[], frameMax: number): string[] {
  const { stream, frames, starts } = fixture;
  const { chunks, offsets } = chunksAt(stream, cuts);
  const got: Array<Frame & { chunk: number }> = [];
  let current = -1;
  const parser = new ViewParser((type, channel, payload) => {
    got.push({ type, channel, payload, chunk: current });
  }, frameMax);
  const where = `cuts [${cuts.join(',')}]`;
  const problems = pushChecked(parser, chunks, starts, where, (i) => {
    current = i;
  });

  if (got.length !== frames.length) {
    problems.push(`${where}: got ${got.length} frames, expected ${frames.length}`);
    return problems;
  }
  for (let k = 0; k < frames.length; k++) {
    const want = frames[k]!;
    const have = got[k]!;
    if (have.type !== want.type || have.channel !== want.channel || !have.payload.equals(want.payload)) {
      problems.push(
        `${where}: frame ${k} is (${have.type}, ${have.channel}, ${have.payload.length} bytes), ` +
          `expected (${want.type}, ${want.channel}, ${want.payload.length} bytes)${
            have.payload.length === want.payload.length ? ' with other bytes' : ''
          }`,
      );
      continue;
    }
    const start = starts[k]!;
    const end = starts[k + 1]!;
    for (let i = 0; i < chunks.length; i++) {
      const chunkStart = offsets[i]!;
      const chunk = chunks[i]!;
      if (chunkStart <= start && end <= chunkStart + chunk.length) {
        const zeroCopy =
          have.payload.buffer === chunk.buffer && have.payload.byteOffset === chunk.byteOffset + start + 7 - chunkStart && have.chunk === i;
        if (!zeroCopy) problems.push(`${where}: frame ${k} lies wholly in chunk ${i} but was copied`);
      }
    }
  }
  return problems;
}

/** Runs many cut sets, stopping after a few problems. */
export function runAll(fixture: Fixture, cutSets: Iterable<readonly number[]>, frameMax: number): { runs: number; problems: string[] } {
  const problems: string[] = [];
  let runs = 0;
  for (const cuts of cutSets) {
    runs++;
    problems.push(...run(fixture, cuts, frameMax));
    if (problems.length >= 10) break;
  }
  return { runs, problems };
}

/** Offsets where splits are most likely to go wrong: around every frame boundary and end octet. */
export function interestingOffsets(fixture: Fixture): number[] {
  const set = new Set<number>();
  const { starts, stream } = fixture;
  for (let k = 0; k < starts.length; k++) {
    const s = starts[k]!;
    for (const d of [-2, -1, 0, 1, 2, 3, 4, 6, 7, 8]) set.add(s + d);
    const next = starts[k + 1];
    if (next !== undefined && next - s > 9) set.add(next - 2); // right before the end octet
  }
  return [...set].filter((o) => o >= 0 && o <= stream.length).sort((a, b) => a - b);
}

export function randomCuts(length: number, rand: () => number, maxChunk: number): number[] {
  const cuts: number[] = [];
  let pos = 0;
  for (;;) {
    pos += 1 + Math.floor(rand() * maxChunk);
    if (pos >= length) return cuts;
    cuts.push(pos);
  }
}

export function thrown(fn: () => void): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

export const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1');

// ---------------------------------------------------------------------------------------------
// Fixtures

export const SMALL_MAX = 1024;
/** Every frame type and size class, with frameMax 1024: empty, 1 byte, ..., exactly frameMax. */
export const SMALL_SPECS: ReadonlyArray<readonly [number, number, number]> = [
  [8, 0, 0],
  [1, 0, 0],
  [1, 0, 1],
  [1, 0, 12],
  [2, 1, 14],
  [3, 1, 0],
  [3, 1, 1],
  [3, 1, 2],
  [3, 1, 6],
  [3, 1, 7],
  [3, 1, 8],
  [8, 0, 0],
  [3, 1, 100],
  [3, 1, SMALL_MAX - 8], // exactly frameMax
  [3, 2, SMALL_MAX - 9],
  [1, 65535, 5],
  [2, 256, 30],
  [3, 256, SMALL_MAX - 8],
  [8, 0, 0],
  [8, 0, 0],
  [1, 1, 3],
  [2, 1, 3],
  [3, 1, 3],
  [3, 7, SMALL_MAX - 8],
  [3, 7, 1],
];
export const small = buildFixture(SMALL_SPECS, 1);

export const DEFAULT_MAX = 131072;
export const BIG_SPECS: ReadonlyArray<readonly [number, number, number]> = [
  [1, 1, 20],
  [2, 1, 30],
  [3, 1, DEFAULT_MAX - 8], // exactly the default frameMax
  [8, 0, 0],
  [3, 1, 0],
  [3, 2, DEFAULT_MAX - 8],
  [3, 2, 70000],
  [1, 0, 5],
];
export const big = buildFixture(BIG_SPECS, 2);

// ---------------------------------------------------------------------------------------------
// Well-formed streams

export interface Bad {
  name: string;
  bytes: Buffer;
  frameMax?: number;
  message: RegExp;
  /** Byte count after which the error must be raised when fed one byte at a time. */
  failsAt?: number;
  /** Frames delivered before the error. */
  delivered?: number;
}

export const good = Buffer.concat([raw(1, 0, [1, 2, 3]), raw(8, 0, [])]); // 2 frames, 19 bytes
export const GOOD = good.length;

export function withEnd(bytes: Buffer, end: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[copy.length - 1] = end;
  return copy;
}

export const oversizeHeader = (size: number): Buffer => {
  const b = Buffer.alloc(7);
  b[0] = 3;
  b.writeUInt16BE(1, 1);
  b.writeUInt32BE(size, 3);
  return b;
};

export const garbageRand = prng(99);
export const randomGarbage: Bad[] = Array.from({ length: 40 }, (_, i) => ({
  name: `seeded random garbage #${i}`,
  bytes: payloadOf(64, garbageRand),
  frameMax: SMALL_MAX,
  message: /./,
}));

export const corpus: Bad[] = [
  { name: 'bad end octet 0x00', bytes: withEnd(raw(3, 1, [1, 2, 3]), 0), message: /bad frame end octet 0x00/, failsAt: 11 },
  { name: 'bad end octet on an empty frame', bytes: withEnd(raw(8, 0, []), 0xcd), message: /end octet 0xcd/, failsAt: 8 },
  {
    name: 'bad end octet after valid frames',
    bytes: Buffer.concat([good, withEnd(raw(2, 4, [9]), 0xff)]),
    message: /end octet 0xff.*type 2, channel 4, size 1/,
    failsAt: GOOD + 9,
    delivered: 2,
  },
  {
    name: 'size field one short: the end octet position holds a payload byte',
    bytes: Buffer.from([3, 0, 1, 0, 0, 0, 2, 0x11, 0x22, 0x33, 0xce]),
    message: /end octet 0x33/,
    failsAt: 10,
  },
  {
    name: 'oversize: one byte over frameMax',
    bytes: Buffer.concat([oversizeHeader(SMALL_MAX - 7), Buffer.alloc(100)]),
    frameMax: SMALL_MAX,
    message: /frame of 1025 bytes .*exceeds frame_max 1024/,
    failsAt: 7,
  },
  {
    name: 'oversize: size 0xffffffff with the default frameMax',
    bytes: Buffer.concat([oversizeHeader(0xffffffff), Buffer.alloc(20)]),
    message: /exceeds frame_max 131072/,
    failsAt: 7,
  },
  {
    name: 'oversize after valid frames',
    bytes: Buffer.concat([good, oversizeHeader(DEFAULT_MAX - 7)]),
    message: /frame of 131073 bytes/,
    failsAt: GOOD + 7,
    delivered: 2,
  },
  ...[0, 4, 5, 9, 0x41 + 1, 0xce, 0xff].map((type) => ({
    name: `unknown frame type ${type}`,
    bytes: raw(type, 0, []),
    message: new RegExp(`unknown frame type ${type}\\b`),
    failsAt: 1,
  })),
  {
    name: 'unknown frame type after valid frames',
    bytes: Buffer.concat([good, raw(7, 0, [1])]),
    message: /unknown frame type 7\b/,
    failsAt: GOOD + 1,
    delivered: 2,
  },
  { name: 'heartbeat on channel 5', bytes: raw(8, 5, []), message: /heartbeat frame on channel 5/, failsAt: 7 },
  { name: 'heartbeat with a payload', bytes: raw(8, 0, [0]), message: /heartbeat frame with a 1-byte payload/, failsAt: 7 },
  {
    name: 'server protocol header AMQP 0-9-1',
    bytes: Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]),
    message: /rejected our AMQP 0-9-1 protocol header.*speaks AMQP 0-9-1/,
    failsAt: 8,
  },
  {
    name: 'server protocol header AMQP 0-8 (legacy 1 1 8 0 form)',
    bytes: Buffer.concat([latin1('AMQP'), Buffer.from([1, 1, 8, 0])]),
    message: /speaks AMQP 8-0/,
    failsAt: 8,
  },
  {
    name: 'server protocol header AMQP 1.0',
    bytes: Buffer.concat([latin1('AMQP'), Buffer.from([0, 1, 0, 0])]),
    message: /speaks AMQP 1-0-0 /,
    failsAt: 8,
  },
  {
    name: 'server protocol header AMQP 1.0 SASL',
    bytes: Buffer.concat([latin1('AMQP'), Buffer.from([3, 1, 0, 0])]),
    message: /speaks AMQP 1-0-0 \(protocol id 3\)/,
    failsAt: 8,
  },
  {
    name: 'server protocol header after valid frames',
    bytes: Buffer.concat([good, latin1('AMQP'), Buffer.from([0, 0, 9, 1])]),
    message: /speaks AMQP 0-9-1/,
    failsAt: GOOD + 8,
    delivered: 2,
  },
  { name: "'AMQX': not a protocol header", bytes: latin1('AMQX\0\0\x09\x01'), message: /unknown frame type 65\b/, failsAt: 4 },
  { name: "'A' then garbage", bytes: latin1('A\0\0\0\0\0\0\xce'), message: /unknown frame type 65\b/, failsAt: 2 },
  {
    name: 'garbage: an HTTP response',
    bytes: latin1('HTTP/1.1 400 Bad Request\r\n\r\n'),
    message: /unknown frame type 72\b/,
    failsAt: 1,
  },
  { name: 'garbage: a TLS alert', bytes: Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46]), message: /type 21\b/, failsAt: 1 },
  { name: 'garbage: zeros', bytes: Buffer.alloc(32), message: /unknown frame type 0\b/, failsAt: 1 },
  ...randomGarbage,
];

export function expectFrameError(err: unknown, bad: Bad): void {
  expect(err).toBeInstanceOf(FrameError);
  const e = err as FrameError;
  expect(e.replyCode).toBe(501);
  expect(e.message).toMatch(bad.message);
}

/** Every single cut of `fixture`'s stream: two chunks, split at each byte offset (0..length). */
export function everyCut(fixture: Fixture): number[][] {
  const cutSets: number[][] = [];
  for (let i = 0; i <= fixture.stream.length; i++) cutSets.push([i]);
  return cutSets;
}

/** Three-chunk cut sets at pairs of the fixture's interesting offsets (the second stepping by 2). */
export function offsetPairCuts(fixture: Fixture): number[][] {
  const offsets = interestingOffsets(fixture);
  const cutSets: number[][] = [];
  for (let a = 0; a < offsets.length; a++) {
    for (let b = a; b < offsets.length; b += 2) cutSets.push([offsets[a]!, offsets[b]!]);
  }
  return cutSets;
}

/** `count` seeded random chunkings of the fixture's stream, maximum chunk sizes cycling 3..3000. */
export function randomCutSets(fixture: Fixture, seed: number, count: number): number[][] {
  const rand = prng(seed);
  const cutSets: number[][] = [];
  for (let n = 0; n < count; n++) cutSets.push(randomCuts(fixture.stream.length, rand, [3, 9, 64, 700, 3000][n % 5]!));
  return cutSets;
}

/** For frames of frameMax size: a cut at every boundary, pairs of them, and 40 seeded random chunkings. */
export function boundaryCuts(fixture: Fixture, seed: number): number[][] {
  const offsets = interestingOffsets(fixture);
  const cutSets: number[][] = offsets.map((o) => [o]);
  for (let a = 0; a < offsets.length; a += 3) {
    for (let b = a; b < offsets.length; b += 5) cutSets.push([offsets[a]!, offsets[b]!]);
  }
  const rand = prng(seed);
  for (let n = 0; n < 40; n++) cutSets.push(randomCuts(fixture.stream.length, rand, n % 2 ? 65536 : 20000));
  return cutSets;
}
