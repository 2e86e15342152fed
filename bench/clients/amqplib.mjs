// amqplib (its promise API, `amqplib` / channel_api).
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import amqplib from 'amqplib';

const version = JSON.parse(readFileSync(new URL('../../node_modules/amqplib/package.json', import.meta.url), 'utf8')).version;

export default {
  name: 'amqplib',
  library: 'amqplib',
  version,
  usage: {
    defaults: 'frameMax 131072 (library default), Nagle on (socket option noDelay defaults to false), heartbeat as the server proposes',
    publish: 'ch.sendToQueue(q, body); when it returns false, wait for the channel\'s "drain"',
    confirm: 'conn.createConfirmChannel(); sendToQueue(q, body, {}, callback); at most `window` callbacks pending',
    consume: 'ch.prefetch(n); ch.consume(q, fn, { noAck: false }); ch.ack(msg, true) every k-th, or ch.ack(msg)',
    rpc: 'no RPC helper: by hand, consume amq.rabbitmq.reply-to with noAck, sendToQueue(q, body, { correlationId, replyTo }), replies matched by correlation id',
    nodelay: 'by hand: connect(url, { noDelay: true }) (socket options)',
  },

  /** @param {{ noDelay?: boolean }} opts  noDelay undefined = library default (off) */
  async open(url, opts = {}) {
    const socketOpts = opts.noDelay === undefined ? {} : { noDelay: opts.noDelay };
    const conn = await amqplib.connect(url, socketOpts);
    conn.on('error', () => {});
    const ch = await conn.createChannel();
    ch.on('error', () => {});
    let confirmCh = null;

    return {
      frameMax: conn.connection.frameMax,
      noDelay: opts.noDelay ?? false,

      async declare(q) {
        await ch.assertQueue(q, { durable: false, exclusive: false, autoDelete: false });
      },
      async remove(q) {
        await ch.deleteQueue(q);
      },
      async depth(q) {
        return (await ch.checkQueue(q)).messageCount;
      },

      async publish(q, body, n) {
        for (let i = 0; i < n; i++) {
          if (!ch.sendToQueue(q, body)) await once(ch, 'drain');
        }
      },

      async publishConfirmed(q, body, n, window) {
        if (!confirmCh) {
          confirmCh = await conn.createConfirmChannel();
          confirmCh.on('error', () => {});
        }
        const cch = confirmCh;
        let pending = 0;
        let failure = null;
        let wake = null;
        const onConfirm = (err) => {
          if (err) failure ??= err;
          pending--;
          if (wake) {
            const w = wake;
            wake = null;
            w();
          }
        };
        for (let i = 0; i < n; i++) {
          if (pending >= window)
            await new Promise((r) => {
              wake = r;
            });
          if (failure) throw failure;
          pending++;
          if (!cch.sendToQueue(q, body, {}, onConfirm)) await once(cch, 'drain');
        }
        while (pending > 0)
          await new Promise((r) => {
            wake = r;
          });
        if (failure) throw failure;
      },

      async consume(q, n, { prefetch, ackEvery, check }) {
        const cch = await conn.createChannel();
        await cch.prefetch(prefetch);
        let seen = 0;
        let finish, fail;
        const finished = new Promise((res, rej) => {
          finish = res;
          fail = rej;
        });
        const { consumerTag } = await cch.consume(
          q,
          (msg) => {
            if (msg === null) {
              fail(new Error('consumer cancelled by the broker'));
              return;
            }
            seen++;
            check?.(msg.content.length);
            if (ackEvery === 1) cch.ack(msg);
            else if (seen % ackEvery === 0 || seen === n) cch.ack(msg, true);
            if (seen === n) finish();
          },
          { noAck: false },
        );
        await finished;
        await cch.cancel(consumerTag);
        await cch.close();
      },

      async rpcConnect(q) {
        const rch = await conn.createChannel();
        const waiting = new Map();
        let next = 0;
        await rch.consume(
          'amq.rabbitmq.reply-to',
          (msg) => {
            const id = msg.properties.correlationId;
            const w = waiting.get(id);
            if (w) {
              waiting.delete(id);
              w(msg.content.length);
            }
          },
          { noAck: true },
        );
        return {
          call(body) {
            const correlationId = String(++next);
            return new Promise((resolve) => {
              waiting.set(correlationId, resolve);
              rch.sendToQueue(q, body, { correlationId, replyTo: 'amq.rabbitmq.reply-to' });
            });
          },
          async stop() {
            await rch.close();
          },
        };
      },

      async close() {
        await conn.close();
      },
    };
  },
};
