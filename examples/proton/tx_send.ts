// Port of Qpid Proton's python/examples/tx_send.py: sends messages in transactions of a batch
// each, declaring the next transaction once one commits, and closes when all are committed.
// Run: node build/examples/proton/tx_send.js [-a amqp://host:5672/queue] [-m 100] [-b 10]
//
// The Python original commits once the broker reports every message of the batch accepted within
// the transaction. AMQP 0.9.1 reports nothing per message inside a transaction (a transactional
// channel cannot use confirms), so this port commits once the batch is sent; onAccepted then fires
// for each message when the commit succeeds.
import { parseArgs } from 'node:util';
import {
  Container,
  type ContainerConnection,
  type Event,
  formatNode,
  Message,
  MessagingHandler,
  parseAddress,
  type Sender,
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

class TxSend extends MessagingHandler implements TransactionHandler {
  private container: Container | undefined;
  private conn: ContainerConnection | undefined;
  private sender: Sender | undefined;
  private transaction: Transaction | undefined;
  private msgId = 0;
  private currentBatch = 0;
  private committed = 0;

  constructor(
    private readonly url: string,
    private readonly total: number,
    private readonly batchSize: number,
  ) {
    super();
  }

  onStart(event: Event): void {
    this.container = event.container;
    this.conn = this.container.connect(this.url);
    const node = parseAddress(this.url.includes('://') ? this.url : `amqp://${this.url}`).node;
    this.sender = this.container.createSender(this.conn, node ? formatNode(node) : 'examples');
    this.container.declareTransaction(this.conn, { handler: this });
  }

  onTransactionDeclared(event: Event): void {
    this.transaction = event.transaction;
    this.send();
  }

  onSendable(): void {
    this.send();
  }

  private send(): void {
    const batch = Math.min(this.batchSize, this.total - this.committed);
    while (this.transaction && this.sender && this.sender.credit > 0 && this.currentBatch < batch) {
      this.msgId++;
      this.transaction.send(this.sender, new Message({ sequence: this.msgId }, { messageId: String(this.msgId) }));
      this.currentBatch++;
    }
    if (this.transaction && this.currentBatch === batch) {
      this.transaction.commit();
      this.transaction = undefined;
    }
  }

  onTransactionCommitted(event: Event): void {
    this.committed += this.currentBatch;
    if (this.committed === this.total) {
      console.log(`${this.committed} messages committed`);
      event.connection.close();
    } else if (this.container && this.conn) {
      this.currentBatch = 0;
      this.container.declareTransaction(this.conn, { handler: this });
    }
  }

  onTransactionAborted(event: Event): void {
    console.log(`${this.committed} committed, transaction aborted - closing`);
    event.connection.close();
  }

  onDisconnected(): void {
    this.currentBatch = 0;
  }
}

await new Container(new TxSend(values.address, Number(values.messages), Number(values['batch-size']))).run();
