// Fault: the node the publisher is connected to goes away during 50,000 confirmed publishes to a
// quorum queue whose leader is on that node too; the consumer is connected to another node. Twice:
// stopped (rabbitmqctl stop: the broker closes its connections with 320) and killed (SIGKILL: the
// sockets just break). The publisher's connection fails over to the next URL, republishes what was
// unconfirmed, and goes on; nothing confirmed is lost.
//
// After the kill, RabbitMQ 3.10.8 often gives the reconnected publisher a channel that takes the
// dead node for the queue's leader and nacks every publish (or never answers) until that node is
// back; `confirmTimeout` (no publish acked for that long) makes the connection reconnect, and the
// new channel finds the new leader. The line then shows the nacked messages published again.
import { describe, expect, it } from '@jest/globals';
import { startNode, stopNode } from '../../scripts/cluster.mjs';
import { clusterSuite, NODES, queueLeader, URLS } from './support/cluster-harness.js';
import { ConfirmedPublisher, Received, report, waitReceived } from './support/load.js';

const s = clusterSuite({ timeoutMs: 5 * 60_000 });
const TOTAL = 50_000;

describe('the publisher’s node goes away during 50,000 confirmed publishes to a quorum queue', () => {
  it.each([
    ['stopped', false],
    ['killed', true],
  ])('%s: nothing confirmed is lost', async (how, kill) => {
    const pubConn = await s.connect(0, { confirmTimeout: 5_000 });
    const ch = await pubConn.channel();
    const q = s.queue(s.name('qq-publisher-node'));
    await ch.queueDeclare(q, { type: 'quorum', durable: true, queueLeaderLocator: 'client-local' });
    expect((await queueLeader(q)).leader).toBe(NODES[0]);
    await ch.confirmSelect();
    const conConn = await s.connect(2);
    const cch = await conConn.channel();
    await cch.basicQos({ prefetchCount: 500 });
    const rx = new Received();
    await cch.basicConsume(q, { callback: rx.callback });
    const recovered: string[] = [];
    pubConn.on('recovered', (i) => recovered.push(i.url));
    let consumerLost = 0;
    conConn.on('disconnected', () => consumerLost++);

    const pub = new ConfirmedPublisher(ch, q, 500);
    let stopping: Promise<void> | undefined;
    await pub.run(0, TOTAL, (id) => {
      if (id === 15_000) stopping = stopNode(0, { kill });
      return undefined;
    });
    await stopping;
    await waitReceived(rx, pub.confirmed);
    report(`publisher node ${how}`, pub, rx, TOTAL);
    // the publisher failed over to node 2 (the next URL), maybe on to node 3 (confirmTimeout); the
    // consumer was never disturbed
    expect(recovered.length).toBeGreaterThanOrEqual(1);
    expect(recovered[0]).toContain(`127.0.0.1:${new URL(URLS[1] as string).port}/`);
    expect(consumerLost).toBe(0);
    await startNode(0);
  });
});
