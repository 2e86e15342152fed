// Proton's Messenger "send" example: put messages (address and subject set on one reused Message)
// and send them, then print each tracker's status (ACCEPTED once the broker confirmed it).
// Run: node build/examples/messenger/send.js [queue] [count]
import { Message, Messenger } from 'amqpts';

const broker = (process.env['RABBITMQ_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672/').replace(/\/+$/, '');
const queue = process.argv[2] ?? 'examples';
const count = Number(process.argv[3] ?? 3);

const messenger = new Messenger('sender', { declare: true });
messenger.route('amqp://localhost/*', `${broker}/$1`);
messenger.outgoingWindow = count; // keep every tracker's status
messenger.timeout = 10_000;
await messenger.start();
const msg = new Message();
const trackers = [];
for (let i = 0; i < count; i++) {
  msg.address = `amqp://localhost/${queue}`;
  msg.subject = `Hello World ${i}`;
  msg.body = `body ${i}`;
  trackers.push(messenger.put(msg));
}
await messenger.send();
for (const t of trackers) console.log(`${t.sequence}: ${messenger.status(t)}`);
await messenger.stop();
