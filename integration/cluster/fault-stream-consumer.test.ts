// Fault: the node a stream consumer is connected to dies (SIGKILL) while messages keep coming.
// The consumer's connection fails over to the next node and the consumer resumes after the last
// offset it delivered: every offset arrives exactly once, in order.
import { expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { startNode, stopNode } from '../../scripts/cluster.mjs';
import { eventually } from '../harness.js';
import { clusterSuite, NODES, queueLeader } from './support/cluster-harness.js';
import { ConfirmedPublisher, Received, report, waitReceived } from './support/load.js';

const s = clusterSuite({ timeoutMs: 5 * 60_000 });
const TOTAL = 20_000;

it('a stream consumer whose node is killed resumes: every offset once, in order', async () => {
  // the stream's leader and the publisher on node 1; the consumer on node 2
  const pubConn = await s.connect(0, { confirmTimeout: 5_000 });
  const ch = await pubConn.channel();
  const q = s.queue(s.name('stream-consumer'));
  await ch.queueDeclare(q, { type: 'stream', durable: true, queueLeaderLocator: 'client-local' });
  expect((await queueLeader(q)).leader).toBe(NODES[0]);
  await ch.confirmSelect();
  const conConn = await s.connect(1);
  const recovered: string[] = [];
  conConn.on('recovered', (i) => recovered.push(i.url));
  const cch = await conConn.channel();
  await cch.basicQos({ prefetchCount: 200 });
  const rx = new Received();
  await cch.basicConsume(q, { offset: 'first', callback: rx.callback });

  const pub = new ConfirmedPublisher(ch, q, 200);
  const publishing = pub.run(0, TOTAL, (id) => (id % 20 === 19 ? sleep(10) : undefined));
  await eventually(() => rx.deliveries >= 5_000, { what: '5,000 deliveries', timeoutMs: 120_000 });
  await stopNode(1, { kill: true });
  await publishing;
  await waitReceived(rx, pub.confirmed);
  report('stream consumer node killed', pub, rx, TOTAL);
  expect(recovered).toHaveLength(1);
  expect(rx.duplicates).toBe(0);
  expect(rx.offsets).toEqual(Array.from({ length: TOTAL }, (_, i) => i));
  await startNode(1);
});
