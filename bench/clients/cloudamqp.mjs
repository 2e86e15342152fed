// @cloudamqp/amqp-client: the low-level AMQPClient/AMQPChannel API for publishing and consuming,
// and AMQPSession's rpcClient() (direct reply-to) for RPC, its own RPC API.
import { readFileSync } from 'node:fs';
import { AMQPClient, AMQPSession } from '@cloudamqp/amqp-client';
import { publishBatch, windowed } from '../scenarios.mjs';

const version = JSON.parse(
  readFileSync(new URL('../../node_modules/@cloudamqp/amqp-client/package.json', import.meta.url), 'utf8'),
).version;

export default {
  name: 'cloudamqp',
  library: '@cloudamqp/amqp-client',
  version,
  usage: {
    defaults: 'frameMax 8192 (library default), Nagle on (the library has no option), heartbeat 0',
    publish: 'ch.basicPublish("", q, body) resolves on the socket write callback; every k-th promise awaited (k = 1000 msgs or 4 MiB)',
    confirm: 'ch.confirmSelect(); basicPublish resolves on the broker ack; at most `window` promises pending',
    consume: 'ch.basicQos(n); ch.basicConsume(q, { noAck: false }, fn); msg.ack(true) every k-th, or msg.ack()',
    rpc: 'AMQPSession.rpcClient().call(q, body) on a 2nd connection: its own RPC client on direct reply-to',
    nodelay: "by hand: socket.setNoDelay(true) on the library's socket after connecting",
  },

  /** @param {{ noDelay?: boolean }} opts  noDelay undefined = library default (off, no option) */
  async open(url, opts = {}) {
    const byHand = (socket) => {
      if (opts.noDelay !== undefined) socket?.setNoDelay(opts.noDelay);
    };
    const client = new AMQPClient(url);
    const conn = await client.connect();
    byHand(client.socket);
    const ch = await conn.channel();
    let confirmCh = null;
    const sessions = [];

    return {
      frameMax: conn.frameMax,
      noDelay: opts.noDelay ?? false,

      async declare(q) {
        await ch.queueDeclare(q, { durable: false, exclusive: false, autoDelete: false });
      },
      async remove(q) {
        await ch.queueDelete(q);
      },
      async depth(q) {
        return (await ch.queueDeclare(q, { passive: true })).messageCount;
      },

      async publish(q, body, n) {
        const k = publishBatch(body.length);
        let last = null;
        for (let i = 1; i <= n; i++) {
          last = ch.basicPublish('', q, body);
          if (i % k === 0) await last;
        }
        await last;
      },

      async publishConfirmed(q, body, n, window) {
        if (!confirmCh) {
          confirmCh = await conn.channel();
          await confirmCh.confirmSelect();
        }
        const cch = confirmCh;
        await windowed(n, window, () => cch.basicPublish('', q, body));
      },

      async consume(q, n, { prefetch, ackEvery, check }) {
        const cch = await conn.channel();
        await cch.basicQos(prefetch);
        let seen = 0;
        let finish;
        const finished = new Promise((res) => {
          finish = res;
        });
        const consumer = await cch.basicConsume(q, { noAck: false }, (msg) => {
          seen++;
          check?.(msg.body.length);
          if (ackEvery === 1) msg.ack();
          else if (seen % ackEvery === 0 || seen === n) msg.ack(true);
          if (seen === n) finish();
        });
        await Promise.race([finished, consumer.wait()]);
        if (seen !== n) throw new Error(`consumer ended after ${seen} of ${n} messages`);
        await consumer.cancel();
        await cch.close();
      },

      async rpcConnect(q) {
        const s = await AMQPSession.connect(url);
        sessions.push(s);
        byHand(s.client?.socket);
        const rpc = await s.rpcClient();
        return {
          async call(body) {
            return (await rpc.call(q, body)).body.length;
          },
          async stop() {
            await rpc.close();
          },
        };
      },

      async close() {
        for (const s of sessions.splice(0)) await s.stop().catch(() => {});
        await conn.close();
      },
    };
  },
};
