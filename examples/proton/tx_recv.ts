// Port of Qpid Proton's python/examples/tx_recv.py: receives with no prefetch, granting credit
// for one batch per transaction (receiver.flow), accepts each message within the transaction and
// commits each batch, until the expected number is committed (0: runs until killed).
// Run: node build/examples/proton/tx_recv.js [-a amqp://host:5672/queue] [-m 100] [-b 10]
import { parseArgs } from 'node:util';
import {
  Container,
  type ContainerConnection,
  type Event,
  formatNode,
  MessagingHandler,
  parseAddress,
  type Receiver,
  type Transaction,
  type TransactionHandler,
} from 'amqpts';

const base = (process.env['RABBITMQ_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672/').replace(/\/$/, '');
const { values } = parseArgs({
  options: {
    address: { type: 'string', short: 'a', default: `${base}/examples` },
    messages: { type: 'string', short: 'm', default: '100' },
    'batch-size': { type: 'string', short: 'b', default: '10' },
  },
});

class TxRecv extends MessagingHandler implements TransactionHandler {
  private container: Container | undefined;
  private conn: ContainerConnection | undefined;
  private receiver: Receiver | undefined;
  private transaction: Transaction | undefined;
  private currentBatch = 0;
  private committed = 0;

  constructor(
    private readonly url: string,
    private readonly expected: number,
    private readonly batchSize: number,
  ) {
    super({ prefetch: 0, autoAccept: false });
  }

  onStart(event: Event): void {
    this.container = event.container;
    this.conn = this.container.connect(this.url);
    const node = parseAddress(this.url.includes('://') ? this.url : `amqp://${this.url}`).node;
    // this handler handles transactions, so the receiver receives on the transactional session
    this.receiver = this.container.createReceiver(this.conn, node ? formatNode(node) : 'examples');
    this.container.declareTransaction(this.conn, { handler: this });
  }

  onMessage(event: Event): void {
    console.log(JSON.stringify(event.message.body));
    this.transaction?.accept(event.delivery);
    this.currentBatch++;
    if (this.currentBatch === this.batchSize) {
      this.transaction?.commit();
      this.transaction = undefined;
    }
  }

  onTransactionDeclared(event: Event): void {
    this.receiver?.flow(this.batchSize);
    this.transaction = event.transaction;
  }

  onTransactionCommitted(event: Event): void {
    this.committed += this.currentBatch;
    this.currentBatch = 0;
    if ((this.expected === 0 || this.committed < this.expected) && this.container && this.conn) {
      this.container.declareTransaction(this.conn, { handler: this });
    } else {
      event.connection.close();
    }
  }

  onDisconnected(): void {
    this.currentBatch = 0;
  }
}

await new Container(new TxRecv(values.address, Number(values.messages), Number(values['batch-size']))).run();
