// The limit: bench/lib/raw-amqp.mjs, a client that frames bytes and does nothing else. Every
// scenario runs it beside the libraries, so each line shows what the broker and the socket allow
// on this machine at this moment (see bench/README.md, "the raw limit client").
import { ackEncoder, encodePublish, parseHeader, RawConnection } from '../lib/raw-amqp.mjs';

/** Bytes of pre-encoded messages per write when publishing without confirms. */
const BATCH_BYTES = 256 * 1024;

/** A promise with its resolve and reject. */
function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Counts whole messages on a channel: `onMessage(bodySize)` when a message's last body byte arrived. */
function messageCounter(onMessage) {
  let remaining = 0;
  let size = 0;
  return {
    onHeader(p) {
      size = remaining = parseHeader(p).bodySize;
      if (remaining === 0) onMessage(0);
    },
    onBody(n) {
      remaining -= n;
      if (remaining === 0) onMessage(size);
    },
  };
}

export default {
  name: 'raw',
  library: 'raw limit client',
  version: 'bench/lib/raw-amqp.mjs',
  usage: {
    defaults: 'frameMax 131072, TCP_NODELAY on, heartbeat 0',
    publish:
      'one message pre-encoded, repeated into one ~256 KiB Buffer that is written again and again (waiting for drain when write() returns false)',
    confirm:
      'confirm.select; the same buffer in chunks of window/10 messages (at most ~256 KiB) while unconfirmed + chunk <= window; acks counted by tag',
    consume:
      'basic.qos + basic.consume; deliveries counted (body frames skipped, never copied); pre-encoded basic.ack frames patched with the tag, one write per socket chunk',
    rpc: 'request frames pre-encoded once, copied and patched with a fixed-width correlation id per call; replies matched by correlation id, bodies skipped',
  },

  /** noDelay is ignored: the limit client always sets TCP_NODELAY. */
  async open(url) {
    const c = await RawConnection.connect(url);
    const ch = await c.openChannel();
    let confirmCh = null;

    return {
      frameMax: c.frameMax,
      noDelay: true,

      async declare(q) {
        await c.queueDeclare(ch, q);
      },
      async remove(q) {
        await c.queueDelete(ch, q);
      },
      async depth(q) {
        return (await c.queueDeclare(ch, q, { passive: true })).messageCount;
      },

      async publish(q, body, n) {
        const one = encodePublish(ch, q, body, c.frameMax);
        const per = Math.max(1, Math.min(n, Math.floor(BATCH_BYTES / one.length)));
        const batch = Buffer.concat(Array(per).fill(one));
        for (let sent = 0; sent < n; sent += per) {
          const k = Math.min(per, n - sent);
          const drained = c.write(k === per ? batch : batch.subarray(0, k * one.length));
          if (drained) await drained;
        }
      },

      async publishConfirmed(q, body, n, window) {
        if (!confirmCh) {
          confirmCh = await c.openChannel();
          await c.confirmSelect(confirmCh);
        }
        const cch = confirmCh;
        const done = deferred();
        const one = encodePublish(cch, q, body, c.frameMax);
        const chunk = Math.max(1, Math.min(Math.floor(window / 10), Math.floor(BATCH_BYTES / one.length)));
        const chunkBuf = Buffer.concat(Array(chunk).fill(one));
        const acked = new Uint8Array(n + 1); // by delivery tag (1..n): a single ack can come out of order
        let confirmed = 0; // every tag <= confirmed is acked
        let published = 0;
        let writing = false;
        const pump = async () => {
          if (writing) return;
          writing = true;
          try {
            while (published < n && published + Math.min(chunk, n - published) - confirmed <= window) {
              const k = Math.min(chunk, n - published);
              published += k;
              const drained = c.write(k === chunk ? chunkBuf : chunkBuf.subarray(0, k * one.length));
              if (drained) await drained;
            }
          } catch (e) {
            done.reject(e);
          }
          writing = false;
        };
        c.handlers.set(cch, {
          onAck(tag, multiple) {
            if (multiple) acked.fill(1, confirmed + 1, tag + 1);
            else acked[tag] = 1;
            while (confirmed < n && acked[confirmed + 1]) confirmed++;
            if (confirmed === n) done.resolve();
            else pump();
          },
          onError: done.reject,
        });
        pump();
        await done.promise;
      },

      async consume(q, n, { prefetch, ackEvery, check }) {
        const cch = await c.openChannel();
        const done = deferred();
        const encodeAcks = ackEncoder(cch);
        const tags = new Array(1024);
        let pending = 0;
        let seen = 0;
        let tag = 0;
        const counter = messageCounter((size) => {
          seen++;
          check?.(size);
          if (ackEvery === 1 || seen % ackEvery === 0 || seen === n) {
            tags[pending++] = tag;
            if (pending === tags.length) flush();
          }
          if (seen === n) done.resolve();
        });
        const flush = () => {
          if (pending === 0) return;
          c.send(encodeAcks(tags, pending, ackEvery > 1));
          pending = 0;
        };
        c.handlers.set(cch, {
          ...counter,
          onDeliver(t) {
            tag = t;
          },
          onError: done.reject,
        });
        c.afterChunk.add(flush);
        try {
          await c.basicQos(cch, prefetch);
          const consumerTag = await c.basicConsume(cch, q, { noAck: false });
          await done.promise;
          await c.basicCancel(cch, consumerTag);
          await c.closeChannel(cch);
        } finally {
          c.afterChunk.delete(flush);
        }
      },

      async rpcConnect(q) {
        const rch = await c.openChannel();
        const waiting = new Map(); // correlation id -> deferred
        let current; // correlation id of the reply being received
        let remaining = 0;
        let size = 0;
        const finish = () => {
          const w = waiting.get(current);
          if (w) {
            waiting.delete(current);
            w.resolve(size);
          }
        };
        c.handlers.set(rch, {
          onHeader(p) {
            const h = parseHeader(p);
            current = h.correlationId;
            size = remaining = h.bodySize;
            if (remaining === 0) finish();
          },
          onBody(n) {
            remaining -= n;
            if (remaining === 0) finish();
          },
          onError(e) {
            for (const w of waiting.values()) w.reject(e);
            waiting.clear();
          },
        });
        await c.basicConsume(rch, 'amq.rabbitmq.reply-to', { noAck: true });
        const placeholder = '0'.repeat(10); // correlation ids are 10 digits, patched into a copy
        let template = null;
        let templateSize = -1;
        let idAt = 0;
        let next = 0;
        return {
          /** Resolves with the reply's body size. */
          call(body) {
            if (body.length !== templateSize) {
              template = encodePublish(rch, q, body, c.frameMax, { correlationId: placeholder, replyTo: 'amq.rabbitmq.reply-to' });
              templateSize = body.length;
              idAt = template.indexOf(`\x0a${placeholder}`, 0, 'latin1') + 1; // after the shortstr length
            }
            const id = String(++next).padStart(placeholder.length, '0');
            const request = Buffer.allocUnsafe(template.length);
            template.copy(request);
            request.write(id, idAt, 'latin1');
            const d = deferred();
            waiting.set(id, d);
            c.send(request);
            return d.promise;
          },
          async stop() {
            await c.closeChannel(rch);
          },
        };
      },

      async close() {
        await c.close();
      },
    };
  },
};
