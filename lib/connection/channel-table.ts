/**
 * ChannelTable: a connection's open channels by id, the lowest-free-id allocation, and the
 * operations the connection applies to all of them (route a frame, wake publishers, loss,
 * recovery, close). Each entry pairs the public Channel with the ChannelPort the connection
 * drives it through.
 */
import { type Channel, channelPort, createChannel } from '../channel/channel.js';
import type { ChannelHost, ChannelPort, ChannelSetup } from '../channel/types.js';
import { errorForCode, ResourceError } from '../errors.js';

/** One open channel: what users hold and what the connection drives. */
export interface ChannelEntry {
  readonly channel: Channel;
  readonly port: ChannelPort;
}

const entry = (channel: Channel): ChannelEntry => ({ channel, port: channelPort(channel) });

/** See the file header. */
export class ChannelTable {
  private readonly byId = new Map<number, Channel>();
  private nextId = 1;

  /** Number of open channels. */
  get size(): number {
    return this.byId.size;
  }

  /** The open channel `id`, if any. */
  get(id: number): ChannelEntry | undefined {
    const c = this.byId.get(id);
    return c === undefined ? undefined : entry(c);
  }

  /** The port of open channel `id`, if any (the frame path: no allocation). */
  port(id: number): ChannelPort | undefined {
    const c = this.byId.get(id);
    return c === undefined ? undefined : channelPort(c);
  }

  /** A read-only snapshot: id -> Channel. */
  channels(): ReadonlyMap<number, Channel> {
    const m = new Map<number, Channel>();
    for (const [id, c] of this.byId) m.set(id, c);
    return m;
  }

  /** Every channel's port, in id order of opening. */
  ports(): ChannelPort[] {
    return [...this.byId.values()].map(channelPort);
  }

  /** Creates channel `id` (not opened yet) and registers it. */
  add(host: ChannelHost, id: number, settings: ChannelSetup): ChannelEntry {
    const c = createChannel(host, id, settings);
    this.byId.set(id, c);
    return entry(c);
  }

  /** Forgets channel `id`; its id becomes free again. */
  release(id: number): void {
    this.byId.delete(id);
    if (id < this.nextId) this.nextId = id;
  }

  /** The lowest free id. @throws ResourceError (506) when every id up to `channelMax` is taken. */
  allocate(channelMax: number): number {
    for (let id = this.nextId; id <= channelMax; id++) {
      if (!this.byId.has(id)) {
        this.nextId = id + 1;
        return id;
      }
    }
    throw new ResourceError(`all ${channelMax} channel ids are in use`, { replyCode: 506 });
  }

  /** The port a frame for `id` goes to. @throws ChannelNotOpen (504) for a channel that is not open. */
  route(id: number): ChannelPort {
    const c = this.byId.get(id);
    if (!c) throw errorForCode(504, { replyText: `CHANNEL_ERROR - frame for unknown channel ${id}`, channelId: id }, true);
    return channelPort(c);
  }

  /** Consumers on `queue` across all channels. */
  consumersOn(queue: string): number {
    let n = 0;
    for (const c of this.byId.values()) n += channelPort(c).consumersOn(queue);
    return n;
  }

  /** Confirm progress of every channel (id, progress or null), for the confirmTimeout watchdog. */
  confirmProgress(): Array<[number, ChannelPort['confirmProgress']]> {
    return [...this.byId].map(([id, c]) => [id, channelPort(c).confirmProgress]);
  }

  /** Applies `f` to every port (a copy of the list: `f` may close channels). */
  each(f: (port: ChannelPort) => void): void {
    for (const p of this.ports()) f(p);
  }

  /** Empties the table (the connection closed for good). */
  clear(): void {
    this.byId.clear();
    this.nextId = 1;
  }
}
