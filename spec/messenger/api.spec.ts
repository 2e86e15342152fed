// The Messenger without a broker: bad input (addresses, trackers, counts, settings) is refused with
// typed errors, state errors before start(), tracking windows of outgoing trackers, get() on an
// empty queue, interrupt(), and what util.inspect shows.
import { describe, expect, it } from '@jest/globals';
import { inspect } from 'node:util';
import {
  AddressError,
  ArgumentError,
  Message,
  Messenger,
  MessengerInterrupted,
  MessengerStateError,
  Tracker,
  TrackerError,
  TrackerStatus,
} from '../../lib/index.js';

const addressed = (address: string | undefined, body = 'x'): Message => {
  const m = new Message(body);
  m.address = address;
  return m;
};

describe('Messenger without a broker', () => {
  it('starts stopped, with Proton defaults; a default name is a UUID', async () => {
    const m = new Messenger();
    expect(m.name).toMatch(/^[0-9a-f-]{36}$/);
    expect([m.stopped, m.timeout, m.blocking, m.incomingWindow, m.outgoingWindow, m.outgoing, m.incoming]).toEqual([
      true,
      -1,
      true,
      0,
      0,
      0,
      0,
    ]);
    await m.stop(); // stopping a stopped Messenger does nothing
    await m.start();
    expect(m.stopped).toBe(false);
  });

  it('refuses bad settings', () => {
    const m = new Messenger('m');
    expect(() => new Messenger('')).toThrow(ArgumentError);
    expect(() => new Messenger('m', { declare: 'yes' as never })).toThrow(ArgumentError);
    expect(() => new Messenger('m', { mandatory: 1 as never })).toThrow(ArgumentError);
    for (const v of [-2, Number.NaN, Number.POSITIVE_INFINITY, '5' as unknown as number])
      expect(() => (m.timeout = v)).toThrow(ArgumentError);
    m.timeout = -1;
    m.timeout = 0;
    for (const v of [-1, 1.5]) {
      expect(() => (m.incomingWindow = v)).toThrow(ArgumentError);
      expect(() => (m.outgoingWindow = v)).toThrow(ArgumentError);
    }
    expect(() => (m.blocking = 'no' as unknown as boolean)).toThrow(ArgumentError);
  });

  it('put() refuses a message without a usable address with AddressError, and non-messages with ArgumentError', () => {
    const m = new Messenger('m');
    expect(() => m.put(addressed(undefined))).toThrow(/has no address/);
    expect(() => m.put(addressed('queue-only'))).toThrow(/names no broker/);
    expect(() => m.put(addressed('/queues/q'))).toThrow(AddressError);
    expect(() => m.put(addressed('amqp://host'))).toThrow(/names no queue or exchange/);
    expect(() => m.put(addressed('amqp://host/topics/x'))).toThrow(AddressError);
    expect(() => m.put(addressed('amqp://host/q%zz'))).toThrow(AddressError);
    expect(() => m.put('amqp://host/q' as unknown as Message)).toThrow(ArgumentError);
    expect(m.outgoing).toBe(0);
  });

  it('subscribe() refuses listen addresses and addresses that do not parse', () => {
    const m = new Messenger('m');
    for (const a of ['~0.0.0.0', 'amqp://~0.0.0.0', 'amqps://~0.0.0.0/q']) expect(() => m.subscribe(a)).toThrow(/listen/);
    expect(() => m.subscribe('amqp://')).toThrow(AddressError);
    expect(() => m.subscribe(7 as unknown as string)).toThrow(AddressError);
  });

  it('route() resolves a domain name; the same node subscribed twice is one subscription', () => {
    const m = new Messenger('m');
    expect(() => m.put(addressed('orders/q1'))).toThrow(AddressError);
    m.route('orders/*', 'amqp://10.1.2.3:5673/$1');
    const t = m.put(addressed('orders/q1'));
    expect(t.direction).toBe('outgoing');
    expect(m.outgoing).toBe(1);
    const s1 = m.subscribe('orders/q1');
    expect([s1.url, s1.node]).toEqual(['amqp://10.1.2.3:5673', { kind: 'queue', queue: 'q1' }]);
    expect(m.subscribe('amqp://10.1.2.3:5673/queues/q1')).toBe(s1);
    expect(m.subscribe('amqp://10.1.2.3:5673/exchanges/x')).not.toBe(s1);
  });

  it('put() refuses a body that cannot be encoded; each put gets the next tracker', () => {
    const m = new Messenger('m');
    expect(() => m.put(addressed('amqp://h/q', (() => 1) as unknown as string))).toThrow(ArgumentError);
    const msg = addressed('amqp://h/q');
    const trackers = [0, 1, 2].map(() => m.put(msg));
    expect(trackers.map((t) => t.sequence)).toEqual([0, 1, 2]);
    expect(m.outgoing).toBe(3);
  });

  it('outgoing trackers keep their status only inside the window; settle() forgets them', () => {
    const m = new Messenger('m');
    const untracked = m.put(addressed('amqp://h/q'));
    expect(m.status(untracked)).toBe(TrackerStatus.UNKNOWN);
    m.outgoingWindow = 2;
    const ts = [0, 1, 2].map(() => m.put(addressed('amqp://h/q')));
    expect(ts.map((t) => m.status(t))).toEqual([TrackerStatus.UNKNOWN, TrackerStatus.PENDING, TrackerStatus.PENDING]);
    m.settle(ts[1]);
    expect(m.status(ts[1] as Tracker)).toBe(TrackerStatus.UNKNOWN);
    expect(m.status(ts[2] as Tracker)).toBe(TrackerStatus.PENDING);
    m.settle();
    expect(m.status(ts[2] as Tracker)).toBe(TrackerStatus.UNKNOWN);
  });

  it('refuses trackers of another Messenger, and outgoing trackers where an incoming one is needed', () => {
    const a = new Messenger('a');
    const b = new Messenger('b');
    const t = a.put(addressed('amqp://h/q'));
    expect(() => b.status(t)).toThrow(TrackerError);
    expect(() => b.settle(t)).toThrow(TrackerError);
    expect(() => b.accept(t)).toThrow(/another Messenger/);
    expect(() => a.accept(t)).toThrow(/incoming tracker/);
    expect(() => a.reject(t)).toThrow(TrackerError);
    expect(() => a.status(new Tracker({}, 'incoming', 0))).toThrow(TrackerError);
    expect(() => a.status({ direction: 'outgoing', sequence: 0 } as Tracker)).toThrow(TrackerError);
    expect(TrackerError.prototype).toBeInstanceOf(ArgumentError);
  });

  it('get() on an empty queue returns null without throwing; accept() and reject() without a get do nothing', () => {
    const m = new Messenger('m');
    expect(m.get()).toBeNull();
    expect(m.get(new Message())).toBeNull();
    expect(() => m.get('x' as unknown as Message)).toThrow(ArgumentError);
    m.accept();
    m.reject();
  });

  it('send, recv and work need start(); recv needs a subscription; counts must be integers >= -1', async () => {
    const m = new Messenger('m');
    await expect(m.send()).rejects.toBeInstanceOf(MessengerStateError);
    await expect(m.recv()).rejects.toBeInstanceOf(MessengerStateError);
    await expect(m.work(0)).rejects.toBeInstanceOf(MessengerStateError);
    await m.start();
    await expect(m.recv(1)).rejects.toThrow(/subscribe/);
    for (const n of [-2, 1.5, '3' as unknown as number]) {
      await expect(m.send(n)).rejects.toBeInstanceOf(ArgumentError);
      await expect(m.recv(n)).rejects.toBeInstanceOf(ArgumentError);
    }
    await expect(m.work(-3)).rejects.toBeInstanceOf(ArgumentError);
    await m.stop();
  });

  it('work() with nothing to do returns false after its timeout; an interrupt() with no call waiting ends the next one', async () => {
    const m = new Messenger('m');
    await m.start();
    expect(await m.work(0)).toBe(false);
    expect(await m.work(20)).toBe(false);
    m.interrupt();
    await expect(m.work(-1)).rejects.toBeInstanceOf(MessengerInterrupted);
    expect(await m.work(0)).toBe(false);
    const waiting = m.work(-1);
    m.interrupt();
    await expect(waiting).rejects.toBeInstanceOf(MessengerInterrupted);
    const stopped = m.work(-1);
    await m.stop();
    await expect(stopped).rejects.toThrow(/stopped/);
  });

  it('util.inspect shows the name, state and queues, never a password', () => {
    const m = new Messenger('inspect-me');
    m.password = 'hunter2';
    m.put(addressed('amqp://user:secret@h/q'));
    const text = inspect(m);
    expect(text).toMatch(/inspect-me/);
    expect(text).toMatch(/outgoing: 1/);
    expect(text).not.toMatch(/hunter2|secret/);
  });
});
