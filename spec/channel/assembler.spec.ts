import { describe, it, expect, jest } from '@jest/globals';

import type { Channel } from '../../lib/channel/channel.js';
import { ContentAssembler } from '../../lib/channel/assembler.js';
import type { Connection } from '../../lib/connection/connection.js';
import { UnexpectedFrame } from '../../lib/errors.js';
import type { Message } from '../../lib/message.js';
import { encodeFrame, FRAME_BODY, FRAME_HEADER, FRAME_METHOD } from '../../lib/protocol/frame.js';
import { FrameParser } from '../../lib/protocol/frame-parser.js';
import { decodeMethod, encodeMethod, type Method } from '../../lib/protocol/generated/methods.js';
import { encodeProperties, type BasicProperties } from '../../lib/protocol/generated/properties.js';
import { Reader, Writer } from '../../lib/protocol/primitives.js';
import { connectFake, installGuards, type FakeBroker, type HandshakeOptions } from '../support/fake-broker.js';

/** No size limit beyond the largest safe body. */
const MAX = Number.MAX_SAFE_INTEGER;

installGuards();

const MiB = 1024 * 1024;
const FRAME_MAX = 131072;

/** Seeded, fast, not all the same byte. */
function pattern(n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = 0x2545f491;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

const deliverArgs = (deliveryTag: number) => ({ consumerTag: 'ct', deliveryTag, redelivered: false, exchange: 'ex', routingKey: 'rk' });

function deliverMethod(tag = 1): Method {
  const w = new Writer(64);
  encodeMethod(w, 'basic.deliver', deliverArgs(tag));
  return decodeMethod(new Reader(w.result()));
}

function headerPayload(bodySize: number, props: BasicProperties = {}): Buffer {
  const w = new Writer(64);
  w.u32(60 << 16); // class 60, weight 0
  w.u64(bodySize);
  encodeProperties(w, props);
  return Buffer.from(w.result());
}

/** method + header + body frames of at most `frameMax` bytes, as the broker sends them. */
function contentStream(channel: number, body: Buffer, frameMax = FRAME_MAX, tag = 1): Buffer {
  const w = new Writer(64);
  encodeMethod(w, 'basic.deliver', deliverArgs(tag));
  const parts = [encodeFrame(FRAME_METHOD, channel, w.result()), encodeFrame(FRAME_HEADER, channel, headerPayload(body.length))];
  for (let off = 0; off < body.length; off += frameMax - 8)
    parts.push(encodeFrame(FRAME_BODY, channel, body.subarray(off, off + frameMax - 8)));
  return Buffer.concat(parts);
}

interface Done {
  method: Method;
  props: BasicProperties;
  body: Buffer;
}

/** A FrameParser in streaming mode wired to a ContentAssembler, as connection + channel do it. */
function pipeline(): {
  parser: FrameParser;
  assembler: ContentAssembler;
  done: Done[];
  wholeBodyFrames: () => number;
  pieces: () => number;
} {
  const done: Done[] = [];
  let whole = 0;
  let pieces = 0;
  const assembler = new ContentAssembler(1, (method, props, body) => done.push({ method, props, body }), MAX);
  const parser = new FrameParser(
    (type, _channel, buf, start, end) => {
      if (type === FRAME_METHOD) assembler.start(decodeMethod(new Reader(buf, start, end)));
      else if (type === FRAME_HEADER) assembler.header(buf, start, end);
      else if (type === FRAME_BODY) {
        whole++;
        assembler.bodyFrame(buf, start, end);
      }
    },
    FRAME_MAX,
    (_channel, piece, frameDone) => {
      pieces++;
      assembler.bodyPiece(piece, frameDone);
    },
  );
  return { parser, assembler, done, wholeBodyFrames: () => whole, pieces: () => pieces };
}

function pushChunks(parser: FrameParser, stream: Buffer, sizes: number | number[]): void {
  for (let off = 0, i = 0; off < stream.length; i++) {
    const n = typeof sizes === 'number' ? sizes : (sizes[i % sizes.length] ?? 1);
    // every chunk gets its own memory, as socket reads do
    parser.push(Buffer.from(stream.subarray(off, off + n)));
    off += n;
  }
}

describe('ContentAssembler: body pieces', () => {
  it('reassembles a 1 MiB body streamed as pieces (64 KiB chunks, 128 KiB frames) byte-exact, allocating the body once', () => {
    const body = pattern(MiB);
    const stream = contentStream(1, body);
    const { parser, done, wholeBodyFrames, pieces } = pipeline();
    const spies = [jest.spyOn(Buffer, 'allocUnsafe'), jest.spyOn(Buffer, 'allocUnsafeSlow'), jest.spyOn(Buffer, 'alloc')];
    const chunks: Buffer[] = [];
    for (let off = 0; off < stream.length; off += 65536) chunks.push(stream.subarray(off, off + 65536));
    let sizes: number[] = [];
    try {
      for (const c of chunks) parser.push(c);
      sizes = spies.flatMap((s) => s.mock.calls.map((args) => Number(args[0])));
    } finally {
      for (const s of spies) s.mockRestore();
    }
    expect(sizes).toEqual([MiB]); // the body buffer, nothing per frame or per chunk
    expect(done).toHaveLength(1);
    expect(done[0]!.method.name).toBe('basic.deliver');
    expect(done[0]!.body.length).toBe(MiB);
    expect(done[0]!.body.equals(body)).toBe(true);
    expect(pieces()).toBeGreaterThan(8);
    expect(wholeBodyFrames()).toBeLessThan(9);
  });

  it('reassembles byte-exact for many chunkings mixing whole frames and pieces, message after message', () => {
    const bodies = [
      pattern(MiB),
      pattern(3 * FRAME_MAX + 17),
      pattern(FRAME_MAX - 8),
      pattern(5),
      Buffer.alloc(0),
      pattern(2 * (FRAME_MAX - 8)),
    ];
    const stream = Buffer.concat(bodies.map((b, i) => contentStream(1, b, FRAME_MAX, i + 1)));
    for (const sizes of [[65536], [65537], [MiB], [1, 7, 131072, 3, 200000], [131071], [131073, 5], [4 * MiB]]) {
      const { parser, done, pieces } = pipeline();
      pushChunks(parser, stream, sizes);
      expect(done.map((d) => d.body.length)).toEqual(bodies.map((b) => b.length));
      done.forEach((d, i) => {
        expect(d.body.equals(bodies[i]!)).toBe(true);
      });
      if (sizes[0]! < MiB) expect(pieces()).toBeGreaterThan(0);
    }
  });

  it('completes only at a frame end, after all body bytes', () => {
    const a = new ContentAssembler(1, (_m, _p, body) => got.push(body), MAX);
    const got: Buffer[] = [];
    a.start(deliverMethod());
    a.header(headerPayload(6));
    a.bodyPiece(Buffer.from([1, 2]), false);
    a.bodyPiece(Buffer.from([3, 4, 5, 6]), false); // all bytes, but the end octet not yet checked
    expect(got).toHaveLength(0);
    expect(a.busy).toBe(true);
    a.bodyPiece(Buffer.alloc(0), true);
    expect(got.map((b) => [...b])).toEqual([[1, 2, 3, 4, 5, 6]]);
    expect(a.busy).toBe(false);
  });

  it('combines pieces of one frame with whole frames and pieces of the next', () => {
    const got: Buffer[] = [];
    const a = new ContentAssembler(1, (_m, _p, body) => got.push(body), MAX);
    a.start(deliverMethod());
    a.header(headerPayload(9));
    a.bodyPiece(Buffer.from([1, 2]), false);
    a.bodyPiece(Buffer.from([3]), true); // frame 1 done, body not complete
    expect(got).toHaveLength(0);
    a.bodyFrame(Buffer.from([4, 5, 6])); // frame 2 whole
    a.bodyPiece(Buffer.from([7]), false);
    a.bodyPiece(Buffer.from([8, 9]), true);
    expect(got.map((b) => [...b])).toEqual([[1, 2, 3, 4, 5, 6, 7, 8, 9]]);
  });

  it('copies a single piece holding the whole body: the read buffer it came in is reused', () => {
    const got: Buffer[] = [];
    const a = new ContentAssembler(1, (_m, _p, body) => got.push(body), MAX);
    a.start(deliverMethod());
    a.header(headerPayload(4));
    const piece = Buffer.from([9, 8, 7, 6]);
    a.bodyPiece(piece, true);
    piece.fill(0); // the next read overwrites the landing buffer
    expect([...(got[0] as Buffer)]).toEqual([9, 8, 7, 6]);
  });

  it('copies a whole single-frame body too', () => {
    const got: Buffer[] = [];
    const a = new ContentAssembler(1, (_m, _p, body) => got.push(body), MAX);
    a.start(deliverMethod());
    a.header(headerPayload(3));
    const frame = Buffer.from([0xaa, 1, 2, 3, 0xce]);
    a.bodyFrame(frame, 1, 4);
    frame.fill(0);
    expect([...(got[0] as Buffer)]).toEqual([1, 2, 3]);
  });

  it('body piece without a content header -> UnexpectedFrame 505', () => {
    const a = new ContentAssembler(3, () => undefined, MAX);
    const e1 = (() => {
      try {
        a.bodyPiece(Buffer.from([1]), false);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(e1).toBeInstanceOf(UnexpectedFrame);
    expect(e1).toMatchObject({ replyCode: 505, channelId: 3 });
    a.start(deliverMethod());
    expect(() => a.bodyPiece(Buffer.from([1]), true)).toThrow(UnexpectedFrame);
  });

  it('body pieces beyond the announced size -> UnexpectedFrame 505', () => {
    const a = new ContentAssembler(1, () => undefined, MAX);
    a.start(deliverMethod());
    a.header(headerPayload(4));
    a.bodyPiece(Buffer.from([1, 2, 3]), false);
    let err: unknown;
    try {
      a.bodyPiece(Buffer.from([4, 5]), false);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UnexpectedFrame);
    expect(err).toMatchObject({ replyCode: 505 });
    expect((err as Error).message).toMatch(/exceeds its announced size of 4 bytes/);
  });
});

// ---------------------------------------------------------------------------------------------
// Through a connection: transport -> connection -> channel -> assembler

async function setup(hs: HandshakeOptions = {}): Promise<{ broker: FakeBroker; conn: Connection; ch: Channel }> {
  const { broker, conn } = await connectFake({}, hs);
  const [ch] = await Promise.all([conn.channel(), broker.openChannel()]);
  return { broker, conn, ch };
}

async function consume(ch: Channel, broker: FakeBroker, callback: (m: Message) => void): Promise<void> {
  const c = ch.basicConsume('q', { consumerTag: 'ct', callback });
  await broker.expect('basic.consume', 1);
  broker.send(1, 'basic.consume-ok', { consumerTag: 'ct' });
  await c;
}

const tick = (ms = 10): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('large deliveries through a connection', () => {
  it('a 1 MiB body in 128 KiB frames arriving in 64 KiB socket chunks is delivered byte-exact', async () => {
    const { broker, ch } = await setup({ frameMax: FRAME_MAX });
    const got: Message[] = [];
    await consume(ch, broker, (m) => {
      got.push(m);
    });
    const body = pattern(MiB);
    const small = pattern(100);
    const spy = jest.spyOn(ContentAssembler.prototype, 'bodyPiece');
    broker.sendChunks(broker.encodeContent(1, 'basic.deliver', deliverArgs(1), {}, body), 65536);
    broker.sendChunks(broker.encodeContent(1, 'basic.deliver', deliverArgs(2), {}, small), [50]);
    broker.sendChunks(broker.encodeContent(1, 'basic.deliver', deliverArgs(3), {}, body), [7, 65529, 65537, 1, 1]);
    for (let i = 0; i < 300 && got.length < 3; i++) await tick();
    const streamed = spy.mock.calls.length;
    spy.mockRestore();
    expect(streamed).toBeGreaterThan(8); // split body frames took the streaming path
    expect(got.map((m) => m.deliveryTag)).toEqual([1, 2, 3]);
    expect(Buffer.isBuffer(got[0]?.body) && got[0].body.equals(body)).toBe(true);
    expect(Buffer.isBuffer(got[1]?.body) && got[1].body.equals(small)).toBe(true);
    expect(Buffer.isBuffer(got[2]?.body) && got[2].body.equals(body)).toBe(true);
  });

  it('a split body frame without a content header closes the connection with 505', async () => {
    const { broker, conn } = await setup({ frameMax: FRAME_MAX });
    const closed = new Promise<unknown>((resolve) => conn.once('close', resolve));
    broker.sendChunks(encodeFrame(FRAME_BODY, 1, pattern(1000)), 100);
    await expect(broker.expect('connection.close', 0)).resolves.toMatchObject({ args: { replyCode: 505 } });
    expect(await closed).toBeInstanceOf(UnexpectedFrame);
  });

  it('a split body frame on channel 0 or an unknown channel closes the connection (505 / 504)', async () => {
    for (const [channel, code] of [
      [0, 505],
      [9, 504],
    ] as const) {
      const { broker } = await setup({ frameMax: FRAME_MAX });
      broker.sendChunks(encodeFrame(FRAME_BODY, channel, pattern(1000)), 100);
      await expect(broker.expect('connection.close', 0)).resolves.toMatchObject({ args: { replyCode: code } });
    }
  });
});
