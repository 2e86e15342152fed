// Port of Qpid Proton's python/examples/queue_browser.py: browses a queue with the Copy option,
// printing every message without removing it, and closes once it has caught up (onDrained). On
// AMQP 0.9.1 only a stream queue can be read without removing messages.
// Run: node build/examples/proton/queue_browser.js [-a amqp://host:5672/stream-queue]
import { parseArgs } from 'node:util';
import { Container, Copy, type Event, formatNode, MessagingHandler, parseAddress } from 'amqpts';

const base = (process.env['RABBITMQ_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672/').replace(/\/$/, '');
const { values } = parseArgs({ options: { address: { type: 'string', short: 'a', default: `${base}/examples` } } });

class Recv extends MessagingHandler {
  constructor(private readonly url: string) {
    super();
  }

  onStart(event: Event): void {
    const conn = event.container.connect(this.url);
    const node = parseAddress(this.url.includes('://') ? this.url : `amqp://${this.url}`).node;
    event.container.createReceiver(conn, node ? formatNode(node) : 'examples', { options: new Copy() });
  }

  onMessage(event: Event): void {
    const m = event.message;
    console.log(`Message(id=${m.properties.messageId ?? 'None'}, body=${JSON.stringify(m.body)})`);
  }

  // the Python original checks `receiver.queued == 0 and receiver.drained` in on_message
  onDrained(event: Event): void {
    event.connection.close();
  }

  onLinkError(event: Event): void {
    console.error(`link error: ${event.error?.message ?? 'unknown'}`);
    process.exitCode = 1;
    event.connection.close();
  }
}

await new Container(new Recv(values.address)).run();
