import { describe, it, expect, jest } from '@jest/globals';

import { ArgumentError, FrameError } from '../../lib/errors.js';
import { FrameParser } from '../../lib/protocol/frame-parser.js';
import { prng } from '../support/prng.js';

// ---------------------------------------------------------------------------------------------
// Helpers

interface Frame {
  type: number;
  channel: number;
  payload: Buffer;
}

interface Fixture {
  stream: Buffer;
  frames: Frame[];
  /** Offset of each frame in `stream`, plus `stream.length` at the end. */
  starts: number[];
}

/** Encodes a frame independently of lib/protocol/frame.ts. */
function raw(type: number, channel: number, payload: Uint8Array | readonly number[]): Buffer {
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
function payloadOf(size: number, rand: () => number): Buffer {
  const p = Buffer.alloc(size);
  for (let i = 0; i < size; i++) p[i] = Math.floor(rand() * 256);
  if (size > 0) p[size - 1] = 0xce;
  if (size >= 4 && rand() < 0.5) p.write('AMQP', 0, 'latin1');
  return p;
}

/** Fast seeded filler for multi-MiB payloads (xorshift32, a word at a time). */
function bigPayload(size: number, seed: number): Buffer {
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

function buildFixture(specs: ReadonlyArray<readonly [number, number, number]>, seed: number): Fixture {
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
function chunksAt(stream: Buffer, cuts: readonly number[]): { chunks: Buffer[]; offsets: number[] } {
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
 * Parses `fixture.stream` cut at `cuts` and returns a list of problems (empty when all is well):
 * wrong frames, wrong `buffered` after a push, or a frame lying wholly inside a chunk that was
 * not delivered as a view of that chunk. Payloads are compared only after the last push, so a
 * parser that reuses memory it has handed out is caught too.
 */
function run(fixture: Fixture, cuts: readonly number[], frameMax: number): string[] {
  const { stream, frames, starts } = fixture;
  const { chunks, offsets } = chunksAt(stream, cuts);
  const got: Array<Frame & { chunk: number }> = [];
  let current = -1;
  const parser = new FrameParser((type, channel, payload) => {
    got.push({ type, channel, payload, chunk: current });
  }, frameMax);
  const where = `cuts [${cuts.join(',')}]`;
  const problems: string[] = [];

  let pushed = 0;
  for (let i = 0; i < chunks.length; i++) {
    current = i;
    const chunk = chunks[i]!;
    parser.push(chunk);
    pushed += chunk.length;
    let boundary = 0;
    for (const s of starts) if (s <= pushed) boundary = s;
    if (parser.buffered !== pushed - boundary) {
      problems.push(`${where}: buffered ${parser.buffered} after ${pushed} bytes, expected ${pushed - boundary}`);
    }
  }

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
          have.payload.buffer === chunk.buffer &&
          have.payload.byteOffset === chunk.byteOffset + start + 7 - chunkStart &&
          have.chunk === i;
        if (!zeroCopy) problems.push(`${where}: frame ${k} lies wholly in chunk ${i} but was copied`);
      }
    }
  }
  return problems;
}

/** Runs many cut sets, stopping after a few problems. */
function runAll(fixture: Fixture, cutSets: Iterable<readonly number[]>, frameMax: number): { runs: number; problems: string[] } {
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
function interestingOffsets(fixture: Fixture): number[] {
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

function randomCuts(length: number, rand: () => number, maxChunk: number): number[] {
  const cuts: number[] = [];
  let pos = 0;
  for (;;) {
    pos += 1 + Math.floor(rand() * maxChunk);
    if (pos >= length) return cuts;
    cuts.push(pos);
  }
}

function thrown(fn: () => void): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1');

// ---------------------------------------------------------------------------------------------
// Fixtures

const SMALL_MAX = 1024;
/** Every frame type and size class, with frameMax 1024: empty, 1 byte, ..., exactly frameMax. */
const SMALL_SPECS: ReadonlyArray<readonly [number, number, number]> = [
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
const small = buildFixture(SMALL_SPECS, 1);

const DEFAULT_MAX = 131072;
const BIG_SPECS: ReadonlyArray<readonly [number, number, number]> = [
  [1, 1, 20],
  [2, 1, 30],
  [3, 1, DEFAULT_MAX - 8], // exactly the default frameMax
  [8, 0, 0],
  [3, 1, 0],
  [3, 2, DEFAULT_MAX - 8],
  [3, 2, 70000],
  [1, 0, 5],
];
const big = buildFixture(BIG_SPECS, 2);

// ---------------------------------------------------------------------------------------------
// Well-formed streams

describe('FrameParser: well-formed streams', () => {
  it('parses the whole fixture stream in one chunk, every frame zero-copy', () => {
    expect(small.frames).toHaveLength(SMALL_SPECS.length);
    expect(run(small, [], SMALL_MAX)).toEqual([]);
    expect(run(big, [], DEFAULT_MAX)).toEqual([]);
  });

  it('parses the stream split into two chunks at every byte offset', () => {
    const cutSets: number[][] = [];
    for (let i = 0; i <= small.stream.length; i++) cutSets.push([i]);
    const { runs, problems } = runAll(small, cutSets, SMALL_MAX);
    expect(problems).toEqual([]);
    expect(runs).toBe(small.stream.length + 1);
  });

  it('parses the stream split into three chunks at many offset pairs', () => {
    const offsets = interestingOffsets(small);
    const cutSets: number[][] = [];
    for (let a = 0; a < offsets.length; a++) {
      for (let b = a; b < offsets.length; b += 2) cutSets.push([offsets[a]!, offsets[b]!]);
    }
    // plus a regular grid over the whole stream
    for (let i = 0; i <= small.stream.length; i += 37) {
      for (let j = i; j <= small.stream.length; j += 53) cutSets.push([i, j]);
    }
    const { runs, problems } = runAll(small, cutSets, SMALL_MAX);
    expect(problems).toEqual([]);
    expect(runs).toBeGreaterThan(10000);
  });

  it('parses the stream fed one byte at a time', () => {
    const cuts: number[] = [];
    for (let i = 1; i < small.stream.length; i++) cuts.push(i);
    expect(run(small, cuts, SMALL_MAX)).toEqual([]);
  });

  it('parses random chunkings (seeded)', () => {
    const rand = prng(42);
    const cutSets: number[][] = [];
    for (let n = 0; n < 600; n++) {
      const maxChunk = [3, 9, 64, 700, 3000][n % 5]!;
      cutSets.push(randomCuts(small.stream.length, rand, maxChunk));
    }
    const { runs, problems } = runAll(small, cutSets, SMALL_MAX);
    expect(problems).toEqual([]);
    expect(runs).toBe(600);
  });

  it('parses frames of exactly the default frameMax (131072) split around every boundary', () => {
    const offsets = interestingOffsets(big);
    const cutSets: number[][] = offsets.map((o) => [o]);
    for (let a = 0; a < offsets.length; a += 3) {
      for (let b = a; b < offsets.length; b += 5) cutSets.push([offsets[a]!, offsets[b]!]);
    }
    const rand = prng(7);
    for (let n = 0; n < 40; n++) cutSets.push(randomCuts(big.stream.length, rand, n % 2 ? 65536 : 20000));
    const { problems } = runAll(big, cutSets, DEFAULT_MAX);
    expect(problems).toEqual([]);
  });

  it('accepts any frame size when frameMax is 0', () => {
    const fixture = buildFixture([[3, 1, 300000], [8, 0, 0], [3, 1, 5]], 3);
    expect(run(fixture, [], 0)).toEqual([]);
    expect(run(fixture, [150000, 300006, 300007], 0)).toEqual([]);
  });

  it('ignores empty chunks in every state', () => {
    const frames: number[] = [];
    const parser = new FrameParser((_t, _c, payload) => frames.push(payload.length), SMALL_MAX);
    const bytes = raw(3, 1, [1, 2, 3, 4]);
    parser.push(Buffer.alloc(0));
    parser.push(bytes.subarray(0, 3)); // partial header
    parser.push(Buffer.alloc(0));
    parser.push(bytes.subarray(3, 9)); // partial payload
    parser.push(Buffer.alloc(0));
    parser.push(bytes.subarray(9));
    parser.push(Buffer.alloc(0));
    expect(frames).toEqual([4]);
    expect(parser.buffered).toBe(0);
  });

  it('delivers a frame whose header was split but whose payload lies in one chunk as a view of it', () => {
    const bytes = raw(3, 9, payloadOf(50, prng(5)));
    const first = Buffer.from(bytes.subarray(0, 4));
    const second = Buffer.from(new ArrayBuffer(bytes.length - 4));
    bytes.copy(second, 0, 4);
    const got: Buffer[] = [];
    const parser = new FrameParser((_t, _c, payload) => got.push(payload));
    parser.push(first);
    parser.push(second);
    expect(got).toHaveLength(1);
    expect(got[0]!.buffer).toBe(second.buffer);
    expect(got[0]!.equals(bytes.subarray(7, 57))).toBe(true);
  });
});

describe('FrameParser: memory', () => {
  it('copies a split remainder: changing the chunk after push() does not change the frame', () => {
    const bytes = Buffer.concat([raw(1, 0, [1]), raw(3, 1, [10, 20, 30, 40, 50])]);
    const got: Buffer[] = [];
    const parser = new FrameParser((_t, _c, payload) => got.push(payload));
    const chunk = Buffer.from(bytes.subarray(0, 14)); // first frame + header + 1 payload byte
    parser.push(chunk);
    expect(got).toHaveLength(1);
    expect(parser.buffered).toBe(14 - 9);
    chunk.fill(0xff, 9); // the caller reuses its chunk
    parser.push(Buffer.from(bytes.subarray(14)));
    expect(got).toHaveLength(2);
    expect([...got[1]!]).toEqual([10, 20, 30, 40, 50]);
  });

  it('copies a split header: changing the chunk after push() does not change the frame', () => {
    const bytes = raw(2, 0x0102, [7, 7]);
    const got: Array<[number, number]> = [];
    const parser = new FrameParser((type, channel) => got.push([type, channel]));
    const chunk = Buffer.from(bytes.subarray(0, 3));
    parser.push(chunk);
    chunk.fill(0);
    parser.push(Buffer.from(bytes.subarray(3)));
    expect(got).toEqual([[2, 0x0102]]);
  });

  it('never overwrites payloads it handed out for split frames', () => {
    const fixture = buildFixture(
      Array.from({ length: 30 }, (_, i) => [3, 1, 200 + i] as const),
      11,
    );
    const kept: Buffer[] = [];
    const parser = new FrameParser((_t, _c, payload) => kept.push(payload), SMALL_MAX);
    const { chunks } = chunksAt(fixture.stream, randomCuts(fixture.stream.length, prng(3), 150));
    for (const chunk of chunks) parser.push(chunk);
    expect(kept).toHaveLength(30);
    kept.forEach((payload, i) => expect(payload.equals(fixture.frames[i]!.payload)).toBe(true));
  });

  it('allocates the reassembly buffer of a split frame once (a 4 MiB frame in 1000-byte chunks)', () => {
    const payload = bigPayload(4 * 1024 * 1024, 9);
    const bytes = raw(3, 1, payload);
    const got: Buffer[] = [];
    const parser = new FrameParser((_t, _c, p) => got.push(p), 0);
    const spy = jest.spyOn(Buffer, 'allocUnsafe');
    const spySlow = jest.spyOn(Buffer, 'allocUnsafeSlow');
    const spyAlloc = jest.spyOn(Buffer, 'alloc');
    try {
      for (let pos = 0; pos < bytes.length; pos += 1000) parser.push(bytes.subarray(pos, pos + 1000));
      expect(spy.mock.calls.length + spySlow.mock.calls.length + spyAlloc.mock.calls.length).toBe(1);
    } finally {
      spy.mockRestore();
      spySlow.mockRestore();
      spyAlloc.mockRestore();
    }
    expect(got).toHaveLength(1);
    expect(got[0]!.equals(payload)).toBe(true);
  });

  it('reassembles a 16 MiB message sent as 128 KiB body frames with at most one allocation per frame', () => {
    const frameMax = DEFAULT_MAX;
    const message = bigPayload(16 * 1024 * 1024, 10);
    const parts: Buffer[] = [raw(1, 1, [0, 60, 0, 40]), raw(2, 1, [0, 60, 0, 0])];
    let frameCount = 2;
    for (let pos = 0; pos < message.length; pos += frameMax - 8) {
      parts.push(raw(3, 1, message.subarray(pos, pos + frameMax - 8)));
      frameCount++;
    }
    const stream = Buffer.concat(parts);

    for (const chunkSize of [65536, 65537, 1 << 20]) {
      const bodies: Buffer[] = [];
      let frames = 0;
      const parser = new FrameParser((type, _c, payload) => {
        frames++;
        if (type === 3) bodies.push(payload);
      }, frameMax);
      const spy = jest.spyOn(Buffer, 'allocUnsafe');
      const start = performance.now();
      try {
        for (let pos = 0; pos < stream.length; pos += chunkSize) {
          parser.push(stream.subarray(pos, pos + chunkSize));
        }
        expect(spy.mock.calls.length).toBeLessThanOrEqual(frameCount);
      } finally {
        spy.mockRestore();
      }
      const elapsed = performance.now() - start;
      expect(frames).toBe(frameCount);
      expect(Buffer.concat(bodies).equals(message)).toBe(true);
      expect(elapsed).toBeLessThan(2000); // linear: a few ms; quadratic copying would take far longer
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Malformed input

interface Bad {
  name: string;
  bytes: Buffer;
  frameMax?: number;
  message: RegExp;
  /** Byte count after which the error must be raised when fed one byte at a time. */
  failsAt?: number;
  /** Frames delivered before the error. */
  delivered?: number;
}

const good = Buffer.concat([raw(1, 0, [1, 2, 3]), raw(8, 0, [])]); // 2 frames, 19 bytes
const GOOD = good.length;

function withEnd(bytes: Buffer, end: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[copy.length - 1] = end;
  return copy;
}

const oversizeHeader = (size: number): Buffer => {
  const b = Buffer.alloc(7);
  b[0] = 3;
  b.writeUInt16BE(1, 1);
  b.writeUInt32BE(size, 3);
  return b;
};

const garbageRand = prng(99);
const randomGarbage: Bad[] = Array.from({ length: 40 }, (_, i) => ({
  name: `seeded random garbage #${i}`,
  bytes: payloadOf(64, garbageRand),
  frameMax: SMALL_MAX,
  message: /./,
}));

const corpus: Bad[] = [
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

function expectFrameError(err: unknown, bad: Bad): void {
  expect(err).toBeInstanceOf(FrameError);
  const e = err as FrameError;
  expect(e.replyCode).toBe(501);
  expect(e.message).toMatch(bad.message);
}

describe('FrameParser: malformed input', () => {
  it('has a corpus that covers every kind of error', () => {
    expect(corpus.length).toBeGreaterThan(60);
  });

  describe.each(corpus.map((bad) => [bad.name, bad] as const))('%s', (_name, bad) => {
    it('throws FrameError when pushed whole, after delivering the frames before it', () => {
      let delivered = 0;
      const parser = new FrameParser(() => delivered++, bad.frameMax ?? DEFAULT_MAX);
      expectFrameError(thrown(() => parser.push(Buffer.from(bad.bytes))), bad);
      if (bad.delivered !== undefined) expect(delivered).toBe(bad.delivered);
    });

    it('throws FrameError when fed one byte at a time, as soon as the error is visible', () => {
      const parser = new FrameParser(() => undefined, bad.frameMax ?? DEFAULT_MAX);
      let err: unknown;
      let at = 0;
      while (err === undefined && at < bad.bytes.length) {
        err = thrown(() => parser.push(bad.bytes.subarray(at, at + 1)));
        at++;
      }
      expectFrameError(err, bad);
      if (bad.failsAt !== undefined) expect(at).toBe(bad.failsAt);
    });

    it('throws FrameError for every two-chunk split', () => {
      for (let cut = 0; cut <= bad.bytes.length; cut++) {
        const parser = new FrameParser(() => undefined, bad.frameMax ?? DEFAULT_MAX);
        const err = thrown(() => {
          parser.push(bad.bytes.subarray(0, cut));
          parser.push(bad.bytes.subarray(cut));
        });
        expectFrameError(err, bad);
      }
    });

    it('stays poisoned: every later push() throws the same error', () => {
      const parser = new FrameParser(() => undefined, bad.frameMax ?? DEFAULT_MAX);
      const err = thrown(() => parser.push(bad.bytes));
      expect(err).toBeInstanceOf(FrameError);
      expect(thrown(() => parser.push(raw(8, 0, [])))).toBe(err);
      expect(thrown(() => parser.push(Buffer.alloc(0)))).toBe(err);
      expect(thrown(() => parser.push(bad.bytes))).toBe(err);
    });
  });

  it('rejects an oversize frame from its 7-byte header alone, before any payload', () => {
    const parser = new FrameParser(() => undefined, SMALL_MAX);
    const header = oversizeHeader(SMALL_MAX - 7);
    expect(thrown(() => parser.push(header))).toBeInstanceOf(FrameError);

    const split = new FrameParser(() => undefined, SMALL_MAX);
    split.push(header.subarray(0, 3));
    expect(split.buffered).toBe(3);
    expect(thrown(() => split.push(header.subarray(3)))).toBeInstanceOf(FrameError);

    const ok = new FrameParser(() => undefined, SMALL_MAX);
    ok.push(oversizeHeader(SMALL_MAX - 8)); // exactly frameMax: accepted, waits for the payload
    expect(ok.buffered).toBe(7);
  });

  it('waits for all 8 bytes of a protocol header to name the version', () => {
    const parser = new FrameParser(() => undefined);
    parser.push(latin1('AMQP'));
    expect(parser.buffered).toBe(4);
    parser.push(Buffer.from([0, 0, 9]));
    expect(parser.buffered).toBe(7);
    const err = thrown(() => parser.push(Buffer.from([1])));
    expect(err).toBeInstanceOf(FrameError);
    expect((err as Error).message).toMatch(/AMQP 0-9-1/);
  });

  it('detects a bad end octet on a frame split right before it', () => {
    const bytes = withEnd(raw(3, 1, [1, 2, 3, 4]), 0x00);
    const parser = new FrameParser(() => undefined);
    parser.push(bytes.subarray(0, bytes.length - 1));
    expect(parser.buffered).toBe(bytes.length - 1);
    expect(thrown(() => parser.push(bytes.subarray(bytes.length - 1)))).toBeInstanceOf(FrameError);
  });
});

// ---------------------------------------------------------------------------------------------
// API

describe('FrameParser: API', () => {
  it('defaults frameMax to 131072 and accepts a frame of exactly that size', () => {
    const parser = new FrameParser(() => undefined);
    expect(parser.frameMax).toBe(DEFAULT_MAX);
    expect(() => parser.push(raw(3, 1, Buffer.alloc(DEFAULT_MAX - 8)))).not.toThrow();
    expect(() => new FrameParser(() => undefined).push(raw(3, 1, Buffer.alloc(DEFAULT_MAX - 7)))).toThrow(FrameError);
  });

  it('validates frameMax', () => {
    const parser = new FrameParser(() => undefined);
    for (const bad of [-1, 1.5, 7, 2 ** 32, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => {
        parser.frameMax = bad;
      }).toThrow(ArgumentError);
      expect(() => new FrameParser(() => undefined, bad)).toThrow(ArgumentError);
    }
    for (const ok of [0, 8, 4096, 131072, 2 ** 32 - 1]) {
      parser.frameMax = ok;
      expect(parser.frameMax).toBe(ok);
    }
  });

  it('applies a frameMax changed by the handler to the next frame of the same chunk', () => {
    const seen: number[] = [];
    const parser = new FrameParser((type, _c, payload) => {
      seen.push(payload.length);
      if (type === 1) parser.frameMax = 8192; // e.g. on connection.tune
    }, 0);
    const err = thrown(() => parser.push(Buffer.concat([raw(1, 0, [1]), raw(3, 1, Buffer.alloc(8185))])));
    expect(seen).toEqual([1]);
    expect(err).toBeInstanceOf(FrameError);
  });

  it('reports buffered bytes of a partial frame', () => {
    const parser = new FrameParser(() => undefined);
    const bytes = raw(3, 1, Buffer.alloc(100));
    expect(parser.buffered).toBe(0);
    parser.push(bytes.subarray(0, 5));
    expect(parser.buffered).toBe(5);
    parser.push(bytes.subarray(5, 60));
    expect(parser.buffered).toBe(60);
    parser.push(bytes.subarray(60, 107));
    expect(parser.buffered).toBe(107);
    parser.push(bytes.subarray(107));
    expect(parser.buffered).toBe(0);
  });

  it('reset() drops a partial frame and clears the poisoned state', () => {
    const got: number[] = [];
    const parser = new FrameParser((type) => got.push(type));
    parser.push(raw(3, 1, [1, 2, 3]).subarray(0, 9));
    expect(parser.buffered).toBe(9);
    parser.reset();
    expect(parser.buffered).toBe(0);
    parser.push(raw(1, 0, [1]));
    expect(got).toEqual([1]);

    expect(thrown(() => parser.push(Buffer.from([0xff])))).toBeInstanceOf(FrameError);
    expect(thrown(() => parser.push(raw(1, 0, [])))).toBeInstanceOf(FrameError);
    parser.reset();
    parser.push(raw(2, 0, []));
    expect(got).toEqual([1, 2]);
  });

  it('reset() from the handler discards the rest of the chunk', () => {
    const got: number[] = [];
    const parser = new FrameParser((type) => {
      got.push(type);
      if (type === 1) parser.reset();
    });
    parser.push(Buffer.concat([raw(2, 0, []), raw(1, 0, []), raw(3, 0, []), raw(3, 0, [1, 2])]));
    expect(got).toEqual([2, 1]);
    expect(parser.buffered).toBe(0);
    parser.push(raw(3, 0, []));
    expect(got).toEqual([2, 1, 3]);
  });

  it('a throwing handler poisons the parser with its error', () => {
    const boom = new Error('boom');
    const parser = new FrameParser(() => {
      throw boom;
    });
    expect(thrown(() => parser.push(raw(1, 0, [])))).toBe(boom);
    expect(thrown(() => parser.push(raw(1, 0, [])))).toBe(boom);
  });

  it('refuses a re-entrant push() from the handler', () => {
    const parser = new FrameParser(() => parser.push(raw(8, 0, [])));
    const err = thrown(() => parser.push(raw(1, 0, [])));
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/re-?entrant|own frame handler/);
  });
});

// ---------------------------------------------------------------------------------------------
// Streaming mode (onBodyPart): body frames split across chunks are streamed as chunk views

interface Piece {
  channel: number;
  piece: Buffer;
  done: boolean;
  chunk: number;
}

/**
 * Parses `fixture.stream` cut at `cuts` with an `onBodyPart` handler and returns a list of
 * problems (empty when all is well). Checks that: frames come out in order, whole frames via
 * onFrame, split body frames only as pieces and split non-body frames reassembled via onFrame;
 * the pieces of a frame concatenate to its payload; every piece is a zero-copy view of the chunk
 * being pushed, at the right offset; no piece is empty unless it ends its frame; `frameDone` comes
 * exactly once per streamed frame, only in the chunk holding its end octet; frames lying wholly in
 * a chunk are views of it; `buffered` is right after every push.
 */
function runStream(fixture: Fixture, cuts: readonly number[], frameMax: number): string[] {
  const { stream, frames, starts } = fixture;
  const { chunks, offsets } = chunksAt(stream, cuts);
  type Event = { kind: 'frame'; frame: Frame; chunk: number } | ({ kind: 'piece' } & Piece);
  const events: Event[] = [];
  let current = -1;
  const parser = new FrameParser(
    (type, channel, payload) => {
      events.push({ kind: 'frame', frame: { type, channel, payload }, chunk: current });
    },
    frameMax,
    (channel, piece, done) => {
      events.push({ kind: 'piece', channel, piece, done, chunk: current });
    },
  );
  const where = `cuts [${cuts.join(',')}]`;
  const problems: string[] = [];

  let pushed = 0;
  for (let i = 0; i < chunks.length; i++) {
    current = i;
    const chunk = chunks[i]!;
    parser.push(chunk);
    pushed += chunk.length;
    let boundary = 0;
    for (const s of starts) if (s <= pushed) boundary = s;
    if (parser.buffered !== pushed - boundary) {
      problems.push(`${where}: buffered ${parser.buffered} after ${pushed} bytes, expected ${pushed - boundary}`);
    }
  }

  const chunkOf = (offset: number): number => {
    let c = 0;
    for (let i = 0; i < offsets.length; i++) if (offsets[i]! <= offset) c = i;
    return c;
  };

  let e = 0;
  for (let k = 0; k < frames.length; k++) {
    const want = frames[k]!;
    const start = starts[k]!;
    const endOctet = starts[k + 1]! - 1;
    // delivered whole (a view) when the chunk holding the end octet also holds the header's end
    const whole = chunkOf(start + 6) === chunkOf(endOctet);
    const streamed = want.type === 3 && !whole;
    const ev = events[e];
    if (ev === undefined) {
      problems.push(`${where}: frame ${k} missing`);
      return problems;
    }
    if (!streamed) {
      e++;
      if (ev.kind !== 'frame') {
        problems.push(`${where}: frame ${k} (type ${want.type}, ${whole ? 'whole' : 'split'}) came as a piece`);
        return problems;
      }
      const have = ev.frame;
      if (have.type !== want.type || have.channel !== want.channel || !have.payload.equals(want.payload)) {
        problems.push(`${where}: frame ${k} is (${have.type}, ${have.channel}, ${have.payload.length} bytes), expected (${want.type}, ${want.channel}, ${want.payload.length} bytes)`);
        continue;
      }
      const i = chunkOf(endOctet);
      if (whole) {
        const chunk = chunks[i]!;
        const zeroCopy =
          have.payload.buffer === chunk.buffer &&
          have.payload.byteOffset === chunk.byteOffset + start + 7 - offsets[i]! &&
          ev.chunk === i;
        if (!zeroCopy) problems.push(`${where}: frame ${k}'s payload lies wholly in chunk ${i} but was copied`);
      }
      continue;
    }
    // streamed body frame: pieces until frameDone
    const pieces: Buffer[] = [];
    let at = start + 7; // stream offset of the next payload byte
    let done = false;
    while (!done) {
      const p = events[e++];
      if (p === undefined || p.kind !== 'piece') {
        problems.push(`${where}: frame ${k} (split body) ended without frameDone`);
        return problems;
      }
      if (p.channel !== want.channel) problems.push(`${where}: frame ${k} piece on channel ${p.channel}`);
      if (p.piece.length === 0 && !p.done) problems.push(`${where}: frame ${k} got an empty piece before its end`);
      if (p.piece.length > 0) {
        const chunk = chunks[p.chunk]!;
        const view =
          p.piece.buffer === chunk.buffer && p.piece.byteOffset === chunk.byteOffset + at - offsets[p.chunk]!;
        if (!view) problems.push(`${where}: frame ${k} piece at ${at} is not a view of chunk ${p.chunk}`);
      }
      if (p.done && p.chunk !== chunkOf(endOctet)) {
        problems.push(`${where}: frame ${k} reported done in chunk ${p.chunk}, before its end octet (chunk ${chunkOf(endOctet)})`);
      }
      at += p.piece.length;
      pieces.push(p.piece);
      done = p.done;
    }
    if (!Buffer.concat(pieces).equals(want.payload)) {
      problems.push(`${where}: frame ${k} pieces (${at - start - 7} bytes) differ from its payload (${want.payload.length} bytes)`);
    }
  }
  if (e !== events.length) problems.push(`${where}: ${events.length - e} extra events`);
  return problems;
}

function runAllStream(fixture: Fixture, cutSets: Iterable<readonly number[]>, frameMax: number): { runs: number; problems: string[] } {
  const problems: string[] = [];
  let runs = 0;
  for (const cuts of cutSets) {
    runs++;
    problems.push(...runStream(fixture, cuts, frameMax));
    if (problems.length >= 10) break;
  }
  return { runs, problems };
}

describe('FrameParser: streaming mode (onBodyPart)', () => {
  it('delivers every frame of a stream in one chunk through onFrame, zero-copy', () => {
    expect(runStream(small, [], SMALL_MAX)).toEqual([]);
    expect(runStream(big, [], DEFAULT_MAX)).toEqual([]);
  });

  it('streams split body frames for the stream split into two chunks at every byte offset', () => {
    const cutSets: number[][] = [];
    for (let i = 0; i <= small.stream.length; i++) cutSets.push([i]);
    const { runs, problems } = runAllStream(small, cutSets, SMALL_MAX);
    expect(problems).toEqual([]);
    expect(runs).toBe(small.stream.length + 1);
  });

  it('streams split body frames for three chunks at many offset pairs', () => {
    const offsets = interestingOffsets(small);
    const cutSets: number[][] = [];
    for (let a = 0; a < offsets.length; a++) {
      for (let b = a; b < offsets.length; b += 2) cutSets.push([offsets[a]!, offsets[b]!]);
    }
    const { problems } = runAllStream(small, cutSets, SMALL_MAX);
    expect(problems).toEqual([]);
  });

  it('streams the stream fed one byte at a time', () => {
    const cuts: number[] = [];
    for (let i = 1; i < small.stream.length; i++) cuts.push(i);
    expect(runStream(small, cuts, SMALL_MAX)).toEqual([]);
  });

  it('streams random chunkings (seeded), mixing whole and split frames', () => {
    const rand = prng(43);
    const cutSets: number[][] = [];
    for (let n = 0; n < 400; n++) {
      const maxChunk = [3, 9, 64, 700, 3000][n % 5]!;
      cutSets.push(randomCuts(small.stream.length, rand, maxChunk));
    }
    const { runs, problems } = runAllStream(small, cutSets, SMALL_MAX);
    expect(problems).toEqual([]);
    expect(runs).toBe(400);
  });

  it('streams frames of exactly the default frameMax split around every boundary', () => {
    const offsets = interestingOffsets(big);
    const cutSets: number[][] = offsets.map((o) => [o]);
    for (let a = 0; a < offsets.length; a += 3) {
      for (let b = a; b < offsets.length; b += 5) cutSets.push([offsets[a]!, offsets[b]!]);
    }
    const rand = prng(8);
    for (let n = 0; n < 40; n++) cutSets.push(randomCuts(big.stream.length, rand, n % 2 ? 65536 : 20000));
    const { problems } = runAllStream(big, cutSets, DEFAULT_MAX);
    expect(problems).toEqual([]);
  });

  it('still reassembles split method and header frames (onFrame, never onBodyPart)', () => {
    const method = raw(1, 1, payloadOf(40, prng(12)));
    const header = raw(2, 1, payloadOf(30, prng(13)));
    const stream = Buffer.concat([method, header]);
    for (let cut = 1; cut < stream.length; cut++) {
      const frames: Frame[] = [];
      let pieces = 0;
      const parser = new FrameParser(
        (type, channel, payload) => frames.push({ type, channel, payload }),
        DEFAULT_MAX,
        () => pieces++,
      );
      parser.push(Buffer.from(stream.subarray(0, cut)));
      parser.push(Buffer.from(stream.subarray(cut)));
      expect(pieces).toBe(0);
      expect(frames.map((f) => f.type)).toEqual([1, 2]);
      expect(frames[0]!.payload.equals(method.subarray(7, -1))).toBe(true);
      expect(frames[1]!.payload.equals(header.subarray(7, -1))).toBe(true);
    }
  });

  it('reports frameDone only after checking the end octet: a bad one throws FrameError and poisons', () => {
    const payload = payloadOf(100, prng(14));
    const bad = withEnd(raw(3, 1, payload), 0x00);
    for (let cut = 8; cut < bad.length; cut++) {
      // cut inside the payload or right before the end octet: the frame is streamed
      const pieces: Piece[] = [];
      const parser = new FrameParser(() => undefined, DEFAULT_MAX, (channel, piece, done) => {
        pieces.push({ channel, piece, done, chunk: 0 });
      });
      parser.push(bad.subarray(0, cut));
      const err = thrown(() => parser.push(bad.subarray(cut)));
      expect(err).toBeInstanceOf(FrameError);
      expect((err as FrameError).message).toMatch(/bad frame end octet 0x00/);
      expect(pieces.some((p) => p.done)).toBe(false);
      expect(Buffer.concat(pieces.map((p) => p.piece)).equals(payload.subarray(0, cut - 7))).toBe(true);
      expect(thrown(() => parser.push(raw(8, 0, [])))).toBe(err);
    }
    // one byte at a time: fails on the end octet itself
    const parser = new FrameParser(() => undefined, DEFAULT_MAX, () => undefined);
    let err: unknown;
    let at = 0;
    while (err === undefined && at < bad.length) {
      err = thrown(() => parser.push(bad.subarray(at, at + 1)));
      at++;
    }
    expect(err).toBeInstanceOf(FrameError);
    expect(at).toBe(bad.length);
  });

  it('reports an empty last piece when the payload ends at a chunk end', () => {
    const bytes = raw(3, 5, [1, 2, 3, 4, 5, 6]);
    const got: Array<[number, number[], boolean]> = [];
    const parser = new FrameParser(() => undefined, DEFAULT_MAX, (channel, piece, done) => {
      got.push([channel, [...piece], done]);
    });
    parser.push(bytes.subarray(0, 10));
    expect(parser.buffered).toBe(10);
    parser.push(bytes.subarray(10, 13));
    expect(parser.buffered).toBe(13);
    parser.push(bytes.subarray(13));
    expect(parser.buffered).toBe(0);
    expect(got).toEqual([[5, [1, 2, 3], false], [5, [4, 5, 6], false], [5, [], true]]);
  });

  it('streams an empty body frame split before its end octet as one empty done piece', () => {
    const bytes = raw(3, 2, []);
    const got: Array<[number, boolean]> = [];
    const parser = new FrameParser(() => undefined, DEFAULT_MAX, (_c, piece, done) => got.push([piece.length, done]));
    parser.push(bytes.subarray(0, 7));
    expect(got).toEqual([]);
    parser.push(bytes.subarray(7));
    expect(got).toEqual([[0, true]]);
  });

  it('streams a 16 MiB message in 64 KiB chunks without any allocation, byte-exact', () => {
    const frameMax = DEFAULT_MAX;
    const message = bigPayload(16 * 1024 * 1024, 15);
    const parts: Buffer[] = [raw(1, 1, [0, 60, 0, 40]), raw(2, 1, [0, 60, 0, 0])];
    let bodyFrames = 0;
    for (let pos = 0; pos < message.length; pos += frameMax - 8) {
      parts.push(raw(3, 1, message.subarray(pos, pos + frameMax - 8)));
      bodyFrames++;
    }
    const stream = Buffer.concat(parts);
    for (const chunkSize of [65536, 65537, 1 << 20]) {
      const out = Buffer.alloc(message.length);
      let filled = 0;
      let done = 0;
      let whole = 0;
      const parser = new FrameParser(
        (type, _c, payload) => {
          if (type === 3) {
            whole++;
            filled += payload.copy(out, filled);
          }
        },
        frameMax,
        (_c, piece, frameDone) => {
          filled += piece.copy(out, filled);
          if (frameDone) done++;
        },
      );
      const spies = [jest.spyOn(Buffer, 'allocUnsafe'), jest.spyOn(Buffer, 'allocUnsafeSlow'), jest.spyOn(Buffer, 'alloc')];
      try {
        for (let pos = 0; pos < stream.length; pos += chunkSize) parser.push(stream.subarray(pos, pos + chunkSize));
        expect(spies.reduce((n, s) => n + s.mock.calls.length, 0)).toBe(0);
      } finally {
        for (const s of spies) s.mockRestore();
      }
      expect(done + whole).toBe(bodyFrames);
      expect(done).toBeGreaterThan(0);
      expect(filled).toBe(message.length);
      expect(out.equals(message)).toBe(true);
    }
  });

  it('reset() from onBodyPart drops the rest of the frame and chunk', () => {
    const got: string[] = [];
    const parser = new FrameParser(
      (type) => got.push(`frame ${type}`),
      DEFAULT_MAX,
      (_c, piece) => {
        got.push(`piece ${piece.length}`);
        parser.reset();
      },
    );
    const bytes = raw(3, 1, Buffer.alloc(20));
    parser.push(bytes.subarray(0, 10));
    expect(parser.buffered).toBe(0);
    parser.push(raw(1, 0, [1]));
    expect(got).toEqual(['piece 3', 'frame 1']);
  });

  it('a throwing onBodyPart poisons the parser with its error', () => {
    const boom = new Error('boom');
    const parser = new FrameParser(() => undefined, DEFAULT_MAX, () => {
      throw boom;
    });
    const bytes = raw(3, 1, Buffer.alloc(20));
    expect(thrown(() => parser.push(bytes.subarray(0, 10)))).toBe(boom);
    expect(thrown(() => parser.push(bytes.subarray(10)))).toBe(boom);
  });

  describe.each(corpus.filter((bad) => bad.failsAt !== undefined).map((bad) => [bad.name, bad] as const))('malformed: %s', (_name, bad) => {
    it('throws the same FrameError in streaming mode, byte by byte and for every two-chunk split', () => {
      const parser = new FrameParser(() => undefined, bad.frameMax ?? DEFAULT_MAX, () => undefined);
      let err: unknown;
      let at = 0;
      while (err === undefined && at < bad.bytes.length) {
        err = thrown(() => parser.push(bad.bytes.subarray(at, at + 1)));
        at++;
      }
      expectFrameError(err, bad);
      expect(at).toBe(bad.failsAt);
      for (let cut = 0; cut <= bad.bytes.length; cut++) {
        const p = new FrameParser(() => undefined, bad.frameMax ?? DEFAULT_MAX, () => undefined);
        expectFrameError(thrown(() => {
          p.push(bad.bytes.subarray(0, cut));
          p.push(bad.bytes.subarray(cut));
        }), bad);
      }
    });
  });
});
