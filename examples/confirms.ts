// Publisher confirms: after confirmSelect(), basicPublish resolves when the broker has taken
// responsibility for the message (basic.ack), rejects with PublishNacked on a basic.nack, and
// with PublishReturned (a NoRoute, 312) when a mandatory message could not be routed.
// Run: npm run build && npm run build:examples && node build/examples/confirms.js
import { Connection, Message, NoRoute, PublishNacked, PublishReturned } from 'amqpts';

await using conn = await Connection.connect(process.env['RABBITMQ_URL']);
const ch = await conn.channel();
const { queue } = await ch.queueDeclare('', { exclusive: true });

await ch.confirmSelect({ maxUnconfirmed: 100 }); // at most 100 in flight; further publishes wait
console.log(`mode: ${ch.mode}`);

// Many publishes in flight at once: each promise settles with its own confirm.
const pending: Promise<void>[] = [];
for (let i = 0; i < 1000; i++) pending.push(ch.basicPublish(new Message({ i }), { routingKey: queue }));
console.log(`in flight: ${ch.unconfirmed}`); // at most 100: the others wait for room
await Promise.all(pending);
await ch.waitForConfirms({ timeout: 5000 }); // nothing left: resolves at once
console.log(`1000 confirmed, unconfirmed now: ${ch.unconfirmed}`);

// A mandatory message no queue takes: rejected with PublishReturned, which carries the message.
try {
  await ch.basicPublish(new Message('lost'), { routingKey: 'no-such-queue', mandatory: true });
} catch (err) {
  if (!(err instanceof PublishReturned)) throw err;
  const { body, deliveryInfo } = err.returnedMessage;
  console.log(`returned: ${String(body)} (${deliveryInfo?.replyCode} ${deliveryInfo?.replyText}), a NoRoute: ${err instanceof NoRoute}`);
}

// A nack: this queue refuses messages beyond its length limit (x-overflow reject-publish).
const { queue: small } = await ch.queueDeclare('', { exclusive: true, arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' } });
await ch.basicPublish(new Message('first'), { routingKey: small });
try {
  await ch.basicPublish(new Message('second'), { routingKey: small });
} catch (err) {
  if (!(err instanceof PublishNacked)) throw err;
  console.log(`nacked: ${err.name}`);
}
