// amqpts, from this repository's build output (dist/; `npm run bench` builds it first).
import { readFileSync } from 'node:fs';
import { Connection, Message } from '../../dist/index.js';
import { publishBatch, windowed } from '../scenarios.mjs';

/** AMQPTS_BENCH_LEND=0 measures consuming without `recycleBodiesAfterCallback` (the default of basicConsume). */
const LEND = process.env.AMQPTS_BENCH_LEND !== '0';
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));

export default {
  name: 'amqpts',
  library: 'amqpts',
  version: pkg.version,
  usage: {
    defaults: 'frameMax 131072, TCP_NODELAY on, heartbeat as the server proposes',
    publish:
      'ch.basicPublish(new Message(body), { routingKey }) resolves once written; every k-th promise awaited (k = 1000 msgs or 4 MiB)',
    confirm: 'ch.confirmSelect({ maxUnconfirmed: window }); basicPublish resolves on the broker ack; at most `window` promises pending',
    consume: `ch.basicQos({ prefetchCount }); ch.basicConsume(q, { recycleBodiesAfterCallback: ${LEND}, callback }) (only bodies of 64 KiB and up are lent); msg.ack({ multiple: true }) every k-th, or msg.ack()`,
    rpc: 'no RPC helper: echo server on a 2nd connection (prefetch 1, publish the reply, then ack); client consumes amq.rabbitmq.reply-to with noAck',
  },

  /** @param {{ noDelay?: boolean }} opts  noDelay undefined = library default (on) */
  async open(url, opts = {}) {
    const connOpts = opts.noDelay === undefined ? {} : { noDelay: opts.noDelay };
    const conn = await Connection.connect(url, connOpts);
    conn.on('error', () => {});
    const ch = await conn.channel();
    let confirmCh = null;
    const others = [];

    return {
      frameMax: conn.frameMax,
      noDelay: opts.noDelay ?? true,

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
        const where = { routingKey: q };
        let last = null;
        for (let i = 1; i <= n; i++) {
          last = ch.basicPublish(new Message(body), where);
          if (i % k === 0) await last;
        }
        await last;
      },

      async publishConfirmed(q, body, n, window) {
        if (!confirmCh) {
          confirmCh = await conn.channel();
          await confirmCh.confirmSelect({ maxUnconfirmed: window });
        }
        const cch = confirmCh;
        const where = { routingKey: q };
        await windowed(n, window, () => cch.basicPublish(new Message(body), where));
      },

      async consume(q, n, { prefetch, ackEvery, check }) {
        const cch = await conn.channel();
        await cch.basicQos({ prefetchCount: prefetch });
        let seen = 0;
        let finish, fail;
        const finished = new Promise((res, rej) => {
          finish = res;
          fail = rej;
        });
        const tag = await cch.basicConsume(q, {
          recycleBodiesAfterCallback: LEND, // bodies of 64 KiB and up are recycled after the callback (it keeps none)
          callback: (msg) => {
            seen++;
            check?.(msg.body);
            if (ackEvery === 1) msg.ack();
            else if (seen % ackEvery === 0 || seen === n) msg.ack({ multiple: true });
            if (seen === n) finish();
          },
          onCancel: (err) => fail(err),
        });
        await finished;
        await cch.basicCancel(tag);
        await cch.close();
      },

      async rpcServe(q) {
        const sconn = await Connection.connect(url, connOpts);
        sconn.on('error', () => {});
        others.push(sconn);
        const sch = await sconn.channel();
        await sch.basicQos({ prefetchCount: 1 });
        const tag = await sch.basicConsume(q, {
          callback: (msg) => {
            const { replyTo, correlationId } = msg.properties;
            sch.basicPublish(new Message(msg.body, { correlationId }), { routingKey: replyTo }).catch(() => {});
            msg.ack();
          },
        });
        return {
          async stop() {
            await sch.basicCancel(tag);
            await sconn.close();
            others.splice(others.indexOf(sconn), 1);
          },
        };
      },

      async rpcConnect(q) {
        const rch = await conn.channel();
        const waiting = new Map();
        let next = 0;
        await rch.basicConsume('amq.rabbitmq.reply-to', {
          noAck: true,
          callback: (msg) => {
            const id = msg.properties.correlationId;
            const w = waiting.get(id);
            if (w) {
              waiting.delete(id);
              w.resolve(msg.body);
            }
          },
        });
        const where = { routingKey: q };
        return {
          call(body) {
            const correlationId = String(++next);
            return new Promise((resolve, reject) => {
              waiting.set(correlationId, { resolve, reject });
              rch.basicPublish(new Message(body, { correlationId, replyTo: 'amq.rabbitmq.reply-to' }), where).catch(reject);
            });
          },
          async stop() {
            await rch.close();
          },
        };
      },

      async close() {
        for (const c of others.splice(0)) await c.close().catch(() => {});
        await conn.close();
      },
    };
  },
};
