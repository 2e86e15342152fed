import { describe, it, expect, jest } from '@jest/globals';
import { ArgumentError, FrameError } from '../../lib/errors.js';
import { FrameParser } from '../../lib/protocol/frame-parser.js';
import { prng } from '../support/prng.js';
// ---------------------------------------------------------------------------------------------
// Helpers
import {
  raw,
  payloadOf,
  bigPayload,
  buildFixture,
  chunksAt,
  run,
  runAll,
  randomCuts,
  thrown,
  latin1,
  SMALL_MAX,
  SMALL_SPECS,
  small,
  DEFAULT_MAX,
  big,
  withEnd,
  oversizeHeader,
  corpus,
  expectFrameError,
  everyCut,
  offsetPairCuts,
  randomCutSets,
  boundaryCuts,
  ViewParser,
} from '../support/frame-fixtures.js';

describe('FrameParser: well-formed streams', () => {
  it('parses the whole fixture stream in one chunk, every frame zero-copy', () => {
    expect(small.frames).toHaveLength(SMALL_SPECS.length);
    expect(run(small, [], SMALL_MAX)).toEqual([]);
    expect(run(big, [], DEFAULT_MAX)).toEqual([]);
  });

  it('parses the stream split into two chunks at every byte offset', () => {
    const { runs, problems } = runAll(small, everyCut(small), SMALL_MAX);
    expect(problems).toEqual([]);
    expect(runs).toBe(small.stream.length + 1);
  });

  it('parses the stream split into three chunks at many offset pairs', () => {
    const cutSets = offsetPairCuts(small);
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
    const { runs, problems } = runAll(small, randomCutSets(small, 42, 600), SMALL_MAX);
    expect(problems).toEqual([]);
    expect(runs).toBe(600);
  });

  it('parses frames of exactly the default frameMax (131072) split around every boundary', () => {
    const { problems } = runAll(big, boundaryCuts(big, 7), DEFAULT_MAX);
    expect(problems).toEqual([]);
  });

  it('accepts any frame size when frameMax is 0', () => {
    const fixture = buildFixture(
      [
        [3, 1, 300000],
        [8, 0, 0],
        [3, 1, 5],
      ],
      3,
    );
    expect(run(fixture, [], 0)).toEqual([]);
    expect(run(fixture, [150000, 300006, 300007], 0)).toEqual([]);
  });

  it('ignores empty chunks in every state', () => {
    const frames: number[] = [];
    const parser = new ViewParser((_t, _c, payload) => frames.push(payload.length), SMALL_MAX);
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
    const parser = new ViewParser((_t, _c, payload) => got.push(payload));
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
    const parser = new ViewParser((_t, _c, payload) => got.push(payload));
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
    const parser = new ViewParser((type, channel) => got.push([type, channel]));
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
    const parser = new ViewParser((_t, _c, payload) => kept.push(payload), SMALL_MAX);
    const { chunks } = chunksAt(fixture.stream, randomCuts(fixture.stream.length, prng(3), 150));
    for (const chunk of chunks) parser.push(chunk);
    expect(kept).toHaveLength(30);
    kept.forEach((payload, i) => {
      expect(payload.equals(fixture.frames[i]!.payload)).toBe(true);
    });
  });

  it('allocates the reassembly buffer of a split frame once (a 4 MiB frame in 1000-byte chunks)', () => {
    const payload = bigPayload(4 * 1024 * 1024, 9);
    const bytes = raw(3, 1, payload);
    const got: Buffer[] = [];
    const parser = new ViewParser((_t, _c, p) => got.push(p), 0);
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
      const parser = new ViewParser((type, _c, payload) => {
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

describe('FrameParser: malformed input', () => {
  it('has a corpus that covers every kind of error', () => {
    expect(corpus.length).toBeGreaterThan(60);
  });

  describe.each(corpus.map((bad) => [bad.name, bad] as const))('%s', (_name, bad) => {
    it('throws FrameError when pushed whole, after delivering the frames before it', () => {
      let delivered = 0;
      const parser = new ViewParser(() => delivered++, bad.frameMax ?? DEFAULT_MAX);
      expectFrameError(
        thrown(() => parser.push(Buffer.from(bad.bytes))),
        bad,
      );
      if (bad.delivered !== undefined) expect(delivered).toBe(bad.delivered);
    });

    it('throws FrameError when fed one byte at a time, as soon as the error is visible', () => {
      const parser = new ViewParser(() => undefined, bad.frameMax ?? DEFAULT_MAX);
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
        const parser = new ViewParser(() => undefined, bad.frameMax ?? DEFAULT_MAX);
        const err = thrown(() => {
          parser.push(bad.bytes.subarray(0, cut));
          parser.push(bad.bytes.subarray(cut));
        });
        expectFrameError(err, bad);
      }
    });

    it('stays poisoned: every later push() throws the same error', () => {
      const parser = new ViewParser(() => undefined, bad.frameMax ?? DEFAULT_MAX);
      const err = thrown(() => parser.push(bad.bytes));
      expect(err).toBeInstanceOf(FrameError);
      expect(thrown(() => parser.push(raw(8, 0, [])))).toBe(err);
      expect(thrown(() => parser.push(Buffer.alloc(0)))).toBe(err);
      expect(thrown(() => parser.push(bad.bytes))).toBe(err);
    });
  });

  it('rejects an oversize frame from its 7-byte header alone, before any payload', () => {
    const parser = new ViewParser(() => undefined, SMALL_MAX);
    const header = oversizeHeader(SMALL_MAX - 7);
    expect(thrown(() => parser.push(header))).toBeInstanceOf(FrameError);

    const split = new ViewParser(() => undefined, SMALL_MAX);
    split.push(header.subarray(0, 3));
    expect(split.buffered).toBe(3);
    expect(thrown(() => split.push(header.subarray(3)))).toBeInstanceOf(FrameError);

    const ok = new ViewParser(() => undefined, SMALL_MAX);
    ok.push(oversizeHeader(SMALL_MAX - 8)); // exactly frameMax: accepted, waits for the payload
    expect(ok.buffered).toBe(7);
  });

  it('waits for all 8 bytes of a protocol header to name the version', () => {
    const parser = new ViewParser(() => undefined);
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
    const parser = new ViewParser(() => undefined);
    parser.push(bytes.subarray(0, bytes.length - 1));
    expect(parser.buffered).toBe(bytes.length - 1);
    expect(thrown(() => parser.push(bytes.subarray(bytes.length - 1)))).toBeInstanceOf(FrameError);
  });
});

// ---------------------------------------------------------------------------------------------
// API

describe('FrameParser: API', () => {
  it('defaults frameMax to 131072 and accepts a frame of exactly that size', () => {
    const parser = new ViewParser(() => undefined);
    expect(parser.frameMax).toBe(DEFAULT_MAX);
    expect(() => parser.push(raw(3, 1, Buffer.alloc(DEFAULT_MAX - 8)))).not.toThrow();
    expect(() => new ViewParser(() => undefined).push(raw(3, 1, Buffer.alloc(DEFAULT_MAX - 7)))).toThrow(FrameError);
  });

  it('validates frameMax', () => {
    const parser = new ViewParser(() => undefined);
    for (const bad of [-1, 1.5, 7, 2 ** 32, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => {
        parser.frameMax = bad;
      }).toThrow(ArgumentError);
      expect(() => new ViewParser(() => undefined, bad)).toThrow(ArgumentError);
    }
    for (const ok of [0, 8, 4096, 131072, 2 ** 32 - 1]) {
      parser.frameMax = ok;
      expect(parser.frameMax).toBe(ok);
    }
  });

  it('applies a frameMax changed by the handler to the next frame of the same chunk', () => {
    const seen: number[] = [];
    const parser = new ViewParser((type, _c, payload) => {
      seen.push(payload.length);
      if (type === 1) parser.frameMax = 8192; // e.g. on connection.tune
    }, 0);
    const err = thrown(() => parser.push(Buffer.concat([raw(1, 0, [1]), raw(3, 1, Buffer.alloc(8185))])));
    expect(seen).toEqual([1]);
    expect(err).toBeInstanceOf(FrameError);
  });

  it('reports buffered bytes of a partial frame', () => {
    const parser = new ViewParser(() => undefined);
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
    const parser = new ViewParser((type) => got.push(type));
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
    const parser = new ViewParser((type) => {
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
    const parser = new ViewParser(() => {
      throw boom;
    });
    expect(thrown(() => parser.push(raw(1, 0, [])))).toBe(boom);
    expect(thrown(() => parser.push(raw(1, 0, [])))).toBe(boom);
  });

  it('refuses a re-entrant push() from the handler', () => {
    const parser = new ViewParser(() => parser.push(raw(8, 0, [])));
    const err = thrown(() => parser.push(raw(1, 0, [])));
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/re-?entrant|own frame handler/);
  });
});

// ---------------------------------------------------------------------------------------------
// Streaming mode (onBodyPart): body frames split across chunks are streamed as chunk views

describe('FrameParser: the handler gets ranges, not views', () => {
  it('a frame inside a chunk comes as that chunk and its payload range; a split frame as its own copy', () => {
    const got: Array<[Buffer, number, number]> = [];
    const parser = new FrameParser((_t, _c, buf, start, end) => got.push([buf, start, end]));
    const a = raw(1, 1, [1, 2, 3]);
    const b = raw(2, 1, [4, 5, 6, 7]);
    const chunk = Buffer.concat([a, b, raw(3, 1, [8, 9])]);
    const cut = a.length + b.length + 8; // the third frame is split after its first payload byte
    const first = chunk.subarray(0, cut);
    parser.push(first);
    parser.push(chunk.subarray(cut));
    expect(got.map(([buf, s, e]) => [...buf.subarray(s, e)])).toEqual([
      [1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ]);
    expect(got[0]![0]).toBe(first); // no copy, no view: the pushed chunk itself
    expect(got[1]![0]).toBe(first);
    expect([got[0]![1], got[0]![2], got[1]![1], got[1]![2]]).toEqual([7, 10, a.length + 7, a.length + 11]);
    expect(got[2]![0].length).toBe(3); // reassembled: the parser's copy (payload + end octet), from 0
    expect([got[2]![1], got[2]![2]]).toEqual([0, 2]);
  });
});
