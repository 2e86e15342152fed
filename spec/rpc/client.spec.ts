// RpcClient against the scripted broker: what a request carries, replies paired by correlation id
// (out of order, unknown and late ones dropped and counted, never given to another call),
// deadlines and aborts, returns, the reply channel going away, closing, bad input.
import { describe, expect, it } from '@jest/globals';
import {
  ArgumentError,
  ChannelClosed,
  ConnectionLost,
  DIRECT_REPLY_TO,
  Message,
  PublishReturned,
  RPC_ERROR_HEADER,
  RpcClient,
  RpcRemoteError,
  RpcReplyLost,
  Timeout,
  rpcCall,
  rpcClient,
} from '../../lib/index.js';
import { connectFake, installGuards } from '../support/fake-broker.js';
import { AutoBroker } from './auto-broker.js';

installGuards();

async function setup(): Promise<{ ab: AutoBroker; client: RpcClient; tag: string }> {
  const { broker, conn } = await connectFake();
  const ab = new AutoBroker(broker).start();
  const client = await RpcClient.open(conn);
  return { ab, client, tag: await ab.consumerOn(DIRECT_REPLY_TO) };
}

const settle = <T>(p: Promise<T>): Promise<T | unknown> =>
  p.then(
    (v) => v,
    (e: unknown) => e,
  );

describe('RpcClient', () => {
  it('publishes the request with direct reply-to, a fresh correlation id, an expiration and mandatory, and resolves with its reply', async () => {
    const { ab, client, tag } = await setup();
    expect(ab.consumers.get(tag)?.noAck).toBe(true);
    const call = client.call('svc', new Message({ n: 1 }, { correlationId: 'mine', messageId: 'm1' }), { timeout: 1500 });
    await ab.until(() => ab.published.length === 1, 'the request');
    const req = ab.published[0]?.m;
    expect(req?.args).toMatchObject({ exchange: '', routingKey: 'svc', mandatory: true });
    expect(req?.properties).toMatchObject({
      replyTo: DIRECT_REPLY_TO,
      expiration: '1500',
      messageId: 'm1',
      contentType: 'application/json',
    });
    expect(req?.properties.correlationId).not.toBe('mine');
    expect(JSON.parse(String(req?.body))).toEqual({ n: 1 });
    ab.deliver(tag, 'answer', { correlationId: req?.properties.correlationId });
    expect(String((await call).body)).toBe('answer');
    expect(client.stats).toMatchObject({ calls: 1, replies: 1, timeouts: 0, lateReplies: 0, unknownReplies: 0 });
    expect(client.inFlight).toBe(0);
  });

  it('pairs replies that come out of order; unknown ids and replies without one are dropped and counted', async () => {
    const { ab, client, tag } = await setup();
    const calls = [0, 1, 2].map((i) => client.call('svc', `q${i}`));
    await ab.until(() => ab.published.length === 3, 'three requests');
    const ids = ab.published.map((p) => p.m.properties.correlationId as string);
    expect(new Set(ids).size).toBe(3);
    ab.deliver(tag, 'not ours', { correlationId: 'someone-else.1' });
    ab.deliver(tag, 'no id');
    for (const i of [2, 0, 1]) ab.deliver(tag, `a${i}`, { correlationId: ids[i] });
    expect((await Promise.all(calls)).map((m) => String(m.body))).toEqual(['a0', 'a1', 'a2']);
    expect(client.stats.unknownReplies).toBe(2);
    expect(client.droppedReplies).toBe(2);
  });

  it('ends a call at its deadline with Timeout; its late reply is dropped and counted, never given to another call', async () => {
    const { ab, client, tag } = await setup();
    const early = settle(client.call('svc', 'first', { timeout: 30 }));
    const other = client.call('svc', 'second', { timeout: 2000 });
    await ab.until(() => ab.published.length === 2, 'two requests');
    const [id1, id2] = ab.published.map((p) => p.m.properties.correlationId as string);
    expect(await early).toBeInstanceOf(Timeout);
    ab.deliver(tag, 'late answer to first', { correlationId: id1 });
    await ab.until(() => client.stats.lateReplies === 1, 'the late reply to be counted');
    expect(client.inFlight).toBe(1);
    ab.deliver(tag, 'answer to second', { correlationId: id2 });
    expect(String((await other).body)).toBe('answer to second');
    expect(client.stats).toMatchObject({ calls: 2, replies: 1, timeouts: 1, lateReplies: 1, unknownReplies: 0 });
  });

  it('an AbortSignal ends the call with Timeout carrying the reason; an already aborted one sends nothing', async () => {
    const { ab, client } = await setup();
    const ac = new AbortController();
    const p = settle(client.call('svc', 'x', { signal: ac.signal }));
    ac.abort(new Error('user gave up'));
    const err = (await p) as Timeout;
    expect(err).toBeInstanceOf(Timeout);
    expect((err.cause as Error).message).toBe('user gave up');
    await ab.until(() => ab.published.length === 1, 'the first request');
    const again = await settle(client.call('svc', 'y', { signal: AbortSignal.abort() }));
    expect(again).toBeInstanceOf(Timeout);
    await new Promise((r) => setTimeout(r, 20));
    expect(ab.published.length).toBe(1);
  });

  it('a request the broker returns as unroutable fails at once with PublishReturned; the channel forgets the return', async () => {
    const { ab, client } = await setup();
    const p = settle(client.call('nowhere', 'x', { timeout: 5000 }));
    await ab.until(() => ab.published.length === 1, 'the request');
    ab.returnMessage(ab.published[0] as (typeof ab.published)[0]);
    const err = (await p) as PublishReturned;
    expect(err).toBeInstanceOf(PublishReturned);
    expect(err.replyCode).toBe(312);
    expect(err.returnedMessage.properties.correlationId).toBe(ab.published[0]?.m.properties.correlationId);
    expect(client.channel.returnedMessages).toEqual([]);
  });

  it('a server close of the reply channel ends calls already sent with RpcReplyLost; calls after the reopen work', async () => {
    const { ab, client } = await setup();
    const lost = settle(client.call('svc', 'x', { timeout: 5000 }));
    await ab.until(() => ab.published.length === 1, 'the request');
    await new Promise((r) => setTimeout(r, 5)); // the publish has been written
    ab.closeChannel(client.channel.channelId, 406, 'PRECONDITION_FAILED - test');
    const err = (await lost) as RpcReplyLost;
    expect(err).toBeInstanceOf(RpcReplyLost);
    expect((err.cause as Error).message).toMatch(/PRECONDITION_FAILED/);
    const tag = await ab.consumerOn(DIRECT_REPLY_TO); // restored with the channel
    const next = client.call('svc', 'y', { timeout: 2000 });
    await ab.until(() => ab.published.length === 2, 'the second request');
    ab.deliver(tag, 'fine', { correlationId: ab.published[1]?.m.properties.correlationId });
    expect(String((await next).body)).toBe('fine');
  });

  it('a lost connection ends pending calls with its error and closes the client', async () => {
    const { ab, client } = await setup();
    const p = settle(client.call('svc', 'x', { timeout: 5000 }));
    await ab.until(() => ab.published.length === 1, 'the request');
    ab.b.destroy();
    const err = await p;
    expect(err).toBeInstanceOf(RpcReplyLost);
    expect((err as RpcReplyLost).cause).toBeInstanceOf(ConnectionLost);
    expect(client.closed).toBe(true);
    expect(await settle(client.call('svc', 'y'))).toBeInstanceOf(RpcReplyLost);
  });

  it('close() rejects pending calls with ChannelClosed, clears their timers and closes its own channel; twice is fine', async () => {
    const { ab, client } = await setup();
    const p = settle(client.call('svc', 'x', { timeout: 60_000 }));
    await ab.until(() => ab.published.length === 1, 'the request');
    await client.close();
    await client.close();
    expect(await p).toBeInstanceOf(ChannelClosed);
    expect(client.inFlight).toBe(0);
    expect(ab.sent('channel.close').some((m) => m.channel === client.channel.channelId)).toBe(true);
  });

  it('a reply with the error header rejects with RpcRemoteError carrying the reply', async () => {
    const { ab, client, tag } = await setup();
    const p = settle(client.call('svc', 'x'));
    await ab.until(() => ab.published.length === 1, 'the request');
    ab.deliver(tag, '', { correlationId: ab.published[0]?.m.properties.correlationId, applicationHeaders: { [RPC_ERROR_HEADER]: 'boom' } });
    const err = (await p) as RpcRemoteError;
    expect(err).toBeInstanceOf(RpcRemoteError);
    expect(err.message).toMatch(/boom/);
    expect(err.reply.properties.applicationHeaders?.[RPC_ERROR_HEADER]).toBe('boom');
  });

  it('refuses bad input with ArgumentError before publishing anything', async () => {
    const { ab, client } = await setup();
    const bad: Array<Promise<unknown>> = [
      client.call(42 as unknown as string, 'x'),
      client.call('', 'x'),
      client.call('svc', 'x', { timeout: -1 }),
      client.call('svc', 'x', { timeout: Number.POSITIVE_INFINITY }),
      client.call('svc', 'x', { signal: 'no' as unknown as AbortSignal }),
      client.call('svc', (() => undefined) as unknown as string),
    ];
    for (const p of bad) expect(await settle(p)).toBeInstanceOf(ArgumentError);
    await new Promise((r) => setTimeout(r, 20));
    expect(ab.published).toEqual([]);
    expect(client.stats.calls).toBe(0);
  });
});

describe('rpcCall / rpcClient', () => {
  it('share one client (one reply consumer) per connection', async () => {
    const { broker, conn } = await connectFake();
    const ab = new AutoBroker(broker).start();
    const [c1, c2] = await Promise.all([rpcClient(conn), rpcClient(conn)]);
    expect(c1).toBe(c2);
    const tag = await ab.consumerOn(DIRECT_REPLY_TO);
    const calls = [rpcCall(conn, 'svc', 'a'), rpcCall(conn, 'svc', 'b')];
    await ab.until(() => ab.published.length === 2, 'two requests');
    for (const p of ab.published) ab.deliver(tag, `re:${String(p.m.body)}`, { correlationId: p.m.properties.correlationId });
    expect((await Promise.all(calls)).map((m) => String(m.body))).toEqual(['re:a', 're:b']);
    expect([...ab.consumers.values()].filter((c) => c.queue === DIRECT_REPLY_TO)).toHaveLength(1);
  });

  it('on a Channel, uses that channel; its reopen ends calls sent before it', async () => {
    const { broker, conn } = await connectFake();
    const ab = new AutoBroker(broker).start();
    const ch = await conn.channel();
    const client = await RpcClient.open(ch);
    expect(client.channel).toBe(ch);
    const p = settle(client.call('svc', 'x', { timeout: 5000 }));
    await ab.until(() => ab.published.length === 1, 'the request');
    await new Promise((r) => setTimeout(r, 5));
    ab.closeChannel(ch.channelId, 406, 'PRECONDITION_FAILED - test');
    expect(await p).toBeInstanceOf(RpcReplyLost);
    await client.close();
    expect(ch.isOpen).toBe(true); // a channel the client did not open stays open
    expect(ab.sent('basic.cancel').map((m) => m.args.consumerTag)).toContain(client.consumerTag);
  });
});
