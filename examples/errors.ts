// Errors and channel reopening: typed errors for every reply code, a channel that reopens itself
// after a channel error (keeping its prefetch, mode and consumers), acks refused locally for
// deliveries of the channel before it reopened, passive checks that close nothing, bad input
// refused before anything is sent, timeouts, and passwords kept out of messages and inspect().
// Run: npm run build && npm run build:examples && node build/examples/errors.js
import { inspect } from 'node:util';
import {
  ArgumentError,
  ChannelError,
  Connection,
  ConnectionClosed,
  Field,
  FrameSyntaxError,
  Message,
  NotFound,
  StaleDelivery,
  Timeout,
  UnencodableValue,
} from 'amqpts';

const conn = await Connection.connect(process.env['RABBITMQ_URL']);
const ch = await conn.channel();
ch.on('channelError', (err) => console.log(`channel ${ch.channelId} closed by the server: ${err.replyCode}, reopening`));
ch.on('reopen', () => console.log(`channel ${ch.channelId} reopened, open: ${ch.isOpen}`));

// A server channel error rejects the call that caused it with its typed error...
await ch.basicQos({ prefetchCount: 5 });
const { queue } = await ch.queueDeclare('', { exclusive: true });
await ch.basicPublish(new Message('unacked'), { routingKey: queue });
const msg = await ch.basicGet(queue);
try {
  await ch.queueDeclare('no-such-queue', { passive: true });
} catch (err) {
  if (!(err instanceof NotFound)) throw err;
  console.log(`${err.name}: replyCode ${err.replyCode}, method ${err.methodName}, a ChannelError: ${err instanceof ChannelError}`);
}
// ...and the channel reopens: the next call works (prefetch, mode and consumers are restored).
console.log(`next call after the error: ${(await ch.queueDeclare(queue, { passive: true })).queue === queue ? 'ok' : 'failed'}`);

// The message got before the reopen belongs to the old channel: its ack is refused locally
// (the broker has already requeued it).
try {
  msg?.ack();
} catch (err) {
  if (!(err instanceof StaleDelivery)) throw err;
  console.log(`${err.name}: the delivery belongs to the channel before it reopened`);
}

// Existence checks that close no channel: a Result, Err(NotFound) when missing.
const check = await conn.checkQueue('no-such-queue');
if (check.isErr()) console.log(`checkQueue: ${check.error.name}`);
const found = await conn.checkQueue(queue);
if (found.isOk()) console.log(`checkQueue: ${found.value.messageCount} message(s) ready`);

// Bad input is refused before anything goes on the wire.
try {
  await ch.queueDeclare('q'.repeat(256));
} catch (err) {
  if (!(err instanceof ArgumentError)) throw err;
  console.log(`${err.name}: refused before sending`);
}
try {
  new Message('x', { applicationHeaders: { level: Field.int8(300) } });
} catch (err) {
  if (!(err instanceof UnencodableValue)) throw err;
  // amqpy code catches FrameSyntaxError for this: it works too
  console.log(`${err.name}: an ArgumentError ${err instanceof ArgumentError}, a FrameSyntaxError ${err instanceof FrameSyntaxError}`);
}

// Every call that waits for the broker takes a timeout (ms) and an AbortSignal.
const controller = new AbortController();
controller.abort(new Error('shutting down'));
try {
  await ch.basicGet(queue, { signal: controller.signal, timeout: 5_000 });
} catch (err) {
  if (!(err instanceof Timeout)) throw err;
  console.log(`${err.name}: ${err.message}`);
}

// Passwords stay out of error messages and inspect().
try {
  await Connection.connect('amqp://app:S3cret@localhost:99999/');
} catch (err) {
  if (!(err instanceof ArgumentError)) throw err;
  console.log(err.message);
}
console.log(inspect(conn));

// After close(), calls reject with ConnectionClosed.
await conn.close();
try {
  await conn.channel();
} catch (err) {
  if (!(err instanceof ConnectionClosed)) throw err;
  console.log(`${err.name}: ${err.message}`);
}
