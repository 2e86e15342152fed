// Request/response on direct reply-to against the real broker: 10 000 calls with 64 in flight, a
// server that answers after the caller gave up (the reply is dropped and counted), a server killed
// mid-call (Timeout at the deadline, never a hang; the request goes back to the queue and to
// another server instance), unroutable requests, handler errors, a confirm-mode Channel as target.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Message, PublishReturned, RpcClient, RpcRemoteError, Timeout, rpcCall, rpcServer } from '../../lib/index.js';
import { eventually, expectCount, suite } from '../harness.js';
import { brokerUrl } from '../support/broker.js';
import { startProxy, type TcpProxy } from '../support/tcp-proxy.js';

const s = suite();

let proxy: TcpProxy;
beforeAll(async () => {
  proxy = await startProxy({ targetPort: Number(new URL(brokerUrl()).port || 5672) });
});
afterAll(async () => {
  await proxy.close();
});

async function queue(what: string): Promise<string> {
  const { ch } = await s.open();
  const q = s.queue(s.name(what));
  await ch.queueDeclare(q);
  return q;
}

async function client(): Promise<RpcClient> {
  const c = await RpcClient.open(await s.connect());
  s.defer(() => c.close());
  return c;
}

/** A handler that tells when it got a request and answers only when released. */
function hanging(answer: string): { handler: (req: Message) => Promise<string>; got: Promise<Message>; release: () => void } {
  let got: (m: Message) => void = () => undefined;
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const gotIt = new Promise<Message>((r) => {
    got = r;
  });
  s.defer(() => release());
  return {
    handler: async (req) => {
      got(req);
      await gate;
      return answer;
    },
    got: gotIt,
    release: () => release(),
  };
}

describe('rpcCall / rpcServer on RabbitMQ', () => {
  test('10 000 calls with 64 in flight over one reply consumer: every caller gets its own reply', async () => {
    const q = await queue('rpc10k');
    const server = await rpcServer(await s.connect(), q, (req) => ({ id: req.json<{ id: number }>().id }), {
      concurrency: 32,
      prefetch: 64,
    });
    s.defer(() => server.close());
    const c = await client();
    const N = 10_000;
    let next = 0;
    let maxInFlight = 0;
    const wrong: number[] = [];
    const worker = async (): Promise<void> => {
      while (next < N) {
        const id = next++;
        const reply = c.call(q, { id }, { timeout: 20_000 });
        maxInFlight = Math.max(maxInFlight, c.inFlight);
        if ((await reply).json<{ id: number }>().id !== id) wrong.push(id);
      }
    };
    await Promise.all(Array.from({ length: 64 }, worker));
    expect(wrong).toEqual([]);
    expect(maxInFlight).toBe(64);
    expect(c.stats).toEqual({ calls: N, replies: N, timeouts: 0, lateReplies: 0, unknownReplies: 0 });
    expect(server.stats).toMatchObject({ requests: N, replies: N, failures: 0, errors: 0 });
  }, 60_000);

  test('a server that answers after the deadline: Timeout, then its reply is dropped and counted, never given to the next call', async () => {
    const q = await queue('late');
    const server = await rpcServer(await s.connect(), q, async (req) => {
      const body = req.json<{ id: number; delay: number }>();
      await sleep(body.delay);
      return { id: body.id };
    });
    s.defer(() => server.close());
    const c = await client();
    await expect(c.call(q, { id: 1, delay: 300 }, { timeout: 100 })).rejects.toBeInstanceOf(Timeout);
    const next = await c.call(q, { id: 2, delay: 0 }, { timeout: 5000 }); // answered after the late reply to 1
    expect(next.json()).toEqual({ id: 2 });
    await eventually(() => c.stats.lateReplies === 1, { what: 'the late reply to be counted' });
    expect([c.droppedReplies, c.stats.replies, c.stats.timeouts]).toEqual([1, 1, 1]);
  });

  test('a server killed mid-call: the caller gets Timeout at its deadline and the request is back in the queue', async () => {
    const q = await queue('killed');
    const h = hanging('never sent');
    await rpcServer(await s.connect(proxy.url, { reconnect: false }), q, h.handler);
    const c = await client();
    const call = c.call(q, 'work', { timeout: 1000, expire: false }).catch((e: unknown) => e);
    await h.got;
    proxy.cutAll(); // the server's connection dies without a word; direct reply-to cannot tell the caller
    expect(await call).toBeInstanceOf(Timeout);
    const { ch } = await s.open();
    await expectCount(ch, q, 1); // unacked when the server died: requeued
  });

  test('a server killed mid-call while another instance serves the queue: the request goes to it and the caller gets its reply', async () => {
    const q = await queue('failover');
    const a = hanging('from A');
    await rpcServer(await s.connect(proxy.url, { reconnect: false }), q, a.handler);
    const c = await client();
    const call = c.call(q, 'work', { timeout: 10_000 });
    await a.got;
    const seenByB: Message[] = [];
    const b = await rpcServer(await s.connect(), q, (req) => {
      seenByB.push(req);
      return 'from B';
    });
    s.defer(() => b.close());
    proxy.cutAll();
    expect(String((await call).body)).toBe('from B');
    expect(seenByB.map((m) => m.deliveryInfo?.redelivered)).toEqual([true]);
  });

  test('an unroutable request fails at once with PublishReturned; a failing handler with RpcRemoteError', async () => {
    const conn = await s.connect();
    await expect(rpcCall(conn, s.name('nobody-home'), 'x', { timeout: 10_000 })).rejects.toBeInstanceOf(PublishReturned);
    const q = await queue('failing');
    const server = await rpcServer(await s.connect(), q, () => {
      throw new Error('cannot do that');
    });
    s.defer(() => server.close());
    const err = (await rpcCall(conn, q, 'x', { timeout: 5000 }).catch((e: unknown) => e)) as RpcRemoteError;
    expect(err).toBeInstanceOf(RpcRemoteError);
    expect(err.message).toMatch(/cannot do that/);
  });

  test('on a confirm-mode Channel: calls work and an unroutable one is returned', async () => {
    const q = await queue('confirm');
    const server = await rpcServer(await s.connect(), q, (req) => `re:${String(req.body)}`);
    s.defer(() => server.close());
    const { ch } = await s.open();
    await ch.confirmSelect();
    const replies = await Promise.all(['a', 'b', 'c'].map((x) => rpcCall(ch, q, x, { timeout: 5000 })));
    expect(replies.map((r) => String(r.body))).toEqual(['re:a', 're:b', 're:c']);
    await expect(rpcCall(ch, s.name('nobody'), 'x', { timeout: 5000 })).rejects.toBeInstanceOf(PublishReturned);
  });
});
