import { describe, it, expect } from '@jest/globals';

import {
  encodeFrame,
  FRAME_BODY,
  FRAME_END,
  FRAME_HEADER,
  FRAME_HEADER_SIZE,
  FRAME_HEARTBEAT,
  FRAME_METHOD,
  FRAME_MIN_SIZE,
  FRAME_OVERHEAD,
  HEARTBEAT_FRAME,
  PROTOCOL_HEADER,
  writeFrameHeader,
} from '../../lib/protocol/frame.js';

/** Node's own RangeError comes from another realm than jest's global, so match it by name. */
function expectRangeError(fn: () => unknown): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeDefined();
  expect((err as Error).name).toBe('RangeError');
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');

describe('frame constants', () => {
  it('has the AMQP 0-9-1 values', () => {
    expect(FRAME_METHOD).toBe(1);
    expect(FRAME_HEADER).toBe(2);
    expect(FRAME_BODY).toBe(3);
    expect(FRAME_HEARTBEAT).toBe(8);
    expect(FRAME_END).toBe(0xce);
    expect(FRAME_MIN_SIZE).toBe(8192);
    expect(FRAME_HEADER_SIZE).toBe(7);
    expect(FRAME_OVERHEAD).toBe(8);
  });

  it('PROTOCOL_HEADER is "AMQP" 0 0 9 1', () => {
    expect(hex(PROTOCOL_HEADER)).toBe('414d515000000901');
    expect(PROTOCOL_HEADER.subarray(0, 4).toString('latin1')).toBe('AMQP');
  });

  it('HEARTBEAT_FRAME is an empty type-8 frame on channel 0', () => {
    expect(hex(HEARTBEAT_FRAME)).toBe('08' + '0000' + '00000000' + 'ce');
    expect(HEARTBEAT_FRAME.equals(encodeFrame(FRAME_HEARTBEAT, 0, new Uint8Array(0)))).toBe(true);
  });
});

describe('encodeFrame', () => {
  it('encodes an empty payload', () => {
    expect(hex(encodeFrame(FRAME_METHOD, 0, Buffer.alloc(0)))).toBe('01' + '0000' + '00000000' + 'ce');
  });

  it('encodes type, channel, size, payload and end octet big-endian', () => {
    const frame = encodeFrame(FRAME_BODY, 0x1234, Buffer.from([0xde, 0xad, 0xbe, 0xef, 0xce]));
    expect(hex(frame)).toBe('03' + '1234' + '00000005' + 'deadbeefce' + 'ce');
    expect(frame.length).toBe(5 + FRAME_OVERHEAD);
  });

  it('encodes the largest channel and a multi-byte size', () => {
    const payload = Buffer.alloc(0x010203, 0xab);
    const frame = encodeFrame(FRAME_HEADER, 0xffff, payload);
    expect(hex(frame.subarray(0, 7))).toBe('02' + 'ffff' + '00010203');
    expect(frame.subarray(7, 7 + payload.length).equals(payload)).toBe(true);
    expect(frame[frame.length - 1]).toBe(0xce);
    expect(frame.length).toBe(0x010203 + 8);
  });

  it('accepts a plain Uint8Array (and a view with an offset) and copies it', () => {
    const backing = new Uint8Array([9, 9, 1, 2, 3, 9]);
    const view = backing.subarray(2, 5);
    const frame = encodeFrame(FRAME_METHOD, 7, view);
    expect(hex(frame)).toBe('01' + '0007' + '00000003' + '010203' + 'ce');
    backing[2] = 0x77;
    expect(frame[7]).toBe(1);
  });

  it('rejects a channel or type that does not fit its field', () => {
    expectRangeError(() => encodeFrame(FRAME_METHOD, 0x10000, Buffer.alloc(0)));
    expectRangeError(() => encodeFrame(FRAME_METHOD, -1, Buffer.alloc(0)));
    expectRangeError(() => encodeFrame(256, 0, Buffer.alloc(0)));
  });
});

describe('writeFrameHeader', () => {
  it('writes exactly 7 bytes at the offset and leaves the rest untouched', () => {
    const buf = Buffer.alloc(12, 0xee);
    writeFrameHeader(buf, 2, FRAME_BODY, 0xabcd, 0x01020304);
    expect(hex(buf)).toBe('eeee' + '03' + 'abcd' + '01020304' + 'eeeeee');
  });

  it('writes the largest values', () => {
    const buf = Buffer.alloc(7);
    writeFrameHeader(buf, 0, 0xff, 0xffff, 0xffffffff);
    expect(hex(buf)).toBe('ffffffffffffff');
  });

  it('builds the same bytes as encodeFrame when used in place', () => {
    const payload = Buffer.from('hello');
    const buf = Buffer.alloc(payload.length + FRAME_OVERHEAD);
    writeFrameHeader(buf, 0, FRAME_METHOD, 3, payload.length);
    payload.copy(buf, FRAME_HEADER_SIZE);
    buf[FRAME_HEADER_SIZE + payload.length] = FRAME_END;
    expect(buf.equals(encodeFrame(FRAME_METHOD, 3, payload))).toBe(true);
  });

  it('throws RangeError when the header does not fit or a value is out of range', () => {
    expectRangeError(() => writeFrameHeader(Buffer.alloc(6), 0, 1, 0, 0));
    expectRangeError(() => writeFrameHeader(Buffer.alloc(10), 4, 1, 0, 0));
    expectRangeError(() => writeFrameHeader(Buffer.alloc(7), 0, 1, 0, 2 ** 32));
    expectRangeError(() => writeFrameHeader(Buffer.alloc(7), 0, 1, 65536, 0));
  });
});
