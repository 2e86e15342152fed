// Large messages: publishing writes the caller's buffer without copying it (so the buffer must
// stay unchanged until the publish resolves), consumers can read large bodies into recycled
// memory (recycleBodiesAfterCallback: the body is valid only during the callback), and
// maxMessageSize bounds what the client accepts from the server.
// Run: npm run build && npm run build:examples && node build/examples/large-messages.js
import { createHash, randomFillSync } from 'node:crypto';
import { Connection, Message } from 'amqpts';

const MiB = 1024 * 1024;
await using conn = await Connection.connect(process.env['RABBITMQ_URL'], {
  maxMessageSize: 64 * MiB, // a larger announced body is a FrameError before anything is allocated (default 128 MiB)
});
const ch = await conn.channel();
const { queue } = await ch.queueDeclare('', { exclusive: true });

// Publish: one buffer, reused for every message, refilled only after the previous publish resolved.
const body = Buffer.alloc(8 * MiB);
const sent: string[] = [];
const sentHeads: Buffer[] = [];
for (let i = 0; i < 4; i++) {
  randomFillSync(body);
  sent.push(createHash('sha256').update(body).digest('hex'));
  sentHeads.push(Buffer.from(body.subarray(0, 16)));
  await ch.basicPublish(new Message(body, { contentType: 'application/octet-stream' }), { routingKey: queue });
}
console.log(`published 4 messages of ${body.length / MiB} MiB`);

// Consume: each body lives in memory the channel reuses once the callback has returned.
const received: string[] = [];
const heads: Buffer[] = [];
const stale: Buffer[] = [];
await ch.basicQos({ prefetchCount: 2 });
await ch.basicConsume(queue, {
  recycleBodiesAfterCallback: true,
  callback: (msg) => {
    if (!Buffer.isBuffer(msg.body)) throw new Error('expected a binary body');
    received.push(createHash('sha256').update(msg.body).digest('hex')); // use it during the callback...
    heads.push(Buffer.from(msg.body.subarray(0, 16))); // ...and copy what you keep
    stale.push(msg.body); // (a mistake, kept to show it: this reads as empty once the callback is done)
    msg.ack();
  },
});
while (received.length < 4) await conn.drainEvents({ timeout: 10_000 });
console.log(`consumed 4 messages, checksums ${received.every((h, i) => h === sent[i]) ? 'match' : 'DIFFER'}`);
console.log(`copies kept after the callbacks: ${heads.every((h, i) => h.equals(sentHeads[i] ?? Buffer.alloc(0))) ? 'intact' : 'CHANGED'}`);
console.log(`bodies kept without copying: ${stale.map((b) => b.length).join(', ')} bytes (empty)`);
