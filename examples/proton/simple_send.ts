// Port of Qpid Proton's python/examples/simple_send.py: sends numbered messages whose bodies are
// maps ({"sequence": n}, sent as JSON) as fast as the sender's credit allows, counts the broker's
// confirmations (onAccepted) and closes once all are confirmed.
// Run: node build/examples/proton/simple_send.js [-a amqp://host:5672/queue] [-m 100]
//
// The Python original resets its count to the confirmed ones on_disconnected and resends the
// rest; amqpts resends messages whose confirmation a lost connection left open by itself (at
// least once), so this port does not, and the receiver drops duplicates by message id.
import { parseArgs } from 'node:util';
import { Container, type Event, Message, MessagingHandler } from 'amqpts';

const base = (process.env['RABBITMQ_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672/').replace(/\/$/, '');
const { values } = parseArgs({
  options: {
    address: { type: 'string', short: 'a', default: `${base}/examples` },
    messages: { type: 'string', short: 'm', default: '100' },
  },
});

class Send extends MessagingHandler {
  private sent = 0;
  private confirmed = 0;

  constructor(
    private readonly url: string,
    private readonly total: number,
  ) {
    super();
  }

  onStart(event: Event): void {
    event.container.createSender(this.url);
  }

  onSendable(event: Event): void {
    while (event.sender.credit > 0 && this.sent < this.total) {
      const msg = new Message({ sequence: this.sent + 1 }, { messageId: String(this.sent + 1) });
      event.sender.send(msg);
      this.sent++;
    }
  }

  onAccepted(event: Event): void {
    this.confirmed++;
    if (this.confirmed === this.total) {
      console.log('all messages confirmed');
      event.connection.close();
    }
  }
}

await new Container(new Send(values.address, Number(values.messages))).run();
