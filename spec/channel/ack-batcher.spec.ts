// AckBatcher (ack coalescing): exact tracking means a `multiple` ack never covers a delivery the
// user has not settled, every ack the user gave reaches the broker exactly once, and nacks, rejects
// and the user's own multiple acks keep their order after the acks given before them.
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';

import { AckBatcher } from '../../lib/channel/ack-batcher.js';
import { ACK_METHOD } from '../../lib/protocol/encode.js';
import { prng } from '../support/prng.js';

type Sent = { method: 'ack' | 'nack' | 'reject'; tag: number; multiple: boolean; requeue: boolean };
const NAMES = { [ACK_METHOD.ack]: 'ack', [ACK_METHOD.nack]: 'nack', [ACK_METHOD.reject]: 'reject' } as const;

function setup(delayMs = 5, prefetch = 0) {
  const sent: Sent[] = [];
  const window = { smallestPrefetch: prefetch };
  const sink = {
    writeAck(methodId: number, tag: number, bits: number): void {
      const method = NAMES[methodId as keyof typeof NAMES];
      const multiple = method !== 'reject' && (bits & 1) === 1;
      const requeue = method === 'reject' ? (bits & 1) === 1 : (bits & 2) === 2;
      sent.push({ method, tag, multiple, requeue });
    },
  };
  return { b: new AckBatcher(delayMs, sink, window), sent, window };
}

const ack = (b: AckBatcher, tag: number): void => b.settle(ACK_METHOD.ack, tag, 0);
const deliver = (b: AckBatcher, from: number, to: number, noAck = false): void => {
  for (let t = from; t <= to; t++) b.noteDelivery(t, noAck);
};

describe('AckBatcher', () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('contiguous single acks become one multiple ack when the window ends', () => {
    const { b, sent } = setup(5);
    deliver(b, 1, 5);
    for (let t = 1; t <= 5; t++) ack(b, t);
    expect(sent).toEqual([]);
    jest.advanceTimersByTime(5);
    expect(sent).toEqual([{ method: 'ack', tag: 5, multiple: true, requeue: false }]);
    expect(b.waiting).toBe(0);
  });

  it('an unsettled delivery below an ack keeps it single: the multiple ack stops before the gap', () => {
    const { b, sent } = setup();
    deliver(b, 1, 6);
    for (const t of [1, 2, 4, 5]) ack(b, t); // 3 and 6 not settled
    b.flush();
    expect(sent).toEqual([
      { method: 'ack', tag: 2, multiple: true, requeue: false },
      { method: 'ack', tag: 4, multiple: false, requeue: false },
      { method: 'ack', tag: 5, multiple: false, requeue: false },
    ]);
    sent.length = 0;
    ack(b, 3); // closes the gap: 1..5 are all settled now
    b.flush();
    expect(sent).toEqual([{ method: 'ack', tag: 3, multiple: false, requeue: false }]);
    sent.length = 0;
    ack(b, 6);
    ack(b, 6); // a second ack of the same tag goes out at once: the broker answers it (406) as without coalescing
    expect(sent).toEqual([
      { method: 'ack', tag: 6, multiple: false, requeue: false }, // the batch, flushed first
      { method: 'ack', tag: 6, multiple: false, requeue: false },
    ]);
  });

  it('a second ack of a tag still in the batch goes out at once, not into the batch', () => {
    const { b, sent } = setup();
    deliver(b, 1, 3);
    ack(b, 3);
    ack(b, 3);
    expect(sent).toEqual([
      { method: 'ack', tag: 3, multiple: false, requeue: false },
      { method: 'ack', tag: 3, multiple: false, requeue: false },
    ]);
  });

  it('out-of-order acks are combined once the earliest arrives', () => {
    const { b, sent } = setup();
    deliver(b, 1, 4);
    for (const t of [4, 2, 3, 1]) ack(b, t);
    b.flush();
    expect(sent).toEqual([{ method: 'ack', tag: 4, multiple: true, requeue: false }]);
  });

  it('a nack or reject flushes the batch first and goes out at once; what it settled can be covered later', () => {
    const { b, sent } = setup();
    deliver(b, 1, 6);
    ack(b, 1);
    ack(b, 2);
    b.settle(ACK_METHOD.nack, 3, 2); // requeue
    expect(sent).toEqual([
      { method: 'ack', tag: 2, multiple: true, requeue: false },
      { method: 'nack', tag: 3, multiple: false, requeue: true },
    ]);
    b.settle(ACK_METHOD.reject, 4, 0);
    ack(b, 5);
    ack(b, 6);
    b.flush();
    // 3 and 4 are settled (nack, reject): a multiple ack at 6 covers only 5 and 6 on the broker
    expect(sent.slice(2)).toEqual([
      { method: 'reject', tag: 4, multiple: false, requeue: false },
      { method: 'ack', tag: 6, multiple: true, requeue: false },
    ]);
  });

  it("the user's own multiple ack flushes the batch, then settles everything up to its tag", () => {
    const { b, sent } = setup();
    deliver(b, 1, 8);
    ack(b, 5);
    b.settle(ACK_METHOD.ack, 4, 1); // multiple up to 4
    expect(sent).toEqual([
      { method: 'ack', tag: 5, multiple: false, requeue: false },
      { method: 'ack', tag: 4, multiple: true, requeue: false },
    ]);
    sent.length = 0;
    ack(b, 6);
    ack(b, 7);
    b.flush();
    expect(sent).toEqual([{ method: 'ack', tag: 7, multiple: true, requeue: false }]);
    sent.length = 0;
    b.settle(ACK_METHOD.nack, 0, 1 | 2); // tag 0, multiple: everything delivered so far
    ack(b, 9); // not delivered: goes out at once
    expect(sent).toEqual([
      { method: 'nack', tag: 0, multiple: true, requeue: true },
      { method: 'ack', tag: 9, multiple: false, requeue: false },
    ]);
  });

  it('noAck deliveries in between count as settled', () => {
    const { b, sent } = setup();
    deliver(b, 1, 2);
    deliver(b, 3, 4, true); // a noAck consumer or get on the same channel
    deliver(b, 5, 6);
    for (const t of [1, 2, 5, 6]) ack(b, t);
    b.flush();
    expect(sent).toEqual([{ method: 'ack', tag: 6, multiple: true, requeue: false }]);
  });

  it('flushes once half the smallest prefetch window is waiting, so the broker keeps delivering', () => {
    const { b, sent } = setup(1000, 10);
    deliver(b, 1, 10);
    for (let t = 1; t <= 4; t++) ack(b, t);
    expect(sent).toEqual([]);
    ack(b, 5);
    expect(sent).toEqual([{ method: 'ack', tag: 5, multiple: true, requeue: false }]);
  });

  it('reset drops the batch and its timer: a reopened channel counts tags from 1 again', () => {
    const { b, sent } = setup(5);
    deliver(b, 1, 3);
    ack(b, 1);
    ack(b, 2);
    b.reset();
    expect(b.waiting).toBe(0);
    jest.advanceTimersByTime(50);
    expect(sent).toEqual([]);
    expect(jest.getTimerCount()).toBe(0);
    deliver(b, 1, 2);
    ack(b, 2);
    ack(b, 1);
    b.flush();
    expect(sent).toEqual([{ method: 'ack', tag: 2, multiple: true, requeue: false }]);
  });

  it('a failing write in the timer does not throw out of the timer', () => {
    const b = new AckBatcher(
      5,
      {
        writeAck() {
          throw new Error('transport gone');
        },
      },
      { smallestPrefetch: 0 },
    );
    b.noteDelivery(1, false);
    ack(b, 1);
    expect(() => jest.advanceTimersByTime(5)).not.toThrow();
    expect(b.waiting).toBe(0);
  });
});

describe('AckBatcher against a model of the broker (random orders, 200 seeds)', () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('never covers an unsettled delivery, never settles a tag twice, and sends every ack exactly once', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const rnd = prng(seed);
      const n = 5 + Math.floor(rnd() * 60);
      // the broker: which tags it still has outstanding, and what the user has settled so far
      const outstanding = new Set<number>();
      const userSettled = new Set<number>();
      const acked = new Set<number>();
      const violations: string[] = [];
      const sink = {
        writeAck(methodId: number, tag: number, bits: number): void {
          const multiple = methodId !== ACK_METHOD.reject && (bits & 1) === 1;
          const tags = multiple ? [...outstanding].filter((t) => t <= tag) : [tag];
          for (const t of tags) {
            if (!outstanding.has(t)) violations.push(`seed ${seed}: tag ${t} settled twice or never delivered`);
            if (!userSettled.has(t)) violations.push(`seed ${seed}: ${multiple ? 'multiple ' : ''}frame at ${tag} covers unsettled ${t}`);
            outstanding.delete(t);
            if (methodId === ACK_METHOD.ack) acked.add(t);
          }
        },
      };
      const window = { smallestPrefetch: rnd() < 0.3 ? 1 + Math.floor(rnd() * 20) : 0 };
      const b = new AckBatcher(5, sink, window);
      const userAcks = new Set<number>();
      const toSettle: number[] = [];
      for (let t = 1; t <= n; t++) {
        const noAck = rnd() < 0.15;
        b.noteDelivery(t, noAck);
        if (!noAck) {
          outstanding.add(t);
          if (rnd() < 0.9) toSettle.push(t); // some stay unsettled until the end
        }
        // settle a random earlier delivery now and then, in random order
        while (toSettle.length > 0 && rnd() < 0.6) {
          const i = Math.floor(rnd() * toSettle.length);
          const tag = toSettle.splice(i, 1)[0] as number;
          userSettled.add(tag);
          const r = rnd();
          if (r < 0.8) {
            userAcks.add(tag);
            b.settle(ACK_METHOD.ack, tag, 0);
          } else if (r < 0.9) b.settle(ACK_METHOD.nack, tag, 2);
          else b.settle(ACK_METHOD.reject, tag, 0);
        }
        if (rnd() < 0.03) {
          // the user's own multiple ack: settles every delivery up to a random delivered tag
          const upTo = 1 + Math.floor(rnd() * t);
          for (const tag of outstanding) {
            if (tag > upTo || userSettled.has(tag)) continue;
            userSettled.add(tag);
            userAcks.add(tag);
          }
          for (let i = toSettle.length - 1; i >= 0; i--) if ((toSettle[i] as number) <= upTo) toSettle.splice(i, 1);
          b.settle(ACK_METHOD.ack, upTo, 1);
        }
        if (rnd() < 0.1) jest.advanceTimersByTime(5);
      }
      for (const tag of toSettle) {
        userSettled.add(tag);
        userAcks.add(tag);
        b.settle(ACK_METHOD.ack, tag, 0);
      }
      jest.advanceTimersByTime(5);
      expect(violations).toEqual([]);
      expect(b.waiting).toBe(0);
      expect([...acked].sort((x, y) => x - y)).toEqual([...userAcks].sort((x, y) => x - y));
    }
  });
});
