// Session against the real broker: mgmtRequest round trips with a responder (serveRequests), a
// non-2xx answer, a timeout, 1000 concurrent requests each paired with its own reply; handleMax,
// onAttach values, the incoming window as prefetch, destroy() twice.
import { describe, expect, test } from '@jest/globals';
import {
  type AMQPError,
  ArgumentError,
  ChannelClosed,
  ManagementError,
  Message,
  NotFound,
  Session,
  SessionLinkLimitError,
  type SessionLinkProperties,
  Timeout,
} from '../../lib/index.js';
import { eventually, suite } from '../harness.js';

const s = suite();

/** A node queue with a responder session on its own connection; the requester session on another. */
async function node(handler: Parameters<Session['serveRequests']>[1], opts: { concurrency?: number } = {}) {
  const { conn, ch } = await s.open();
  const name = s.queue(s.name('node'));
  await ch.queueDeclare(name);
  const responder = new Session(conn, { incomingWindow: 64 });
  s.defer(() => responder.destroy());
  const server = await responder.serveRequests(name, handler, opts);
  const client = new Session(await s.connect());
  s.defer(() => client.destroy());
  return { name, server, client, responder };
}

describe('Session.mgmtRequest on RabbitMQ', () => {
  test('a round trip: the responder sees operation and type, the caller gets the body and status', async () => {
    const seen: unknown[] = [];
    const { name, client } = await node((req) => {
      seen.push(req.applicationHeaders);
      return { statusCode: 200, statusDescription: 'OK', body: { entity: req.json<{ name: string }>().name, count: 3 } };
    });
    const res = await client.mgmtRequest(new Message({ name: 'orders' }), 'READ', {
      node: name,
      opType: 'com.example:queue',
      timeout: 5000,
    });
    expect(res.json()).toEqual({ entity: 'orders', count: 3 });
    expect(res.applicationHeaders).toMatchObject({ statusCode: 200, statusDescription: 'OK' });
    expect(seen).toEqual([{ operation: 'READ', type: 'com.example:queue' }]);
  });

  test('a non-2xx answer rejects with ManagementError carrying code and description', async () => {
    const { name, client } = await node(() => ({ statusCode: 404, statusDescription: 'no such entity' }));
    const err = (await client
      .mgmtRequest(new Message(''), 'READ', { node: name, timeout: 5000 })
      .catch((e: unknown) => e)) as ManagementError;
    expect(err).toBeInstanceOf(ManagementError);
    expect([err.statusCode, err.statusDescription]).toEqual([404, 'no such entity']);
  });

  test('no answer: Timeout at the deadline (the node exists, nobody serves it)', async () => {
    const { ch, conn } = await s.open();
    const silent = s.queue(s.name('silent'));
    await ch.queueDeclare(silent);
    const session = new Session(conn);
    s.defer(() => session.destroy());
    await expect(session.mgmtRequest(new Message(''), 'READ', { node: silent, timeout: 200 })).rejects.toBeInstanceOf(Timeout);
  });

  test('1000 concurrent requests, each paired with its own reply', async () => {
    const { name, client } = await node((req) => ({ statusCode: 200, body: { echo: req.json<{ id: number }>().id } }), { concurrency: 16 });
    const ids = Array.from({ length: 1000 }, (_, i) => i);
    const replies = await Promise.all(ids.map((id) => client.mgmtRequest(new Message({ id }), 'ECHO', { node: name, timeout: 20_000 })));
    expect(replies.map((r) => r.json<{ echo: number }>().echo)).toEqual(ids);
  }, 30_000);

  test('bad input is refused before anything is sent: an operation that is not a string, a message that is not a Message', async () => {
    const { name, client, server } = await node(() => ({ statusCode: 200 }));
    await expect(client.mgmtRequest(new Message(''), 42 as unknown as string, { node: name })).rejects.toBeInstanceOf(ArgumentError);
    await expect(client.mgmtRequest({ body: '' } as unknown as Message, 'READ', { node: name })).rejects.toBeInstanceOf(ArgumentError);
    expect(client.linkCount).toBe(0);
    expect(server.stats.requests).toBe(0);
  });

  test('a missing node fails the request (and the attach) with NotFound', async () => {
    const attaches: Array<[string, string, SessionLinkProperties, AMQPError | undefined]> = [];
    const session = new Session(await s.connect(), { onAttach: (...a) => attaches.push(a) });
    s.defer(() => session.destroy());
    const missing = s.name('missing-node');
    await expect(session.mgmtRequest(new Message(''), 'READ', { node: missing, timeout: 5000 })).rejects.toBeInstanceOf(NotFound);
    const failed = attaches.find((a) => a[1] === missing);
    expect(failed?.[3]).toBeInstanceOf(NotFound);
  });
});

describe('Session links on RabbitMQ', () => {
  test('handleMax: one link more is refused; onAttach reports each attach; closing frees a handle', async () => {
    const { ch, conn } = await s.open();
    const q = s.queue(s.name('links'));
    await ch.queueDeclare(q);
    const attaches: Array<[string, string, SessionLinkProperties, AMQPError | undefined]> = [];
    const session = new Session(conn, { handleMax: 2, incomingWindow: 10, onAttach: (...a) => attaches.push(a) });
    s.defer(() => session.destroy());
    const sender = await session.createSender(q);
    const receiver = await session.createReceiver(`/queues/${q}`, { callback: () => undefined });
    await expect(session.createSender(q)).rejects.toBeInstanceOf(SessionLinkLimitError);
    expect(attaches).toEqual([
      [sender.name, q, { exchange: '', routingKey: q, mandatory: true }, undefined],
      [`/queues/${q}`, receiver.name, { queue: q, consumerTag: receiver.name, prefetch: 10 }, undefined],
    ]);
    await receiver.close();
    const missing = s.name('missing');
    await expect(session.createReceiver(missing, { callback: () => undefined })).rejects.toBeInstanceOf(NotFound);
    expect(attaches.at(-1)?.[0]).toBe(missing);
    expect(attaches.at(-1)?.[3]).toBeInstanceOf(NotFound);
    expect(session.linkCount).toBe(1);
    expect(session.channel?.isOpen).toBe(true); // the failed attach did not touch the session's channel
  });

  test('incomingWindow is the receivers prefetch: without acks, a receiver gets exactly that many', async () => {
    const { ch, conn } = await s.open();
    const q = s.queue(s.name('window'));
    await ch.queueDeclare(q);
    const session = new Session(conn, { incomingWindow: 3, outgoingWindow: 5 });
    s.defer(() => session.destroy());
    const sender = await session.createSender(`/queues/${q}`);
    await Promise.all(Array.from({ length: 10 }, (_, i) => sender.send(`m${i}`)));
    const got: Message[] = [];
    await session.createReceiver(q, { callback: (m) => void got.push(m), autoAccept: false });
    await eventually(() => got.length === 3, { what: 'three deliveries' });
    await new Promise((r) => setTimeout(r, 100));
    expect(got.map((m) => String(m.body))).toEqual(['m0', 'm1', 'm2']);
    got[0]?.ack();
    await eventually(() => got.length === 4, { what: 'one more after an ack' });
  });

  test('destroy() ends pending requests and closes the channel; calling it twice is fine', async () => {
    const { ch, conn } = await s.open();
    const silent = s.queue(s.name('silent'));
    await ch.queueDeclare(silent);
    const session = new Session(conn);
    const pending = session.mgmtRequest(new Message(''), 'READ', { node: silent, timeout: 10_000 }).catch((e: unknown) => e);
    await eventually(() => session.linkCount === 2, { what: 'the management links' });
    await Promise.all([session.destroy(), session.destroy()]);
    await session.destroy();
    expect(await pending).toBeInstanceOf(ChannelClosed);
    expect(session.channel?.isOpen).toBe(false);
    expect(conn.connected).toBe(true);
  });
});
