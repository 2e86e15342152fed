// amqpy's AbstractConsumer: subclass it, implement run(msg), declare() to start, cancel() to stop.
// cancelCallback(err) hears about a cancel from the server (here: the queue is deleted).
// Run: npm run build && npm run build:examples && node build/examples/abstract-consumer.js
import { AbstractConsumer, type AMQPError, Connection, Message, type ReceivedMessage } from 'amqpts';

await using conn = await Connection.connect(process.env['RABBITMQ_URL']);
const ch = await conn.channel();
const { queue } = await ch.queueDeclare('', { exclusive: true });

let gotThree: () => void = () => {};
const three = new Promise<void>((resolve) => {
  gotThree = resolve;
});
let serverCancel: (err: AMQPError) => void = () => {};
const cancelled = new Promise<AMQPError>((resolve) => {
  serverCancel = resolve;
});

class Printer extends AbstractConsumer {
  run(msg: ReceivedMessage): void {
    console.log(`printer got ${String(msg.body)}`);
    msg.ack();
    if (this.messageCount === 3) gotThree();
  }

  override cancelCallback(err: AMQPError): void {
    serverCancel(err); // the server cancelled the consumer, or its channel closed for good
  }
}

const printer = new Printer(ch, queue, { concurrency: 1 });
await printer.declare(); // basic.consume; printer.consumerTag is the server's tag from here on
for (let i = 1; i <= 3; i++) await ch.basicPublish(new Message(`hello ${i}`), { routingKey: queue });
await three;
await printer.cancel(); // basic.cancel
console.log(`messages: ${printer.messageCount}, active after cancel(): ${printer.active}`);

const second = new Printer(ch, queue);
await second.declare();
await ch.queueDelete(queue); // the broker cancels every consumer of the queue
const err = await cancelled;
console.log(`cancelled by the server: ${err.name}, active: ${second.active}`);
