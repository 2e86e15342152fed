// Fault: the node leading a quorum queue dies (SIGKILL of its Erlang VM) while a client connected
// to another node publishes (confirmed) and consumes on that queue. The remaining two replicas
// elect a new leader; the client's connection never notices (no reconnect), publishes in flight
// are confirmed by the new leader, and nothing confirmed is lost.
import { expect, it } from '@jest/globals';
import { startNode, stopNode } from '../../scripts/cluster.mjs';
import { eventually } from '../harness.js';
import { clusterSuite, NODES, nodeIndex, queueLeader, waitAllMembersOnline } from './support/cluster-harness.js';
import { ConfirmedPublisher, Received, report, waitReceived } from './support/load.js';

const s = clusterSuite({ timeoutMs: 5 * 60_000 });
const TOTAL = 20_000;

it('killing the quorum queue’s leader under load needs no reconnect and loses nothing', async () => {
  // the queue's leader on node 1 (declared there, client-local); the client on node 2
  const admin = await (await s.connect(0)).channel();
  const q = s.queue(s.name('qq-leader'));
  await admin.queueDeclare(q, { type: 'quorum', durable: true, queueLeaderLocator: 'client-local' });
  const leader = (await queueLeader(q)).leader;
  expect(leader).toBe(NODES[0]);

  const conn = await s.connect(1);
  let disconnected = 0;
  conn.on('disconnected', () => disconnected++);
  const ch = await conn.channel();
  await ch.confirmSelect();
  const cch = await conn.channel();
  await cch.basicQos({ prefetchCount: 500 });
  const rx = new Received();
  await cch.basicConsume(q, { callback: rx.callback });

  const pub = new ConfirmedPublisher(ch, q, 500);
  let killing: Promise<void> | undefined;
  await pub.run(0, TOTAL, (id) => {
    if (id === 5_000) killing = stopNode(nodeIndex(leader), { kill: true });
    return undefined;
  });
  await killing;
  const after = await eventually(
    async () => {
      const l = (await queueLeader(q)).leader;
      return l !== leader && l.includes('@') ? l : null;
    },
    { what: 'a new leader', timeoutMs: 30_000 },
  );
  await waitReceived(rx, pub.confirmed);
  report(`quorum leader killed (${leader} -> ${after})`, pub, rx, TOTAL);
  expect(disconnected).toBe(0);
  expect(conn.connected).toBe(true);
  await startNode(nodeIndex(leader));
  await waitAllMembersOnline(q);
});
