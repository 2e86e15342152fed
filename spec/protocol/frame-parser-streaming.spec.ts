// FrameParser streaming mode (onBodyPart): split BODY frames are handed on piece by piece.
import { describe, it, expect, jest } from '@jest/globals';
import { FrameError } from '../../lib/errors.js';
import { prng } from '../support/prng.js';
// ---------------------------------------------------------------------------------------------
// Helpers
import {
  type Frame,
  type Fixture,
  raw,
  payloadOf,
  bigPayload,
  chunksAt,
  thrown,
  SMALL_MAX,
  small,
  DEFAULT_MAX,
  big,
  withEnd,
  corpus,
  expectFrameError,
  everyCut,
  offsetPairCuts,
  randomCutSets,
  boundaryCuts,
  ViewParser,
  pushChecked,
} from '../support/frame-fixtures.js';

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
  const parser = new ViewParser(
    (type, channel, payload) => {
      events.push({ kind: 'frame', frame: { type, channel, payload }, chunk: current });
    },
    frameMax,
    (channel, piece, done) => {
      events.push({ kind: 'piece', channel, piece, done, chunk: current });
    },
  );
  const where = `cuts [${cuts.join(',')}]`;
  const problems = pushChecked(parser, chunks, starts, where, (i) => {
    current = i;
  });

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
        problems.push(
          `${where}: frame ${k} is (${have.type}, ${have.channel}, ${have.payload.length} bytes), expected (${want.type}, ${want.channel}, ${want.payload.length} bytes)`,
        );
        continue;
      }
      const i = chunkOf(endOctet);
      if (whole) {
        const chunk = chunks[i]!;
        const zeroCopy =
          have.payload.buffer === chunk.buffer && have.payload.byteOffset === chunk.byteOffset + start + 7 - offsets[i]! && ev.chunk === i;
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
        const view = p.piece.buffer === chunk.buffer && p.piece.byteOffset === chunk.byteOffset + at - offsets[p.chunk]!;
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
    const { runs, problems } = runAllStream(small, everyCut(small), SMALL_MAX);
    expect(problems).toEqual([]);
    expect(runs).toBe(small.stream.length + 1);
  });

  it('streams split body frames for three chunks at many offset pairs', () => {
    const { problems } = runAllStream(small, offsetPairCuts(small), SMALL_MAX);
    expect(problems).toEqual([]);
  });

  it('streams the stream fed one byte at a time', () => {
    const cuts: number[] = [];
    for (let i = 1; i < small.stream.length; i++) cuts.push(i);
    expect(runStream(small, cuts, SMALL_MAX)).toEqual([]);
  });

  it('streams random chunkings (seeded), mixing whole and split frames', () => {
    const { runs, problems } = runAllStream(small, randomCutSets(small, 43, 400), SMALL_MAX);
    expect(problems).toEqual([]);
    expect(runs).toBe(400);
  });

  it('streams frames of exactly the default frameMax split around every boundary', () => {
    const { problems } = runAllStream(big, boundaryCuts(big, 8), DEFAULT_MAX);
    expect(problems).toEqual([]);
  });

  it('still reassembles split method and header frames (onFrame, never onBodyPart)', () => {
    const method = raw(1, 1, payloadOf(40, prng(12)));
    const header = raw(2, 1, payloadOf(30, prng(13)));
    const stream = Buffer.concat([method, header]);
    for (let cut = 1; cut < stream.length; cut++) {
      const frames: Frame[] = [];
      let pieces = 0;
      const parser = new ViewParser(
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
      const parser = new ViewParser(
        () => undefined,
        DEFAULT_MAX,
        (channel, piece, done) => {
          pieces.push({ channel, piece, done, chunk: 0 });
        },
      );
      parser.push(bad.subarray(0, cut));
      const err = thrown(() => parser.push(bad.subarray(cut)));
      expect(err).toBeInstanceOf(FrameError);
      expect((err as FrameError).message).toMatch(/bad frame end octet 0x00/);
      expect(pieces.some((p) => p.done)).toBe(false);
      expect(Buffer.concat(pieces.map((p) => p.piece)).equals(payload.subarray(0, cut - 7))).toBe(true);
      expect(thrown(() => parser.push(raw(8, 0, [])))).toBe(err);
    }
    // one byte at a time: fails on the end octet itself
    const parser = new ViewParser(
      () => undefined,
      DEFAULT_MAX,
      () => undefined,
    );
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
    const parser = new ViewParser(
      () => undefined,
      DEFAULT_MAX,
      (channel, piece, done) => {
        got.push([channel, [...piece], done]);
      },
    );
    parser.push(bytes.subarray(0, 10));
    expect(parser.buffered).toBe(10);
    parser.push(bytes.subarray(10, 13));
    expect(parser.buffered).toBe(13);
    parser.push(bytes.subarray(13));
    expect(parser.buffered).toBe(0);
    expect(got).toEqual([
      [5, [1, 2, 3], false],
      [5, [4, 5, 6], false],
      [5, [], true],
    ]);
  });

  it('streams an empty body frame split before its end octet as one empty done piece', () => {
    const bytes = raw(3, 2, []);
    const got: Array<[number, boolean]> = [];
    const parser = new ViewParser(
      () => undefined,
      DEFAULT_MAX,
      (_c, piece, done) => got.push([piece.length, done]),
    );
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
      const parser = new ViewParser(
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
    const parser = new ViewParser(
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
    const parser = new ViewParser(
      () => undefined,
      DEFAULT_MAX,
      () => {
        throw boom;
      },
    );
    const bytes = raw(3, 1, Buffer.alloc(20));
    expect(thrown(() => parser.push(bytes.subarray(0, 10)))).toBe(boom);
    expect(thrown(() => parser.push(bytes.subarray(10)))).toBe(boom);
  });

  describe.each(corpus.filter((bad) => bad.failsAt !== undefined).map((bad) => [bad.name, bad] as const))('malformed: %s', (_name, bad) => {
    it('throws the same FrameError in streaming mode, byte by byte and for every two-chunk split', () => {
      const parser = new ViewParser(
        () => undefined,
        bad.frameMax ?? DEFAULT_MAX,
        () => undefined,
      );
      let err: unknown;
      let at = 0;
      while (err === undefined && at < bad.bytes.length) {
        err = thrown(() => parser.push(bad.bytes.subarray(at, at + 1)));
        at++;
      }
      expectFrameError(err, bad);
      expect(at).toBe(bad.failsAt);
      for (let cut = 0; cut <= bad.bytes.length; cut++) {
        const p = new ViewParser(
          () => undefined,
          bad.frameMax ?? DEFAULT_MAX,
          () => undefined,
        );
        expectFrameError(
          thrown(() => {
            p.push(bad.bytes.subarray(0, cut));
            p.push(bad.bytes.subarray(cut));
          }),
          bad,
        );
      }
    });
  });
});
