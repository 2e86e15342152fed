// Proton's Messenger "recv" example: subscribe, recv(10), then get() each message into one reused
// Message and print its address and subject; accept them all at once (cumulative).
// Run: node build/examples/messenger/recv.js [queue]
import { Message, Messenger } from 'amqpts';

const broker = (process.env['RABBITMQ_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672/').replace(/\/+$/, '');
const queue = process.argv[2] ?? 'examples';

const messenger = new Messenger('receiver', { declare: true });
messenger.route('amqp://localhost/*', `${broker}/$1`);
messenger.incomingWindow = 10; // settle them ourselves
messenger.timeout = 10_000;
await messenger.start();
messenger.subscribe(`amqp://localhost/${queue}`);
await messenger.recv(10);
const got = new Message();
while (messenger.incoming > 0) {
  messenger.get(got);
  console.log(`${got.address ?? '?'} ${got.subject ?? ''} ${String(got.body)}`);
}
messenger.accept(); // everything up to the last get()
await messenger.stop();
