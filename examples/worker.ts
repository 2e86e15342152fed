// amqpy's worker loop: consumers run their callbacks as deliveries arrive, and the program waits
// with conn.drainEvents() (one event at a time) or conn.loop() (until the connection closes).
// Run: npm run build && npm run build:examples && node build/examples/worker.js
import { AbstractConsumer, Connection, Message, type ReceivedMessage, Timeout } from 'amqpts';

const conn = await Connection.connect(process.env['RABBITMQ_URL']);
const ch = await conn.channel();
const { queue } = await ch.queueDeclare('', { exclusive: true });

class Worker extends AbstractConsumer {
  run(msg: ReceivedMessage): void {
    console.log(`worker got ${String(msg.body)}`);
    msg.ack();
    if (msg.body === 'stop') void conn.close(); // ends conn.loop() below
  }
}
const worker = new Worker(ch, queue);
await worker.declare();

// drainEvents: resolves once an event (a delivery, return, cancel or confirm) was dispatched
for (let i = 1; i <= 3; i++) await ch.basicPublish(new Message(`task ${i}`), { routingKey: queue });
while (worker.messageCount < 3) await conn.drainEvents({ timeout: 5000 });

// a Timeout when nothing arrives in time
try {
  await conn.drainEvents({ timeout: 100 });
} catch (err) {
  if (!(err instanceof Timeout)) throw err;
  console.log('no event within 100 ms');
}

// loop: drains until the connection closes (cleanly: it resolves) or fails (it rejects)
await ch.basicPublish(new Message('task 4'), { routingKey: queue });
await ch.basicPublish(new Message('stop'), { routingKey: queue });
await conn.loop({ timeout: 10_000 });
console.log(`loop ended, connection ${conn.state}`);
