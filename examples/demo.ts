// The amqpts demo, end to end: declare, publish, get, confirm, consume three ways, clean up.
// Run with `npm run demo`, which makes a broker reachable first, builds the package and this file.
// Uses RABBITMQ_URL when set, else amqp://guest:guest@127.0.0.1:5672/.
import { AbstractConsumer, Connection, Message, type ReceivedMessage } from 'amqpts';

const url = process.env['RABBITMQ_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672/';
const conn = await Connection.connect(url, { clientProperties: { connection_name: 'amqpts demo' } });
const { product, version } = conn.serverProperties;
console.log(`connected to ${String(product)} ${String(version)} (frame_max ${conn.frameMax}, heartbeat ${conn.heartbeat} s)`);
const ch = await conn.channel();

await ch.exchangeDeclare('test.exchange', 'direct');
await ch.queueDeclare('test.q');
await ch.queueBind('test.q', { exchange: 'test.exchange', routingKey: 'test.q' });
await ch.queuePurge('test.q'); // in case an earlier run left messages behind

// publish + get
await ch.basicPublish(new Message('hello world 1', { contentType: 'text/plain', applicationHeaders: { n: 1 } }), {
  exchange: 'test.exchange',
  routingKey: 'test.q',
});
const msg = await ch.basicGet('test.q');
console.log(`basicGet -> ${JSON.stringify(msg?.body)} headers=${JSON.stringify(msg?.applicationHeaders)}`);
msg?.ack();

// confirms: basicPublish resolves on the broker's ack
await ch.confirmSelect();
for (let i = 2; i <= 4; i++) {
  await ch.basicPublish(new Message(`hello world ${i}`), { exchange: 'test.exchange', routingKey: 'test.q' });
}
console.log('published 3 confirmed messages');

// consume with an AbstractConsumer (amqpy style) and the drainEvents worker loop
class Printer extends AbstractConsumer {
  run(m: ReceivedMessage): void {
    console.log(`consumer got ${JSON.stringify(m.body)}`);
    m.ack();
  }
}
const consumer = new Printer(ch, 'test.q');
await consumer.declare();
while (consumer.messageCount < 3) await conn.drainEvents({ timeout: 5000 });
await consumer.cancel();

// async iteration
await ch.basicPublish(new Message('hello world 5'), { exchange: 'test.exchange', routingKey: 'test.q' });
for await (const m of ch.consume('test.q', { prefetch: 10 })) {
  console.log(`for await got ${JSON.stringify(m.body)}`);
  m.ack();
  break; // leaving the loop cancels the consumer
}

await ch.queueDelete('test.q');
await ch.exchangeDelete('test.exchange');
await conn.close();
console.log('done');
