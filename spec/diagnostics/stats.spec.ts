// conn.stats() through a connection to the fake broker: exact counts of publishes, confirms,
// nacks, returns, deliveries and the user's settlements, bytes in and out to the byte, open
// channels, and counters that survive a recovery.
import { describe, expect, it } from '@jest/globals';

import type { ReceivedMessage } from '../../lib/channel/types.js';
import { Message } from '../../lib/message.js';
import { deliver, once, openChannel, rpc, serve, setup, tick } from '../support/recovery-harness.js';

describe('conn.stats()', () => {
  it('starts at zero but for the handshake bytes', async () => {
    const { conn } = await setup();
    const s = conn.stats();
    expect(s).toMatchObject({
      published: 0,
      confirmed: 0,
      nacked: 0,
      returned: 0,
      delivered: 0,
      acked: 0,
      rejected: 0,
      recoveries: 0,
      channelsOpen: 0,
    });
    expect(s.bytesIn).toBeGreaterThan(0);
    expect(s.bytesOut).toBeGreaterThan(0);
    expect(Object.isFrozen(s)).toBe(true);
  });

  it('counts publishes, confirms, nacks and returns exactly (a multiple ack confirms every publish it covers)', async () => {
    const { conn, b1 } = await setup();
    const ch = await openChannel(conn, b1, 1);
    await rpc(b1, 1, ch.confirmSelect(), 'confirm.select', 'confirm.select-ok', {});
    const ps = [1, 2, 3, 4].map((i) => ch.basicPublish(new Message(`m${i}`), { routingKey: 'q', mandatory: i === 1 }));
    for (const p of ps) p.catch(() => undefined);
    for (let i = 0; i < 4; i++) await b1.expectContent(1);
    expect(conn.stats()).toMatchObject({ published: 4, confirmed: 0, nacked: 0, channelsOpen: 1 });
    b1.sendContent(1, 'basic.return', { replyCode: 312, replyText: 'NO_ROUTE', exchange: '', routingKey: 'q' }, {}, Buffer.from('m1'));
    b1.send(1, 'basic.ack', { deliveryTag: 2, multiple: true });
    b1.send(1, 'basic.ack', { deliveryTag: 3, multiple: false });
    b1.send(1, 'basic.nack', { deliveryTag: 4, multiple: false, requeue: false });
    b1.send(1, 'basic.ack', { deliveryTag: 3, multiple: true }); // already confirmed: not counted again
    await Promise.allSettled(ps);
    await tick();
    expect(conn.stats()).toMatchObject({ published: 4, confirmed: 3, nacked: 1, returned: 1 });
  });

  it("counts deliveries (consumer and basicGet) and the user's acks and nacks/rejects; refused settlements are not counted", async () => {
    const { conn, b1 } = await setup();
    const ch = await openChannel(conn, b1, 1);
    const got: ReceivedMessage[] = [];
    await rpc(b1, 1, ch.basicConsume('q', { consumerTag: 'c', callback: (m) => void got.push(m) }), 'basic.consume', 'basic.consume-ok', {
      consumerTag: 'c',
    });
    for (let t = 1; t <= 5; t++) deliver(b1, 1, 'c', t, `m${t}`);
    await tick();
    expect(got).toHaveLength(5);
    got[0]?.ack();
    ch.basicAck(3, { multiple: true });
    got[3]?.nack({ requeue: false });
    ch.basicReject(5);
    const get = ch.basicGet('q');
    for (let i = 0; i < 4; i++) await b1.next();
    await b1.expect('basic.get', 1);
    b1.sendContent(
      1,
      'basic.get-ok',
      { deliveryTag: 6, redelivered: false, exchange: '', routingKey: 'q', messageCount: 0 },
      {},
      Buffer.from('g'),
    );
    await get;
    expect(conn.stats()).toMatchObject({ delivered: 6, acked: 2, rejected: 2 });
    const closing = ch.close();
    await serve(b1, 1, 'channel.close', 'channel.close-ok', {});
    await closing;
    expect(() => ch.basicAck(6)).toThrow();
    expect(conn.stats()).toMatchObject({ acked: 2, rejected: 2, channelsOpen: 0 });
  });

  it('counts bytes in and out to the byte (one basic.qos round trip)', async () => {
    const { conn, b1 } = await setup();
    const ch = await openChannel(conn, b1, 1);
    const before = conn.stats();
    await rpc(b1, 1, ch.basicQos({ prefetchCount: 10 }), 'basic.qos', 'basic.qos-ok', {});
    const after = conn.stats();
    expect(after.bytesOut - before.bytesOut).toBe(b1.encode(1, 'basic.qos', { prefetchSize: 0, prefetchCount: 10, global: false }).length);
    expect(after.bytesIn - before.bytesIn).toBe(b1.encode(1, 'basic.qos-ok', {}).length);
  });

  it('survives a recovery, which it counts', async () => {
    const { f, conn, b1 } = await setup();
    const ch = await openChannel(conn, b1, 1);
    await ch.basicPublish(new Message('a'), { routingKey: 'q' });
    await b1.expectContent(1);
    const bytesIn = conn.stats().bytesIn;
    b1.destroy();
    const b2 = await f.next();
    await b2.handshake();
    await b2.openChannel(1);
    await once(conn, 'recovered');
    await ch.basicPublish(new Message('b'), { routingKey: 'q' });
    await b2.expectContent(1);
    const s = conn.stats();
    expect(s).toMatchObject({ published: 2, recoveries: 1, channelsOpen: 1 });
    expect(s.bytesIn).toBeGreaterThan(bytesIn); // the second handshake added to the first
  });
});
