// amqpts, from this repository's build output (dist/; `npm run bench` builds it first).
import diagnosticsChannel from 'node:diagnostics_channel';
import { readFileSync } from 'node:fs';
import { Connection, DIAGNOSTICS_CHANNELS, Message, RpcClient } from '../../dist/index.js';
import { publishBatch, windowed } from '../scenarios.mjs';

/** AMQPTS_BENCH_LEND=1 measures consuming with `recycleBodiesAfterCallback` (off by default, as in basicConsume). */
const LEND = process.env.AMQPTS_BENCH_LEND === '1';

/**
 * AMQPTS_BENCH_DIAG=1 subscribes a no-op to every diagnostics channel, so every payload is built
 * and published: compare with a run without it (nobody subscribed, the default) to see what the
 * channels cost.
 */
const DIAG = process.env.AMQPTS_BENCH_DIAG === '1';
if (DIAG) for (const name of Object.values(DIAGNOSTICS_CHANNELS)) diagnosticsChannel.subscribe(name, () => {});
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
    rpc: 'RpcClient.open(conn).call(q, body, { timeout: 30000 }): its own RPC client on direct reply-to (correlation ids, mandatory, per-call expiration)',
  },

  /** @param {{ noDelay?: boolean }} opts  noDelay undefined = library default (on) */
  async open(url, opts = {}) {
    const connOpts = opts.noDelay === undefined ? {} : { noDelay: opts.noDelay };
    const conn = await Connection.connect(url, connOpts);
    conn.on('error', () => {});
    const ch = await conn.channel();
    let confirmCh = null;

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
          recycleBodiesAfterCallback: LEND, // when set, bodies of 64 KiB and up are recycled after the callback (it keeps none)
          callback: (msg) => {
            seen++;
            check?.(msg.body.length);
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

      async rpcConnect(q) {
        const rpc = await RpcClient.open(conn);
        return {
          async call(body) {
            return (await rpc.call(q, body, { timeout: 30_000 })).body.length;
          },
          async stop() {
            await rpc.close();
          },
        };
      },

      async close() {
        await conn.close();
      },
    };
  },
};
