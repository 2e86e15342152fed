// Port of Qpid Proton's python/examples/simple_recv.py: receives messages, drops duplicates by
// message id, prints each body, and closes after the expected number (0: runs until killed).
// Run: node build/examples/proton/simple_recv.js [-a amqp://host:5672/queue] [-m 100]
import { parseArgs } from 'node:util';
import { Container, type Event, MessagingHandler } from 'amqpts';

const base = (process.env['RABBITMQ_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672/').replace(/\/$/, '');
const { values } = parseArgs({
  options: {
    address: { type: 'string', short: 'a', default: `${base}/examples` },
    messages: { type: 'string', short: 'm', default: '100' },
  },
});

class Recv extends MessagingHandler {
  private received = 0;
  private readonly seen = new Set<string>();

  constructor(
    private readonly url: string,
    private readonly expected: number,
  ) {
    super();
  }

  onStart(event: Event): void {
    event.container.createReceiver(this.url);
  }

  onMessage(event: Event): void {
    const message = event.message;
    const id = message.properties.messageId;
    if (id !== undefined && this.seen.has(id)) {
      console.log(`duplicate message ignored ${id}`);
      return;
    }
    if (id !== undefined) this.seen.add(id);
    if (this.expected === 0 || this.received < this.expected) {
      console.log(JSON.stringify(message.body));
      this.received++;
      if (this.received === this.expected) {
        event.receiver.close();
        event.connection.close();
      }
    }
  }
}

await new Container(new Recv(values.address, Number(values.messages))).run();
