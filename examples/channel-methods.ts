// The rest of the API the README names: exchange-to-exchange bindings, unbinding, acks by
// delivery tag, nack and reject, recover, flow, transactions, existence checks, typed header
// values, URL parsing, and the connection's and channel's read-only state.
// Run: npm run build && npm run build:examples && node build/examples/channel-methods.js
import { inspect } from 'node:util';
import { Connection, Decimal, Field, Message, parseUrl, type ReceivedMessage } from 'amqpts';

await using conn = await Connection.connect(process.env['RABBITMQ_URL'], {
  callTimeout: 10_000, // the default timeout of every call that waits for the broker
  readBatchDelay: 1, // the default
  noDelay: true, // the default
  onBlocked: (reason) => console.log(`blocked: ${reason}`),
  onUnblocked: () => console.log('unblocked'),
});
console.log(`alive: ${conn.isAlive()}, blocked: ${conn.blocked ? conn.blockedReason : 'no'}, channels: ${conn.channels.size}`);
console.log(`publisher confirms: ${String(conn.serverCapabilities['publisher_confirms'])}, channelMax: ${conn.channelMax}`);

const ch = await conn.channel(undefined, { autoDecode: false }); // bodies stay Buffers on this channel
console.log(`channel ${ch.channelId}: open ${ch.isOpen}, active ${ch.active}, mode ${ch.mode}, autoDecode ${ch.autoDecode}`);

// Exchange-to-exchange bindings: events -> audit (fanout) -> a queue.
const events = `amqpts.example.events.${process.pid}`;
const audit = `amqpts.example.audit.${process.pid}`;
await ch.exchangeDeclare(events, 'topic', { autoDelete: true });
await ch.exchangeDeclare(audit, 'fanout', { autoDelete: true });
await ch.exchangeBind(audit, events, { routingKey: 'order.*' });
const { queue } = await ch.queueDeclare('', { exclusive: true });
await ch.queueBind(queue, { exchange: audit });
const check = await conn.checkExchange(audit);
console.log(`checkExchange: ${check.isOk() ? 'exists' : check.error.name}`);

// Typed header values: an int8, a uint32, a float, a signed decimal.
const headers = { level: Field.int8(-3), size: Field.uint32(4_000_000_000), ratio: Field.float(0.5), price: Field.decimal(2, -1999) };
await ch.basicPublish(new Message('order 1', { applicationHeaders: headers }), { exchange: events, routingKey: 'order.created' });
await ch.basicPublish(new Message('order 2'), { exchange: events, routingKey: 'order.created' });
await ch.basicPublish(new Message('order 3'), { exchange: events, routingKey: 'order.created' });

const first = await ch.basicGet(queue);
const price = first?.applicationHeaders?.['price'];
console.log(`body is a Buffer: ${Buffer.isBuffer(first?.body)}, price ${price instanceof Decimal ? price.toNumber() : '?'}`);
const second = await ch.basicGet(queue);
const third = await ch.basicGet(queue);
if (first === null || second === null || third === null) throw new Error('the messages did not arrive');
ch.basicReject(first, { requeue: true }); // back to the queue
ch.basicNack(second.deliveryInfo.deliveryTag, { requeue: false }); // by tag: dropped
ch.basicAck(third); // by message
const again = await ch.basicGet(queue);
const left = await ch.basicGet(queue);
console.log(
  `after reject, nack, ack: ${again?.body.toString()} (redelivered ${again?.deliveryInfo.redelivered}), then ${left ?? 'nothing'}`,
);

// basicRecover: redeliver what this channel has not acked (RabbitMQ needs requeue: true).
await ch.basicRecover({ requeue: true });
const redelivered: ReceivedMessage | null = await ch.basicGet(queue);
console.log(`after basicRecover: ${redelivered?.body.toString()}`);
ch.basicAck(0, { multiple: true }); // tag 0 with multiple: everything unacked on this channel

// flow(true) asks the broker to (keep) sending; RabbitMQ refuses flow(false) from clients.
console.log(`flow: ${await ch.flow(true)}`);

// Transactions: publishes take effect at commit, or never after a rollback.
await ch.txSelect();
await ch.basicPublish(new Message('kept'), { routingKey: queue });
await ch.txCommit();
await ch.basicPublish(new Message('dropped'), { routingKey: queue });
await ch.txRollback();
const afterTx = await ch.basicGet(queue, { noAck: true });
const empty = await ch.basicGet(queue, { noAck: true });
console.log(`mode ${ch.mode}: got ${afterTx?.body.toString()}, then ${empty === null ? 'nothing' : empty.body.toString()}`);

// Unbinding and deleting.
await ch.queueUnbind(queue, { exchange: audit });
await ch.exchangeUnbind(audit, events, { routingKey: 'order.*' });
await ch.exchangeDelete(audit);
await ch.exchangeDelete(events);
console.log(`purged ${await ch.queuePurge(queue)}, deleted with ${await ch.queueDelete(queue)} message(s)`);

// parseUrl: options from a URL; the password is masked in inspect() and JSON, not in the field.
const options = parseUrl('amqp://app:S3cret@rabbit.example:5673/prod?heartbeat=10');
console.log(`${JSON.stringify(options)} ${inspect(options).includes('S3cret') ? 'LEAKED' : 'masked in inspect'}`);
