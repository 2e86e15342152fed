// Issue 12's Messenger example as one program: put three addressed messages and send them, then
// subscribe, recv(10) and print the subjects with a get() loop.
// Run: npm run build && npm run build:examples && node build/examples/messenger/hello.js [queue]
import { Message, Messenger } from 'amqpts';

const broker = (process.env['RABBITMQ_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672/').replace(/\/+$/, '');
const queue = process.argv[2] ?? 'examples';

// `declare` makes the Messenger declare the queues it uses; without it, it declares nothing
const messenger = new Messenger('worker-1', { declare: true });
// the addresses below say amqp://localhost/...: send that domain to the broker in RABBITMQ_URL
messenger.route('amqp://localhost/*', `${broker}/$1`);
messenger.timeout = 10_000;
await messenger.start();
const msg = new Message();
for (let i = 0; i < 3; i++) {
  msg.address = `amqp://localhost/${queue}`;
  msg.subject = `Hello World ${i}`;
  messenger.put(msg); // copies: msg may be changed at once
}
await messenger.send();
messenger.subscribe(`amqp://localhost/${queue}`);
await messenger.recv(10);
const got = new Message();
while (messenger.incoming > 0) {
  messenger.get(got);
  console.log(got.subject);
}
await messenger.stop();
