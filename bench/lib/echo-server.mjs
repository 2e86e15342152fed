#!/usr/bin/env node
// The RPC scenarios' echo server, run as its own process so that a measurement's client CPU is the
// caller's alone and every client is answered by the same server: the raw limit client consuming
// the request queue without acks and answering each request, as soon as its last body byte has
// arrived, with a body of the same size to its reply-to, with its correlation id.
//
//   node bench/lib/echo-server.mjs URL QUEUE     prints "ready" once consuming; stops when stdin ends
import { encodePublish, parseHeader, RawConnection } from './raw-amqp.mjs';

const [url, queue] = process.argv.slice(2);
const c = await RawConnection.connect(url);
const ch = await c.openChannel();
const bodies = new Map(); // size -> reply body
let request = null;
let remaining = 0;
const reply = () => {
  let body = bodies.get(request.bodySize);
  if (!body) bodies.set(request.bodySize, (body = Buffer.alloc(request.bodySize, 0x61)));
  c.send(encodePublish(ch, request.replyTo, body, c.frameMax, { correlationId: request.correlationId }));
};
c.handlers.set(ch, {
  onHeader(p) {
    request = parseHeader(p);
    remaining = request.bodySize;
    if (remaining === 0) reply();
  },
  onBody(n) {
    remaining -= n;
    if (remaining === 0) reply();
  },
  onError(e) {
    process.stderr.write(`echo server: ${e.message}\n`);
    process.exit(1);
  },
});
const tag = await c.basicConsume(ch, queue, { noAck: true });
process.stdout.write('ready\n');
process.stdin.resume();
process.stdin.on('end', async () => {
  await c.basicCancel(ch, tag).catch(() => {});
  await c.close();
  process.exit(0);
});
