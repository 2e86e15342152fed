// The quick start of the README: await calls to declare, bind, publish, get and ack.
// Run: npm run build && npm run build:examples && node build/examples/quick-start.js
import { Connection, Message } from 'amqpts';

// RABBITMQ_URL, or amqp://guest:guest@localhost:5672/ when it is not set
await using conn = await Connection.connect(process.env['RABBITMQ_URL']);
const ch = await conn.channel();

await ch.exchangeDeclare('quick-start', 'direct', { autoDelete: true });
const { queue } = await ch.queueDeclare('', { exclusive: true }); // server-named, deleted with the connection
await ch.queueBind(queue, { exchange: 'quick-start', routingKey: 'greetings' });

await ch.basicPublish(new Message('hello world', { contentType: 'text/plain' }), { exchange: 'quick-start', routingKey: 'greetings' });

const msg = await ch.basicGet(queue); // ReceivedMessage | null
if (msg !== null) {
  console.log(`got ${String(msg.body)} (delivery tag ${msg.deliveryInfo.deliveryTag})`);
  msg.ack();
}
// leaving the scope closes the connection (`await using`); `await conn.close()` does the same
