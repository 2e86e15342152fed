// Port of Qpid Proton's python/examples/helloworld.py: one connection, a receiver and a sender on
// the same queue; the sender sends "Hello World!" once it has credit, the receiver prints it and
// closes the connection, and run() returns. The queue must exist (an address names what exists).
// Run: node build/examples/proton/helloworld.js [-a queue]   (RABBITMQ_URL picks the broker)
import { parseArgs } from 'node:util';
import { Container, type Event, Message, MessagingHandler } from 'amqpts';

const { values } = parseArgs({ options: { address: { type: 'string', short: 'a', default: 'examples' } } });
const server = process.env['RABBITMQ_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672/';

class HelloWorld extends MessagingHandler {
  constructor(
    private readonly server: string,
    private readonly address: string,
  ) {
    super();
  }

  onStart(event: Event): void {
    const conn = event.container.connect(this.server);
    event.container.createReceiver(conn, this.address);
    event.container.createSender(conn, this.address);
  }

  onSendable(event: Event): void {
    event.sender.send(new Message('Hello World!'));
    event.sender.close();
  }

  onMessage(event: Event): void {
    console.log(event.message.body);
    event.connection.close();
  }

  // not in the Python original, which would hang: say why and stop
  onLinkError(event: Event): void {
    console.error(`link error: ${event.error?.message ?? 'unknown'}`);
    process.exitCode = 1;
    event.connection.close();
  }
}

await new Container(new HelloWorld(server, values.address)).run();
