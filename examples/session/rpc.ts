// Request/response on direct reply-to: an rpcServer on one connection, rpcCall from another,
// 20 calls in flight at once over one reply consumer, each answered with its own reply.
// Run: node build/examples/session/rpc.js [queue]
import { Connection, rpcCall, rpcClient, rpcServer } from 'amqpts';

const url = process.env['RABBITMQ_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672/';
const queue = process.argv[2] ?? `example-rpc-${process.pid}`;
const serverConn = await Connection.connect(url);
const clientConn = await Connection.connect(url);
try {
  const server = await rpcServer(serverConn, queue, (request) => ({ square: request.json<{ n: number }>().n ** 2 }), {
    concurrency: 4,
    declare: { exclusive: true },
  });
  const replies = await Promise.all(Array.from({ length: 20 }, (_, n) => rpcCall(clientConn, queue, { n }, { timeout: 5000 })));
  const squares = replies.map((r) => r.json<{ square: number }>().square);
  console.log(`squares: ${squares.join(' ')}`);
  const stats = (await rpcClient(clientConn)).stats;
  console.log(`calls ${stats.calls}, replies ${stats.replies}, dropped ${stats.lateReplies + stats.unknownReplies}`);
  await server.close();
} finally {
  await clientConn.close();
  await serverConn.close();
}
