// The three clients as the scale benchmark drives them: connect (heartbeat from the URL's
// `?heartbeat=` query, which all three read), open a channel, one 1 MiB round trip through a
// server-named exclusive queue, liveness, close. Each uses its library's ordinary API and defaults
// otherwise (frame_max: amqpts and amqplib 131072, cloudamqp 8192). Loaded only in the child
// process of the client it names, so one library's import never weighs on another's figures.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const versionOf = (path) => JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')).version;

/** Waits for one delivery; `got(n)` settles it with the body length. */
function oneDelivery(expected) {
  let got;
  const done = new Promise((resolve, reject) => {
    got = (n) => (n === expected ? resolve() : reject(new Error(`got ${n} bytes, expected ${expected}`)));
  });
  return { done, got };
}

const amqpts = {
  library: 'amqpts',
  heartbeat: 'URL ?heartbeat=10 (or the heartbeat option, in seconds)',
  async load() {
    const { Connection, Message } = await import('../../dist/index.js');
    const version = versionOf('../../package.json');
    return {
      version,
      async connect(url) {
        const conn = await Connection.connect(url);
        conn.on('error', () => {});
        return conn;
      },
      channel: (conn) => conn.channel(),
      async burst(_conn, ch, body) {
        const r = await ch.queueDeclare('', { exclusive: true });
        const queue = r.queue;
        const { done, got } = oneDelivery(body.length);
        const tag = await ch.basicConsume(queue, {
          callback: (msg) => {
            msg.ack();
            got(typeof msg.body === 'string' ? Buffer.byteLength(msg.body) : msg.body.length);
          },
        });
        await ch.basicPublish(new Message(body), { routingKey: queue });
        await done;
        await ch.basicCancel(tag);
        await ch.queueDelete(queue);
      },
      alive: (conn) => conn.state === 'open',
      close: (conn) => conn.close(),
    };
  },
};

const amqplib = {
  library: 'amqplib',
  heartbeat: 'URL ?heartbeat=10 (or the heartbeat field of the connect object)',
  async load() {
    const lib = require('amqplib');
    const version = versionOf('../../node_modules/amqplib/package.json');
    return {
      version,
      async connect(url) {
        const conn = await lib.connect(url);
        conn.closed = false;
        conn.on('error', () => {});
        conn.on('close', () => {
          conn.closed = true;
        });
        return conn;
      },
      async channel(conn) {
        const ch = await conn.createChannel();
        ch.on('error', () => {});
        return ch;
      },
      async burst(_conn, ch, body) {
        const { queue } = await ch.assertQueue('', { exclusive: true });
        const { done, got } = oneDelivery(body.length);
        const { consumerTag } = await ch.consume(
          queue,
          (msg) => {
            ch.ack(msg);
            got(msg.content.length);
          },
          { noAck: false },
        );
        ch.sendToQueue(queue, body);
        await done;
        await ch.cancel(consumerTag);
        await ch.deleteQueue(queue);
      },
      alive: (conn) => !conn.closed,
      close: (conn) => conn.close(),
    };
  },
};

const cloudamqp = {
  library: '@cloudamqp/amqp-client',
  heartbeat: 'URL ?heartbeat=10 (its only way for AMQPClient; the default is 0, off)',
  async load() {
    const { AMQPClient } = await import('@cloudamqp/amqp-client');
    const version = versionOf('../../node_modules/@cloudamqp/amqp-client/package.json');
    return {
      version,
      async connect(url) {
        const client = new AMQPClient(url);
        return client.connect();
      },
      channel: (conn) => conn.channel(),
      async burst(_conn, ch, body) {
        const q = await ch.queueDeclare('', { exclusive: true });
        const { done, got } = oneDelivery(body.length);
        const consumer = await ch.basicConsume(q.name, { noAck: false }, (msg) => {
          msg.ack();
          got(msg.bodySize);
        });
        await ch.basicPublish('', q.name, body);
        await done;
        await consumer.cancel();
        await ch.queueDelete(q.name);
      },
      alive: (conn) => !conn.closed,
      close: (conn) => conn.close(),
    };
  },
};

/** The adapters by client name, in the order the benchmark runs them. */
export const ADAPTERS = { amqpts, amqplib, cloudamqp };
