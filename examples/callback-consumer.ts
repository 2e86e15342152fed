// A callback consumer: basicConsume with a prefetch window and a concurrency limit, async
// handlers that ack when their work is done, and the 'callbackError' event for handlers that throw.
// Run: npm run build && npm run build:examples && node build/examples/callback-consumer.js
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection, Message, type ReceivedMessage } from 'amqpts';

await using conn = await Connection.connect(process.env['RABBITMQ_URL']);
await using ch = await conn.channel(); // closed at the end of the scope, before the connection
const { queue } = await ch.queueDeclare('', { exclusive: true });
for (let i = 1; i <= 12; i++) await ch.basicPublish(new Message(`job ${i}`), { routingKey: queue });

let running = 0;
let busiest = 0;
let handled = 0;
let allDone: () => void = () => {};
const finished = new Promise<void>((resolve) => {
  allDone = resolve;
});

async function handle(msg: ReceivedMessage): Promise<void> {
  if (msg.body === 'job 7') throw new Error('job 7 is broken');
  await sleep(20); // some I/O
}

ch.on('callbackError', (err, msg) => {
  console.log(`failed: ${String(msg.body)} (${err instanceof Error ? err.message : String(err)})`);
  msg.reject({ requeue: false }); // or dead-letter it, log it, ...
  if (++handled === 12) allDone();
});

await ch.basicQos({ prefetchCount: 10 });
const tag = await ch.basicConsume(queue, {
  concurrency: 4, // at most 4 callbacks at once; deliveries start in order
  callback: async (msg) => {
    busiest = Math.max(busiest, ++running);
    try {
      await handle(msg);
      msg.ack();
      if (++handled === 12) allDone();
    } finally {
      running--;
    }
  },
});

await finished;
await ch.basicCancel(tag);
console.log(`handled ${handled} messages, at most ${busiest} at a time`);
