// rpcServer and serveRequests against the scripted broker: prefetch and consume, the reply goes to
// replyTo with the correlation id before the request is acked, handler failures answer with an
// error, requests without replyTo, management status headers, close.
import { describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { ArgumentError, Message, RPC_ERROR_HEADER, rpcServer, serveRequests } from '../../lib/index.js';
import { connectFake, installGuards } from '../support/fake-broker.js';
import { AutoBroker } from './auto-broker.js';

installGuards();

async function setup(): Promise<{ ab: AutoBroker; conn: Awaited<ReturnType<typeof connectFake>>['conn'] }> {
  const { broker, conn } = await connectFake();
  return { ab: new AutoBroker(broker).start(), conn };
}

const request = (correlationId: string, replyTo = 'amq.rabbitmq.reply-to.abc') => ({ correlationId, replyTo });

describe('rpcServer', () => {
  it('sets the prefetch, consumes, replies to replyTo with the correlation id, then acks', async () => {
    const { ab, conn } = await setup();
    const server = await rpcServer(conn, 'svc', (req) => ({ echo: String(req.body) }), { concurrency: 3 });
    expect(ab.sent('basic.qos').at(-1)?.args.prefetchCount).toBe(3);
    const dt = ab.deliver(server.consumerTag, 'hi', request('c-1'));
    await ab.until(() => ab.sent('basic.ack').length === 1, 'the ack');
    const reply = ab.published[0]?.m;
    expect(reply?.args).toMatchObject({ exchange: '', routingKey: 'amq.rabbitmq.reply-to.abc' });
    expect(reply?.properties.correlationId).toBe('c-1');
    expect(JSON.parse(String(reply?.body))).toEqual({ echo: 'hi' });
    // the reply went out before the ack
    const order = ab.b.received.map((m) => m.name).filter((n) => n === 'basic.publish' || n === 'basic.ack');
    expect(order).toEqual(['basic.publish', 'basic.ack']);
    expect(ab.sent('basic.ack')[0]?.args.deliveryTag).toBe(dt);
    expect(server.stats).toMatchObject({ requests: 1, replies: 1, failures: 0 });
    await server.close();
    expect(await server.ended).toBeUndefined();
  });

  it('answers a failing handler with the error header; acks requests without replyTo unanswered', async () => {
    const { ab, conn } = await setup();
    const seen: unknown[] = [];
    const server = await rpcServer(
      conn,
      'svc',
      (req) => {
        if (String(req.body) === 'bad') throw new Error('no good');
      },
      { onError: (e) => seen.push(e) },
    );
    ab.deliver(server.consumerTag, 'bad', request('c-1'));
    ab.deliver(server.consumerTag, 'fine', { correlationId: 'c-2' });
    await ab.until(() => ab.sent('basic.ack').length === 2, 'two acks');
    expect(ab.published).toHaveLength(1);
    expect(ab.published[0]?.m.properties.applicationHeaders?.[RPC_ERROR_HEADER]).toBe('no good');
    expect((seen[0] as Error).message).toBe('no good');
    expect(server.stats).toMatchObject({ requests: 2, replies: 1, failures: 1, unanswerable: 1 });
  });

  it('on a Channel it keeps the channel prefetch unless given one; close() cancels and leaves the channel open', async () => {
    const { ab, conn } = await setup();
    const ch = await conn.channel();
    const server = await rpcServer(ch, 'svc', () => 'ok');
    expect(ab.sent('basic.qos')).toHaveLength(0);
    await server.close();
    expect(ab.sent('basic.cancel').map((m) => m.args.consumerTag)).toEqual([server.consumerTag]);
    expect(ch.isOpen).toBe(true);
  });

  it('close() waits for running handlers; requests prefetched but not started are not handled and go back to the queue', async () => {
    const { ab, conn } = await setup();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const server = await rpcServer(conn, 'svc', async () => {
      await gate;
      return 'done';
    });
    const first = ab.deliver(server.consumerTag, 'one', request('c-1'));
    ab.deliver(server.consumerTag, 'two', request('c-2'));
    await ab.until(() => server.inFlight === 1, 'the first handler to start');
    let closed = false;
    const closing = server.close().then(() => {
      closed = true;
    });
    await ab.until(() => ab.sent('basic.cancel').length === 1, 'the cancel');
    await sleep(10);
    expect(closed).toBe(false);
    release();
    await closing;
    // the second request was neither handled nor acked: the broker requeues it when the channel closes
    expect(ab.published.map((p) => p.m.properties.correlationId)).toEqual(['c-1']);
    expect(ab.sent('basic.ack').map((m) => m.args.deliveryTag)).toEqual([first]);
    expect(ab.sent('basic.reject').every((m) => m.args.requeue)).toBe(true);
    expect(ab.sent('channel.close').length).toBeGreaterThan(0);
    expect(server.stats.requests).toBe(1);
  });

  it('refuses bad arguments before anything is sent', async () => {
    const { ab, conn } = await setup();
    const bad = [
      rpcServer(conn, '', () => 1),
      rpcServer(conn, 'q', 'nope' as unknown as () => void),
      rpcServer(conn, 'q', () => 1, { concurrency: 0 }),
      rpcServer(conn, 'q', () => 1, { prefetch: 70000 }),
      rpcServer({} as never, 'q', () => 1),
      serveRequests(conn, 'q', () => ({ statusCode: 200 }), { statusCodeField: '' }),
    ];
    for (const p of bad) await expect(p).rejects.toBeInstanceOf(ArgumentError);
    await sleep(10);
    expect(ab.sent('channel.open')).toHaveLength(0);
  });
});

describe('serveRequests', () => {
  it('answers with the status in the headers; a throw or a bad status answers 500', async () => {
    const { ab, conn } = await setup();
    const server = await serveRequests(
      conn,
      '$management',
      (req) => {
        const op = req.properties.applicationHeaders?.['operation'];
        if (op === 'READ')
          return { statusCode: 200, statusDescription: 'OK', body: { op }, properties: { applicationHeaders: { extra: 1 } } };
        if (op === 'BAD') return { statusCode: 20 };
        throw new Error(`unknown operation ${String(op)}`);
      },
      { descriptionField: 'desc' },
    );
    ab.deliver(server.consumerTag, '', { ...request('r1'), applicationHeaders: { operation: 'READ' } });
    ab.deliver(server.consumerTag, '', { ...request('r2'), applicationHeaders: { operation: 'BAD' } });
    ab.deliver(server.consumerTag, '', { ...request('r3'), applicationHeaders: { operation: 'DELETE' } });
    await ab.until(() => ab.published.length === 3, 'three replies');
    const byId = new Map(ab.published.map((p) => [p.m.properties.correlationId, p.m]));
    expect(byId.get('r1')?.properties.applicationHeaders).toMatchObject({ statusCode: 200, desc: 'OK', extra: 1 });
    expect(new Message(byId.get('r1')?.body ?? Buffer.alloc(0), { contentType: 'application/json' }).json()).toEqual({ op: 'READ' });
    expect(byId.get('r2')?.properties.applicationHeaders).toMatchObject({ statusCode: 500 });
    expect(String(byId.get('r2')?.properties.applicationHeaders?.['desc'])).toMatch(/valid statusCode/);
    expect(byId.get('r3')?.properties.applicationHeaders).toMatchObject({ statusCode: 500, desc: 'unknown operation DELETE' });
  });
});
