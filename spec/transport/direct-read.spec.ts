// Large bodies are read by the socket straight into the message buffer (Transport.planRead +
// ContentAssembler.target). These specs drive a SocketReader exactly as Node's `onread` mode does
// (ask for a buffer, fill part of it, report the count) from a scripted byte stream.
import { describe, it, expect } from '@jest/globals';
import { PassThrough } from 'node:stream';

import { ContentAssembler } from '../../lib/channel/assembler.js';
import type { Method } from '../../lib/protocol/generated/methods.js';
import { landing } from '../../lib/transport/buffers.js';
import { SocketReader } from '../../lib/transport/socket.js';
import { Transport } from '../../lib/transport/transport.js';
import { raw } from '../support/frame-fixtures.js';
import { prng } from '../support/prng.js';

const FRAME_MAX = 131072;
const DELIVER = { name: 'basic.deliver', args: {} } as unknown as Method;

function contentHeader(size: number): Buffer {
  const h = Buffer.alloc(14);
  h.writeUInt16BE(60, 0);
  h.writeBigUInt64BE(BigInt(size), 4);
  return h; // property flags 0: no properties
}

function pattern(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 131 + seed * 7 + (i >> 11)) & 0xff;
  return b;
}

/**
 * The frames of one delivery on `channel`: method, header, body frames of at most FRAME_MAX;
 * `between` (if given) goes between each two body frames.
 */
function delivery(channel: number, body: Buffer, between?: Buffer): Buffer {
  const parts = [raw(1, channel, [0, 60, 0, 60]), raw(2, channel, contentHeader(body.length))];
  for (let at = 0; at < body.length; at += FRAME_MAX - 8) {
    if (between && at > 0) parts.push(between);
    parts.push(raw(3, channel, body.subarray(at, at + FRAME_MAX - 8)));
  }
  return Buffer.concat(parts);
}

/**
 * Feeds `stream` through a Transport in reads of at most `maxRead` bytes (random when `rand` is
 * given). Returns the bodies received and how many body bytes the socket wrote in place.
 */
function feed(
  stream: Buffer,
  maxRead: number,
  rand?: () => number,
): { bodies: Buffer[]; direct: number; slab: number; reads: number; others: number } {
  const bodies: Buffer[] = [];
  let others = 0; // frames not for channel 1's content (heartbeats, other channels)
  const assembler = new ContentAssembler(
    1,
    (_m, _p, body) => {
      bodies.push(Buffer.from(body));
    },
    Number.MAX_SAFE_INTEGER,
  );
  const reader = new SocketReader();
  const t = new Transport(
    new PassThrough(),
    {
      onFrame: (type, ch, buf, start, end) => {
        if (ch !== 1 || type === 8) others++;
        else if (type === 1) assembler.start(DELIVER);
        else if (type === 2) assembler.header(buf, start, end);
        else if (type === 3) assembler.bodyFrame(buf, start, end);
      },
      onBodyPart: (_ch, piece, done) => assembler.bodyPiece(piece, done),
      onClose: () => {},
      bodyTarget: (_ch, n) => assembler.target(n),
      bodyRemaining: () => assembler.remaining,
    },
    FRAME_MAX,
    reader,
  );
  let direct = 0;
  let slab = 0;
  let pos = 0;
  let reads = 0;
  while (pos < stream.length) {
    reads++;
    const buf = reader.onread.buffer();
    const limit = rand ? 1 + Math.floor(rand() * maxRead) : maxRead;
    const n = Math.min(buf.length, limit, stream.length - pos);
    stream.copy(buf, 0, pos, pos + n);
    pos += n;
    if (buf.buffer === landing.buffer)
      slab += n; // the shared landing buffer; anything else is a body
    else direct += n;
    reader.onread.callback(n, buf);
  }
  t.close();
  return { bodies, direct, slab, reads, others };
}

describe('direct reads into message bodies', () => {
  it('a 1 MiB body: nearly every byte is read in place, and the body is exact', () => {
    const body = pattern(1 << 20, 1);
    const small = pattern(100, 2);
    const stream = Buffer.concat([delivery(1, body), delivery(1, small), delivery(1, body)]);
    const r = feed(stream, 1 << 20);
    expect(r.bodies).toHaveLength(3);
    expect(r.bodies[0]!.equals(body)).toBe(true);
    expect(r.bodies[1]!.equals(small)).toBe(true);
    expect(r.bodies[2]!.equals(body)).toBe(true);
    // only the part of the first body frame that shares a read with the method and header frames
    // is copied: under 64 KiB of each 1 MiB body
    expect(r.direct).toBeGreaterThan(2 * ((1 << 20) - 64 * 1024));
  });

  it('one read per body frame: the gap to the next frame is read along with the payload', () => {
    const body = pattern(1 << 20, 8); // 9 body frames
    const r = feed(Buffer.concat([delivery(1, body), delivery(1, body)]), 1 << 20);
    expect(r.bodies.map((b) => b.equals(body))).toEqual([true, true]);
    // per delivery: one read for method + header + the start of frame 1, then one per frame
    // (payload + end octet + next header), the last frame's end octet in a read of its own
    expect(r.reads).toBeLessThanOrEqual(2 * (1 + 9 + 1));
  });

  it("heartbeats and other channels' frames between body frames: bodies exact, frames all seen", () => {
    const body = pattern(600_000, 9); // 5 body frames, 4 gaps
    const heartbeat = raw(8, 0, []);
    const other = raw(1, 2, [0, 60, 0, 80, 0, 0, 0, 0, 0, 0, 0, 1, 0]);
    const stream = Buffer.concat([
      delivery(1, body, heartbeat),
      delivery(1, body, other),
      delivery(1, body, Buffer.concat([heartbeat, other])),
    ]);
    const rand = prng(11);
    for (let run = 0; run < 40; run++) {
      const r = run === 0 ? feed(stream, 1 << 20) : feed(stream, 200_000, rand);
      expect(r.bodies.map((b) => b.equals(body))).toEqual([true, true, true]);
      expect(r.others).toBe(16);
    }
  });

  it('bodies stay exact under random read sizes (small and large reads, 200 runs)', () => {
    const rand = prng(7);
    const bodies = [pattern(300_000, 3), pattern(20_000, 4), pattern(131_064, 5), pattern(0, 6), pattern(131_065, 7)];
    const stream = Buffer.concat(bodies.map((b) => delivery(1, b)));
    for (let run = 0; run < 200; run++) {
      const maxRead = run % 2 === 0 ? 3000 : 200_000;
      const r = feed(stream, maxRead, rand);
      expect(r.bodies.map((b) => b.length)).toEqual(bodies.map((b) => b.length));
      r.bodies.forEach((b, i) => {
        expect(b.equals(bodies[i]!)).toBe(true);
      });
    }
  });

  it('small bodies never get a direct read', () => {
    const bodies = Array.from({ length: 50 }, (_, i) => pattern(1000 + i, i));
    const r = feed(Buffer.concat(bodies.map((b) => delivery(1, b))), 64 * 1024);
    expect(r.bodies).toHaveLength(50);
    expect(r.direct).toBe(0);
  });
});

describe('ContentAssembler.target', () => {
  it('hands out the body room for the next n bytes, and a piece read there is not copied again', () => {
    const got: Buffer[] = [];
    const a = new ContentAssembler(1, (_m, _p, b) => got.push(b), Number.MAX_SAFE_INTEGER);
    expect(a.target(10)).toBeNull(); // nothing in progress
    a.start(DELIVER);
    a.header(contentHeader(100));
    expect(a.remaining).toBe(100);
    expect(a.target(101)).toBeNull(); // more than the body has left
    const room = a.target(60)!;
    expect(room.length).toBe(60);
    room.fill(1);
    a.bodyPiece(room, false);
    expect(a.remaining).toBe(40);
    const rest = Buffer.alloc(40, 2);
    a.bodyPiece(rest, true);
    expect(got).toHaveLength(1);
    expect(got[0]!.buffer).toBe(room.buffer); // the body is the buffer the socket wrote into
    expect([...got[0]!.subarray(58, 62)]).toEqual([1, 1, 2, 2]);
  });
});
