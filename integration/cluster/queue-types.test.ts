// Typed queue declarations against the three-node cluster: the broker accepts what queueDeclare
// sends for each type (every typed option at once), stores it as the x- arguments, places
// replicas as asked, and takes the same declaration again; what it would refuse is refused locally.
import { describe, expect, it } from '@jest/globals';
import { ArgumentError, type Channel, type FieldTable, type QueueDeclareOptions } from '../../lib/index.js';
import { clusterSuite, listQueues, NODES, queueLeader } from './support/cluster-harness.js';

const s = clusterSuite();

/** The broker's view of `queue`: type, flags and arguments (as name -> value). */
async function stored(queue: string): Promise<{ type: string; durable: boolean; args: Record<string, unknown> }> {
  const row = (await listQueues('name', 'type', 'durable', 'arguments')).find((r) => r['name'] === queue);
  if (!row) throw new Error(`queue ${queue} is not on the broker`);
  const args = Object.fromEntries((row['arguments'] as Array<[string, string, unknown]>).map(([k, , v]) => [k, v]));
  return { type: String(row['type']), durable: row['durable'] === true, args };
}

/** Declares `opts` twice (the second must be accepted as equivalent) and a third time passively. */
async function declareTwice(ch: Channel, queue: string, opts: QueueDeclareOptions): Promise<void> {
  await ch.queueDeclare(queue, opts);
  await ch.queueDeclare(queue, opts);
  await ch.queueDeclare(queue, { passive: true });
}

describe('typed queue declarations on a cluster', () => {
  it('classic: every classic option is sent as its x- argument and accepted', async () => {
    const ch = await (await s.connect(0)).channel();
    const q = s.queue(s.name('classic'));
    const raw: FieldTable = { 'x-max-priority': 4 };
    await declareTwice(ch, q, {
      type: 'classic',
      durable: true,
      maxLength: 100,
      maxLengthBytes: 1 << 20,
      overflow: 'reject-publish-dlx',
      messageTtl: 60_000,
      expires: 600_000,
      deadLetterExchange: 'amq.fanout',
      deadLetterRoutingKey: 'dead',
      singleActiveConsumer: true,
      arguments: raw,
    });
    expect(await stored(q)).toEqual({
      type: 'classic',
      durable: true,
      args: {
        'x-queue-type': 'classic',
        'x-max-length': 100,
        'x-max-length-bytes': 1 << 20,
        'x-overflow': 'reject-publish-dlx',
        'x-message-ttl': 60_000,
        'x-expires': 600_000,
        'x-dead-letter-exchange': 'amq.fanout',
        'x-dead-letter-routing-key': 'dead',
        'x-single-active-consumer': true,
        'x-max-priority': 4,
      },
    });
  });

  it('quorum: every quorum option is accepted; initialClusterSize 2 places two replicas, the leader on the declaring node', async () => {
    const ch = await (await s.connect(1)).channel();
    const q = s.queue(s.name('quorum'));
    await declareTwice(ch, q, {
      type: 'quorum',
      durable: true,
      maxLength: 1000,
      maxLengthBytes: 1 << 24,
      overflow: 'reject-publish',
      messageTtl: 30_000,
      expires: 600_000,
      deadLetterExchange: 'amq.fanout',
      deadLetterRoutingKey: 'dead',
      deliveryLimit: 5,
      singleActiveConsumer: true,
      queueLeaderLocator: 'client-local',
      initialClusterSize: 2,
    });
    const st = await stored(q);
    expect(st.type).toBe('quorum');
    expect(st.args).toEqual({
      'x-queue-type': 'quorum',
      'x-max-length': 1000,
      'x-max-length-bytes': 1 << 24,
      'x-overflow': 'reject-publish',
      'x-message-ttl': 30_000,
      'x-expires': 600_000,
      'x-dead-letter-exchange': 'amq.fanout',
      'x-dead-letter-routing-key': 'dead',
      'x-delivery-limit': 5,
      'x-single-active-consumer': true,
      'x-queue-leader-locator': 'client-local',
      'x-quorum-initial-group-size': 2,
    });
    const placement = await queueLeader(q);
    expect(placement.members).toHaveLength(2);
    expect(placement.leader).toBe(NODES[1]);
  });

  it('stream: every stream option is accepted; replicas on all three nodes', async () => {
    const ch = await (await s.connect(2)).channel();
    const q = s.queue(s.name('stream'));
    await declareTwice(ch, q, {
      type: 'stream',
      durable: true,
      maxAge: '7D',
      maxLengthBytes: 100_000_000,
      streamMaxSegmentSizeBytes: 10_000_000,
      queueLeaderLocator: 'balanced',
      initialClusterSize: 3,
    });
    expect((await stored(q)).args).toEqual({
      'x-queue-type': 'stream',
      'x-max-age': '7D',
      'x-max-length-bytes': 100_000_000,
      'x-stream-max-segment-size-bytes': 10_000_000,
      'x-queue-leader-locator': 'balanced',
      'x-initial-cluster-size': 3,
    });
    expect((await queueLeader(q)).members.sort()).toEqual([...NODES].sort());
    // maxAge in ms is sent in seconds, which the broker accepts too
    const q2 = s.queue(s.name('stream-ms'));
    await ch.queueDeclare(q2, { type: 'stream', durable: true, maxAge: 3_600_000 });
    expect((await stored(q2)).args['x-max-age']).toBe('3600s');
  });

  it('refuses locally, with the channel still usable, what the broker would refuse with 406', async () => {
    const ch = await (await s.connect(0)).channel();
    const refused: Array<[string, QueueDeclareOptions, string]> = [
      ['qq-exclusive', { type: 'quorum', durable: true, exclusive: true }, 'cannot be exclusive'],
      ['qq-transient', { type: 'quorum' }, 'must be durable'],
      ['st-autodelete', { type: 'stream', durable: true, autoDelete: true }, 'cannot be auto-delete'],
      ['st-maxlength', { type: 'stream', durable: true, maxLength: 10 }, 'maxLength is not supported by stream'],
      ['cl-deliverylimit', { type: 'classic', deliveryLimit: 1 }, 'deliveryLimit is not supported by classic'],
      ['qq-maxage', { type: 'quorum', durable: true, maxAge: '1D' }, 'maxAge is not supported by quorum'],
    ];
    const names: string[] = [];
    for (const [what, opts, why] of refused) {
      const name = s.name(what);
      names.push(name);
      const err = await ch.queueDeclare(name, opts).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ArgumentError);
      expect((err as Error).message).toContain(why);
    }
    const onBroker = new Set((await listQueues('name')).map((r) => r['name']));
    expect(names.filter((n) => onBroker.has(n))).toEqual([]);
    const q = s.queue(s.name('after'));
    await expect(ch.queueDeclare(q, { type: 'quorum', durable: true })).resolves.toMatchObject({ queue: q });
  });
});
