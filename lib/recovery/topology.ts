/**
 * Topology registry: what this connection declared (exchanges, queues, queue bindings and
 * exchange-to-exchange bindings), recorded when the broker confirmed it and forgotten when the
 * user deleted or unbound it, so recovery can declare it all again on a new connection.
 *
 * Server-named queues (declared as `''`) are recorded under the name the broker gave them; on
 * recovery they get a new name, and `rename()` moves their bindings (consumers are moved by the
 * channels). An auto-delete queue whose last consumer the user cancelled, and an auto-delete
 * exchange whose last binding the user removed, are gone on the broker too, so they are dropped.
 */
import type { BindingRecord, ExchangeRecord, QueueRecord, TopologyEntity, TopologyRecorder } from '../channel/types.js';

export type { BindingRecord, ExchangeRecord, QueueRecord, TopologyEntity } from '../channel/types.js';

function bindingKey(b: BindingRecord): string {
  return JSON.stringify([b.kind, b.destination, b.source, b.routingKey, b.arguments]);
}

/** See the file header. */
export class Topology implements TopologyRecorder {
  // created on first use: a connection that declares nothing holds no maps
  private ex: Map<string, ExchangeRecord> | null = null;
  private qs: Map<string, QueueRecord> | null = null;
  private bs: Map<string, BindingRecord> | null = null;

  /** Recorded exchanges by name. */
  get exchanges(): Map<string, ExchangeRecord> {
    return (this.ex ??= new Map());
  }

  /** Recorded queues by name. */
  get queues(): Map<string, QueueRecord> {
    return (this.qs ??= new Map());
  }

  /** Recorded bindings. */
  get bindings(): Map<string, BindingRecord> {
    return (this.bs ??= new Map());
  }

  /** Records a declared exchange (the default and `amq.` exchanges are never recorded). */
  recordExchange(r: ExchangeRecord): void {
    if (r.name === '' || r.name.startsWith('amq.')) return;
    this.exchanges.set(r.name, r);
  }

  /** Forgets a deleted exchange and every binding to or from it (cascading to auto-delete sources left unbound). */
  deleteExchange(name: string): void {
    this.exchanges.delete(name);
    for (const [k, b] of [...this.bindings]) {
      if (b.source === name || (b.kind === 'exchange-binding' && b.destination === name)) {
        this.bindings.delete(k);
        if (b.source !== name) this.dropUnboundAutoDelete(b.source);
      }
    }
  }

  /** Records a declared queue. */
  recordQueue(r: QueueRecord): void {
    this.queues.set(r.name, r);
  }

  /** Forgets a deleted queue and its bindings (cascading to auto-delete exchanges left unbound). */
  deleteQueue(name: string): void {
    this.queues.delete(name);
    for (const [k, b] of [...this.bindings]) {
      if (b.kind === 'queue-binding' && b.destination === name) {
        this.bindings.delete(k);
        this.dropUnboundAutoDelete(b.source);
      }
    }
  }

  private dropUnboundAutoDelete(exchange: string): void {
    const ex = this.exchanges.get(exchange);
    if (ex?.autoDelete && ![...this.bindings.values()].some((x) => x.source === exchange)) this.exchanges.delete(exchange);
  }

  /** Records a binding. */
  recordBinding(b: BindingRecord): void {
    this.bindings.set(bindingKey(b), b);
  }

  /** Forgets a binding; an auto-delete source exchange left without bindings is forgotten too. */
  removeBinding(b: BindingRecord): void {
    this.bindings.delete(bindingKey(b));
    this.dropUnboundAutoDelete(b.source);
  }

  /** The user cancelled a consumer; `remaining` says whether any other consumer uses the queue. */
  consumerCancelled(queue: string, remaining: boolean): void {
    const q = this.qs?.get(queue);
    if (q?.autoDelete && !remaining) this.deleteQueue(queue);
  }

  /** A server-named queue got a new name on recovery: move its record and bindings, keeping order. */
  rename(oldName: string, newName: string): void {
    const q = this.queues.get(oldName);
    if (!q || oldName === newName) return;
    const queues = [...this.queues];
    this.queues.clear();
    for (const [k, v] of queues) {
      if (k === newName) continue;
      if (k === oldName) this.queues.set(newName, { ...v, name: newName });
      else this.queues.set(k, v);
    }
    const bindings = [...this.bindings.values()];
    this.bindings.clear();
    for (const b of bindings) {
      this.recordBinding(b.kind === 'queue-binding' && b.destination === oldName ? { ...b, destination: newName } : b);
    }
  }

  /** The recorded declaration of `queue`, if any. */
  recordedQueue(queue: string): QueueRecord | undefined {
    return this.qs?.get(queue);
  }

  /** Everything to re-declare, in a safe order: exchanges, queues, then bindings. */
  entities(): TopologyEntity[] {
    return [...(this.ex?.values() ?? []), ...(this.qs?.values() ?? []), ...(this.bs?.values() ?? [])];
  }
}
