// Port of Qpid Proton's python/examples/server.py: receives requests from its address and sends
// each body upper-cased to the request's reply-to address, through a sender without a target
// (Proton's anonymous relay: each message goes to its own address). Runs until SIGINT/SIGTERM.
// Run: node build/examples/proton/server.js [-a amqp://host:5672/queue]
import { parseArgs } from 'node:util';
import { Container, type ContainerConnection, type Event, formatNode, Message, MessagingHandler, parseAddress, type Sender } from 'amqpts';

const base = (process.env['RABBITMQ_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672/').replace(/\/$/, '');
const { values } = parseArgs({ options: { address: { type: 'string', short: 'a', default: `${base}/examples` } } });

class Server extends MessagingHandler {
  private conn: ContainerConnection | undefined;
  private server: Sender | undefined;

  constructor(
    private readonly url: string,
    private readonly address: string,
  ) {
    super();
  }

  onStart(event: Event): void {
    console.log('Listening on', this.url.replace(/\/\/[^@/]*@/, '//'));
    this.conn = event.container.connect(this.url);
  }

  onConnectionOpened(event: Event): void {
    if (!this.conn) return;
    if (event.connection.remoteOfferedCapabilities.includes('ANONYMOUS-RELAY')) {
      event.container.createReceiver(this.conn, this.address);
      this.server = event.container.createSender(this.conn, null);
    } else {
      console.error('Server needs a broker which supports ANONYMOUS-RELAY');
      process.exitCode = 1;
      event.connection.close();
    }
  }

  onMessage(event: Event): void {
    const request = event.message;
    console.log('Received', String(request.body));
    const reply = new Message(String(request.body).toUpperCase(), { correlationId: request.properties.correlationId ?? '' });
    reply.address = request.properties.replyTo;
    this.server?.send(reply);
  }
}

// Python: url = Url(opts.address); Server(url, url.path). connect() ignores the path.
const node = parseAddress(values.address.includes('://') ? values.address : `amqp://${values.address}`).node;
const container = new Container(new Server(values.address, node ? formatNode(node) : 'examples'));
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => container.stop());
await container.run();
