/**
 * Re-declares recorded topology on a fresh channel after a reconnect, using only the public
 * Channel API: exchanges, then queues (server-named ones get new names, reported by onRename),
 * then bindings (after renaming). A step the broker refuses is reported through `onError` and the
 * rest continues (the channel reopens itself after the server closes it).
 */
import { ChannelError, type AMQPError } from '../errors.js';
import type { Channel } from '../channel/channel.js';
import type { TopologyEntity } from '../channel/types.js';
import type { Topology } from './topology.js';

/**
 * @internal Runs the re-declaration. `onRename(old, new)` is called as soon as a server-named queue
 * gets its new name (the topology is renamed at once too), so that consumers follow even if the
 * connection dies before the rest completes.
 */
export async function restoreTopology(
  ch: Channel,
  topology: Topology,
  onError: (entity: TopologyEntity, err: AMQPError) => void,
  onRename: (oldName: string, newName: string) => void,
): Promise<void> {
  const attempt = async (entity: TopologyEntity, run: () => Promise<unknown>): Promise<void> => {
    try {
      await run();
    } catch (err) {
      if (!(err instanceof ChannelError)) throw err; // the connection died: recovery starts over
      onError(entity, err);
    }
  };
  for (const e of [...topology.exchanges.values()]) {
    await attempt(e, () =>
      ch.exchangeDeclare(e.name, e.type, { durable: e.durable, autoDelete: e.autoDelete, internal: e.internal, arguments: e.arguments }),
    );
  }
  for (const q of [...topology.queues.values()]) {
    await attempt(q, async () => {
      const r = await ch.queueDeclare(q.serverNamed ? '' : q.name, {
        durable: q.durable,
        exclusive: q.exclusive,
        autoDelete: q.autoDelete,
        arguments: q.arguments,
      });
      if (q.serverNamed && r.queue !== q.name) {
        topology.rename(q.name, r.queue);
        onRename(q.name, r.queue);
      }
    });
  }
  for (const b of [...topology.bindings.values()]) {
    await attempt(b, () =>
      b.kind === 'queue-binding'
        ? ch.queueBind(b.destination, { exchange: b.source, routingKey: b.routingKey, arguments: b.arguments })
        : ch.exchangeBind(b.destination, b.source, { routingKey: b.routingKey, arguments: b.arguments }),
    );
  }
}
