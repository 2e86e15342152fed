// Replicated queue types: a quorum queue with a delivery limit and a dead-letter exchange, and a
// stream read from its first offset. On a cluster, give every node's URL; one broker works too.
// Run: npm run build && npm run build:examples && node build/examples/quorum-and-streams.js
import { Connection, Message } from 'amqpts';

const urls = (process.env['RABBITMQ_URLS'] ?? process.env['RABBITMQ_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672/').split(',');
const suffix = process.pid;
const conn = await Connection.connect({
  urls, // every node: a lost connection moves to the next
  confirmTimeout: 15_000, // reconnect when no publish is acked for this long (see the README)
});
conn.on('recovered', ({ url, downtimeMs }) => console.log(`back on ${url} after ${downtimeMs} ms`));
const ch = await conn.channel();
try {
  await ch.confirmSelect();
  await ch.exchangeDeclare(`orders.dlx.${suffix}`, 'fanout', { autoDelete: true });
  await ch.queueDeclare(`orders.dead.${suffix}`, { exclusive: true });
  await ch.queueBind(`orders.dead.${suffix}`, { exchange: `orders.dlx.${suffix}` });
  await ch.queueDeclare(`orders.${suffix}`, {
    type: 'quorum',
    durable: true,
    deliveryLimit: 1,
    deadLetterExchange: `orders.dlx.${suffix}`,
  });
  await ch.basicPublish(new Message({ id: 42 }, { deliveryMode: 2 }), { routingKey: `orders.${suffix}` }); // resolves on the broker's ack

  // a poison message: rejected (requeued) until the delivery limit sends it to the dead-letter exchange
  for (let attempt = 0; attempt < 3; attempt++) {
    const msg = await ch.basicGet(`orders.${suffix}`);
    if (msg === null) break;
    console.log(`order ${msg.json<{ id: number }>().id}, delivery count ${msg.deliveryCount ?? 0}`);
    msg.reject({ requeue: true });
  }
  const dead = await ch.basicGet(`orders.dead.${suffix}`, { noAck: true });
  console.log(`dead-lettered: ${dead === null ? 'nothing' : String(dead.json<{ id: number }>().id)}`);
  await ch.queueDelete(`orders.${suffix}`);

  // a stream: every consumer reads the messages, from the offset it asks for
  await ch.queueDeclare(`events.${suffix}`, { type: 'stream', durable: true, maxAge: '1h' });
  for (let i = 0; i < 3; i++) await ch.basicPublish(new Message(`event ${i}`), { routingKey: `events.${suffix}` });
  for await (const msg of ch.consume(`events.${suffix}`, { prefetch: 10, offset: 'first' })) {
    console.log(`${String(msg.body)} at offset ${msg.streamOffset ?? '?'}`);
    msg.ack();
    if (msg.streamOffset === 2) break;
  }
  await ch.queueDelete(`events.${suffix}`);
} finally {
  await conn.close();
}
