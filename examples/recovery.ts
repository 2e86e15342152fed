// Connection recovery: after a lost connection (socket error, missed heartbeats, a broker restart,
// `rabbitmqctl close_connection`) the connection reconnects, re-declares what it declared,
// reopens its channels with their prefetch, mode and consumers, and republishes unconfirmed
// messages. This program waits for one such loss, then shows that the consumer still works.
// Run: npm run build && npm run build:examples && node build/examples/recovery.js [seconds to wait]
// then, from another shell: rabbitmqctl close_connection <pid> test (rabbitmqctl list_connections name pid)
import { setTimeout as sleep } from 'node:timers/promises';
import { Backoff, Connection, Message } from 'amqpts';

const url = process.env['RABBITMQ_URL'] ?? 'amqp://guest:guest@localhost:5672/';
const waitSeconds = Number(process.argv[2] ?? 60);

const conn = await Connection.connect({
  urls: [url], // several brokers: tried in order on connect, then round-robin on reconnect
  reconnect: new Backoff({ initial: 100, max: 5_000 }), // the default is new Backoff(): 0, 100 ms ... 10 s
  republish: true, // the default: unconfirmed publishes are sent again after recovery
  publishBufferBytes: 16 * 1024 * 1024, // the default: publishes made while recovering wait, up to this many bytes
  clientProperties: { connection_name: process.env['CONNECTION_NAME'] ?? 'amqpts recovery example' },
});
conn.on('disconnected', (err) => console.log(`disconnected: ${err.name}, state ${conn.state}`));
conn.on('reconnecting', ({ attempt, delay }) => console.log(`reconnecting: attempt ${attempt} after ${delay} ms`));
conn.on('recoveryError', ({ entity, error }) => console.log(`could not restore ${entity.kind}: ${error.message}`));
conn.on('recoveryFailed', (err) => console.log(`recovery gave up: ${err.name}`));
conn.on('close', (err) => console.log(`closed${err ? `: ${err.name}` : ''}`));

const ch = await conn.channel();
await ch.basicQos({ prefetchCount: 10 });
await ch.confirmSelect();
const queue = `amqpts.recovery-example.${process.pid}`;
await ch.queueDeclare(queue, { autoDelete: true }); // goes with its consumer; recovery declares it again

const seen: string[] = [];
await ch.basicConsume(queue, {
  callback: (msg) => {
    seen.push(String(msg.body));
    console.log(`consumer got: ${String(msg.body)}`);
    msg.ack();
  },
});
await ch.basicPublish(new Message('before the loss'), { routingKey: queue });

const recovered = new Promise<number>((resolve) => conn.once('recovered', ({ attempts }) => resolve(attempts)));
let duringOutage: Promise<void> | undefined;
conn.once('disconnected', () => {
  // a publish made while the connection is down waits in the outage buffer and goes out after recovery
  duringOutage = ch.basicPublish(new Message('during the outage'), { routingKey: queue });
});
console.log(`state: ${conn.state}; waiting up to ${waitSeconds} s for a connection loss`);
const attempts = await Promise.race([recovered, sleep(waitSeconds * 1000, -1, { ref: false })]);
if (attempts < 0) {
  console.log('no connection loss happened');
} else {
  console.log(`recovered after ${attempts} attempt(s): state ${conn.state}, channel mode ${ch.mode}`);
  await duringOutage;
  await ch.basicPublish(new Message('after recovery'), { routingKey: queue });
  while (seen.length < 3) await conn.drainEvents({ timeout: 5000 });
}
await conn.close();
