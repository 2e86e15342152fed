// An EventInjector fed from a worker thread (in the spirit of Qpid Proton's db_send.py, whose
// reader thread injects "records loaded" events): the worker computes records and triggers a
// `record` event for each through the injector's MessagePort, then closes it. On the container's
// loop, onRecord sends each record as a message; a receiver on the same queue prints what arrives
// and closes the connection once every record is back.
// Run: node build/examples/proton/worker_injector.js [-a queue] [-m 10]
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isMainThread, type MessagePort, Worker, workerData } from 'node:worker_threads';
import {
  Container,
  type ContainerConnection,
  type Event,
  EventInjector,
  Message,
  MessagingHandler,
  RemoteEventInjector,
  type Sender,
} from 'amqpts';

interface Job {
  port: MessagePort;
  count: number;
}

if (!isMainThread) {
  // the worker: compute, trigger an event per record, close the injector
  const { port, count } = workerData as Job;
  const injector = new RemoteEventInjector(port);
  for (let n = 1; n <= count; n++) injector.trigger('record', { n, square: n * n });
  injector.close();
} else {
  const { values } = parseArgs({
    options: {
      address: { type: 'string', short: 'a', default: 'examples' },
      messages: { type: 'string', short: 'm', default: '10' },
    },
  });
  const server = process.env['RABBITMQ_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672/';
  const count = Number(values.messages);

  class Records extends MessagingHandler {
    private conn: ContainerConnection | undefined;
    private sender: Sender | undefined;
    private received = 0;

    onStart(event: Event): void {
      this.conn = event.container.connect(server);
      event.container.createReceiver(this.conn, values.address);
      this.sender = event.container.createSender(this.conn, values.address);
      const injector = event.container.selectable(new EventInjector());
      const port = injector.port();
      const job: Job = { port, count };
      new Worker(fileURLToPath(import.meta.url), { workerData: job, transferList: [port] });
    }

    onRecord(event: Event): void {
      this.sender?.send(new Message(event.subject as { n: number; square: number }));
    }

    onMessage(event: Event): void {
      console.log(`record ${JSON.stringify(event.message.body)}`);
      if (++this.received === count) this.conn?.close();
    }
  }

  await new Container(new Records()).run();
}
