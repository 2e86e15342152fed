// Port of Qpid Proton's python/examples/selected_recv.py: receives only the messages whose
// application property colour is 'green'. On AMQP 0.9.1 a selector is a headers-exchange binding,
// so the address names a headers exchange (default amq.headers); the receiver binds a private
// queue to it with the selector's pairs. Prints each body; stops after -m messages (0: never).
// Run: node build/examples/proton/selected_recv.js [-a amqp://host:5672/exchanges/x] [-m 0]
import { parseArgs } from 'node:util';
import { Container, type Event, formatNode, MessagingHandler, parseAddress, Selector } from 'amqpts';

const base = (process.env['RABBITMQ_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672/').replace(/\/$/, '');
const { values } = parseArgs({
  options: {
    address: { type: 'string', short: 'a', default: `${base}/exchanges/amq.headers` },
    messages: { type: 'string', short: 'm', default: '0' },
  },
});

class Recv extends MessagingHandler {
  private received = 0;

  constructor(
    private readonly url: string,
    private readonly expected: number,
  ) {
    super();
  }

  onStart(event: Event): void {
    const conn = event.container.connect(this.url);
    const node = parseAddress(this.url.includes('://') ? this.url : `amqp://${this.url}`).node;
    event.container.createReceiver(conn, node ? formatNode(node) : '/exchanges/amq.headers', { options: new Selector("colour = 'green'") });
  }

  onMessage(event: Event): void {
    console.log(String(event.message.body));
    this.received++;
    if (this.received === this.expected) {
      event.receiver.close();
      event.connection.close();
    }
  }
}

await new Container(new Recv(values.address, Number(values.messages))).run();
