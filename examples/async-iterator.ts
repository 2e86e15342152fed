// Consuming with `for await`: ch.consume() starts a consumer on the first iteration; leaving the
// loop cancels it (and requeues what was delivered but not yet read); a server-side cancel ends
// the loop with ConsumerCancelled.
// Run: npm run build && npm run build:examples && node build/examples/async-iterator.js
import { Connection, ConsumerCancelled, Message } from 'amqpts';

await using conn = await Connection.connect(process.env['RABBITMQ_URL']);
const ch = await conn.channel();
const { queue } = await ch.queueDeclare('', { exclusive: true });
for (let i = 1; i <= 5; i++) await ch.basicPublish(new Message({ order: i }), { routingKey: queue });

for await (const msg of ch.consume(queue, { prefetch: 10 })) {
  const { order } = msg.json<{ order: number }>();
  console.log(`order ${order}`);
  msg.ack();
  if (order === 3) break; // cancels the consumer; orders 4 and 5 go back to the queue
}
const next = await ch.basicGet(queue);
if (next !== null) {
  console.log(`back in the queue: order ${next.json<{ order: number }>().order}, redelivered: ${next.deliveryInfo.redelivered}`);
  next.nack(); // requeue it again (requeue defaults to true)
}

// A second loop, ended by the server: another channel deletes the queue meanwhile.
const admin = await conn.channel();
try {
  for await (const msg of ch.consume(queue)) {
    msg.ack();
    if (msg.json<{ order: number }>().order === 5) await admin.queueDelete(queue);
  }
} catch (err) {
  if (!(err instanceof ConsumerCancelled)) throw err;
  console.log('the server cancelled the consumer: the loop ended with ConsumerCancelled');
}
