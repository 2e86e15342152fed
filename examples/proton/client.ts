// Port of Qpid Proton's python/examples/client.py: sends each request to the server's address
// with reply-to set to a dynamic receiver's address (a server-named exclusive queue), prints each
// response as `request => response`, and closes when all are answered.
// Run: node build/examples/proton/client.js [-a amqp://host:5672/queue] [request ...]
import { parseArgs } from 'node:util';
import { Container, type Event, Message, MessagingHandler, type Receiver, type Sender } from 'amqpts';

const base = (process.env['RABBITMQ_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672/').replace(/\/$/, '');
const { values, positionals } = parseArgs({
  options: { address: { type: 'string', short: 'a', default: `${base}/examples` } },
  allowPositionals: true,
});

const REQUESTS = [
  'Twas brillig, and the slithy toves',
  'Did gire and gymble in the wabe.',
  'All mimsy were the borogroves,',
  'And the mome raths outgrabe.',
];

class Client extends MessagingHandler {
  private sender: Sender | undefined;
  private receiver: Receiver | undefined;
  private readonly outstanding = new Map<string, string>();
  private msgs = 0;

  constructor(
    private readonly url: string,
    private readonly requests: string[],
  ) {
    super({ autoAccept: false });
  }

  onStart(event: Event): void {
    this.sender = event.container.createSender(this.url);
    this.receiver = event.container.createReceiver(this.sender.connection, null, { dynamic: true });
  }

  private nextRequest(): void {
    const replyTo = this.receiver?.remoteSource.address;
    const request = this.requests.shift();
    if (replyTo === undefined || request === undefined || !this.sender) return;
    const correlationId = String(this.msgs++);
    this.outstanding.set(correlationId, request);
    this.sender.send(new Message(request, { replyTo, correlationId }));
  }

  onLinkOpened(event: Event): void {
    if (event.link === this.receiver) this.nextRequest();
  }

  onMessage(event: Event): void {
    if (this.requests.length > 0) this.nextRequest();
    const message = event.message;
    const correlationId = message.properties.correlationId ?? '';
    const request = this.outstanding.get(correlationId);
    this.outstanding.delete(correlationId);
    if (request !== undefined) {
      console.log(`${request} => ${String(message.body)}`);
      this.accept(event.delivery);
    } else {
      console.log(`Unexpected response - unknown correlation_id(${correlationId}): ${String(message.body)}`);
      this.reject(event.delivery);
    }
    if (this.outstanding.size === 0) event.connection.close();
  }
}

await new Container(new Client(values.address, positionals.length > 0 ? positionals : REQUESTS)).run();
