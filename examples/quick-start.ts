// The README's quick start as a program: declare, publish, get, ack.
// Run: npm run build && npm run build:examples && node build/examples/quick-start.js
import { Connection, Message } from 'amqpts';

const url = process.env['RABBITMQ_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672/';
const conn = await Connection.connect(url);
try {
  const ch = await conn.channel();
  const { queue } = await ch.queueDeclare('', { exclusive: true });
  await ch.basicPublish(new Message('hello world', { contentType: 'text/plain' }), { routingKey: queue });
  const msg = await ch.basicGet(queue);
  if (msg === null) throw new Error('the message did not arrive');
  console.log(`got ${String(msg.body)} (delivery tag ${msg.deliveryInfo?.deliveryTag ?? '?'})`);
  msg.ack();
} finally {
  await conn.close();
}
