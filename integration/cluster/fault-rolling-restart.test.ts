// Fault: a rolling restart of all three nodes, one at a time (stop, start, wait until it is a
// running member and the quorum queue has all replicas online again), while a publisher (first on
// node 1) and a consumer (first on node 3) keep going. Each connection fails over whenever its
// node goes; nothing confirmed is lost.
import { expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { startNode, stopNode } from '../../scripts/cluster.mjs';
import { eventually } from '../harness.js';
import { clusterSuite, waitAllMembersOnline } from './support/cluster-harness.js';
import { ConfirmedPublisher, Received, report, waitReceived } from './support/load.js';

const s = clusterSuite({ timeoutMs: 6 * 60_000 });

it('a rolling restart of the three nodes during publish and consume loses nothing', async () => {
  const pubConn = await s.connect(0, { confirmTimeout: 5_000 });
  const ch = await pubConn.channel();
  const q = s.queue(s.name('qq-rolling'));
  await ch.queueDeclare(q, { type: 'quorum', durable: true });
  await ch.confirmSelect();
  const conConn = await s.connect(2);
  const cch = await conConn.channel();
  await cch.basicQos({ prefetchCount: 300 });
  const rx = new Received();
  await cch.basicConsume(q, { callback: rx.callback });
  const recoveries: string[] = [];
  pubConn.on('recovered', (i) => recoveries.push(`publisher -> ${i.url}`));
  conConn.on('recovered', (i) => recoveries.push(`consumer -> ${i.url}`));

  const pub = new ConfirmedPublisher(ch, q, 300);
  // a few hundred messages a second, for as long as the restart takes
  const publishing = pub.run(0, Number.MAX_SAFE_INTEGER, (id) => (id % 5 === 4 ? sleep(20) : undefined));
  const state = (): string =>
    `confirmed ${pub.confirmed.size}, received ${rx.ids.size}, publisher ${pubConn.state}, consumer ${conConn.state}, ` +
    `recoveries [${recoveries.join(', ')}], failures ${JSON.stringify([...pub.failures])}`;
  const restart = async (): Promise<void> => {
    for (const node of [0, 1, 2]) {
      await stopNode(node);
      await startNode(node);
      await waitAllMembersOnline(q);
      // traffic flows again, end to end, before the next node goes
      const [confirmed, received] = [pub.confirmed.size, rx.ids.size];
      await eventually(() => pub.confirmed.size > confirmed + 500 && rx.ids.size > received + 500, {
        what: `traffic after restarting node ${node + 1}`,
        timeoutMs: 60_000,
      }).catch((err: unknown) => {
        throw new Error(`${String(err)}: ${state()}`);
      });
    }
  };
  try {
    await restart();
  } catch (err) {
    pub.stop(); // the retries give up once the connections close
    throw err;
  } finally {
    pub.end();
  }
  await publishing;
  await waitReceived(rx, pub.confirmed);
  report('rolling restart', pub, rx, pub.sent);
  // both connections failed over at least once (each one's node went down)
  expect(recoveries.some((r) => r.startsWith('publisher'))).toBe(true);
  expect(recoveries.some((r) => r.startsWith('consumer'))).toBe(true);
});
