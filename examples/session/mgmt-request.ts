// uamqp's Session.mgmt_request on RabbitMQ: RabbitMQ has no $management node on AMQP 0.9.1, so
// this program also runs the node (serveRequests) on a second session; then it asks it a READ,
// and an operation the node does not know (a 501, which rejects with ManagementError).
// Run: node build/examples/session/mgmt-request.js [node]
import { Connection, ManagementError, Message, Session } from 'amqpts';

const url = process.env['RABBITMQ_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672/';
const node = process.argv[2] ?? `example-management-${process.pid}`;
const conn = await Connection.connect(url);
try {
  // the node: a queue (exclusive: it goes away with this connection) and its responder
  const admin = await conn.channel();
  await admin.queueDeclare(node, { exclusive: true });
  const responder = new Session(conn);
  const entities: Record<string, { messages: number }> = { orders: { messages: 42 } };
  await responder.serveRequests(node, (request) => {
    const h = request.applicationHeaders ?? {};
    const name = String(request.json<{ name: string }>().name);
    if (h['operation'] !== 'READ') return { statusCode: 501, statusDescription: `operation ${String(h['operation'])} not implemented` };
    const entity = entities[name];
    if (!entity) return { statusCode: 404, statusDescription: `no ${String(h['type'])} named ${name}` };
    return { statusCode: 200, statusDescription: 'OK', body: entity };
  });

  // the client side, as uamqp's: a session with windows and a link limit
  const session = new Session(conn, {
    incomingWindow: 100,
    outgoingWindow: 100,
    handleMax: 4,
    onAttach: (source, target, _props, error) => console.log(`attach ${source} -> ${target}${error ? ` failed: ${error.message}` : ''}`),
  });
  const read = await session.mgmtRequest(new Message({ name: 'orders' }), 'READ', { opType: 'queue', node, timeout: 5000 });
  console.log(`READ orders: ${JSON.stringify(read.json())} (status ${String(read.applicationHeaders?.['statusCode'])})`);
  try {
    await session.mgmtRequest(new Message({ name: 'orders' }), 'DELETE', { opType: 'queue', node, timeout: 5000 });
  } catch (err) {
    if (!(err instanceof ManagementError)) throw err;
    console.log(`DELETE orders: ManagementError ${err.statusCode} ${err.statusDescription}`);
  }
  await session.destroy();
  await responder.destroy();
} finally {
  await conn.close();
}
