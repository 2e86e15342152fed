/**
 * EventInjector (Proton's), which feeds application events into the container's loop from any
 * async context, or from a worker thread through a MessagePort: `injector.port()` gives the port
 * to transfer to the worker, where a `RemoteEventInjector` on it triggers events and closes the
 * injector. Events are handled in the order triggered. While registered
 * (`container.selectable(injector)`) and not closed, an injector keeps `run()` going; `close()`
 * lets it finish once the events already triggered have been handled. Across threads only the
 * type name and a structured-clonable subject travel. Timer tasks are in task.ts.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { ArgumentError } from '../core.js';
import { ApplicationEvent } from './event.js';
import type { Reactor } from './model.js';

type Container = Reactor['Container'];

/** What travels over an injector's MessagePort. */
type Wire = { kind: 'trigger'; typename: string; subject: unknown } | { kind: 'close' };

function isWire(v: unknown): v is Wire {
  if (v === null || typeof v !== 'object') return false;
  const w = v as { kind?: unknown; typename?: unknown };
  return w.kind === 'close' || (w.kind === 'trigger' && typeof w.typename === 'string');
}

/** See the file header. */
export class EventInjector {
  private container: Container | null = null;
  private early: ApplicationEvent[] = [];
  private local: MessagePort | null = null;
  private _closed = false;

  /** True once close() was called. */
  get closed(): boolean {
    return this._closed;
  }

  /**
   * Queues `event` for the container's loop, where `on<Typename>` of the handler of its
   * connection or link (else the container's handlers) handles it.
   * @throws ArgumentError for something that is not an ApplicationEvent, or after close().
   */
  trigger(event: ApplicationEvent): void {
    if (!(event instanceof ApplicationEvent)) throw new ArgumentError('EventInjector.trigger() takes an ApplicationEvent');
    if (this._closed) throw new ArgumentError(`EventInjector is closed: '${event.typename}' not triggered`);
    if (this.container) this.container.inject(event);
    else this.early.push(event);
  }

  /**
   * The MessagePort a worker thread triggers events through (transfer it to the worker and wrap
   * it in a RemoteEventInjector there). The same port is returned on every call.
   * @throws ArgumentError after close().
   */
  port(): MessagePort {
    if (this._closed) throw new ArgumentError('EventInjector is closed: no port');
    if (!this.remotePort) {
      const { port1, port2 } = new MessageChannel();
      this.local = port1;
      this.remotePort = port2;
      port1.on('message', (m: unknown) => {
        if (!isWire(m) || this._closed) return; // not ours (a dedicated port is expected)
        if (m.kind === 'close') this.close();
        else this.trigger(new ApplicationEvent(m.typename, { subject: m.subject }));
      });
    }
    return this.remotePort;
  }

  private remotePort: MessagePort | null = null;

  /** Closes the injector: events already triggered are still handled, then run() may finish. */
  close(): void {
    if (this._closed) return;
    this._closed = true;
    this.local?.close();
    this.local = null;
    this.container?.injectorClosed(this);
  }

  /** @internal Registers with `container` (container.selectable()). */
  attach(container: Container): void {
    if (this.container && this.container !== container) throw new ArgumentError('EventInjector: already registered with another container');
    this.container = container;
    const early = this.early;
    this.early = [];
    for (const e of early) container.inject(e);
    if (this._closed) container.injectorClosed(this);
  }
}

/**
 * The worker-thread side of an EventInjector: wraps the MessagePort from `injector.port()`.
 * Only the type name and subject of an event travel (structured clone); connection, link and
 * delivery associations cannot cross threads.
 */
export class RemoteEventInjector {
  private open = true;

  /** @param port - the port from `injector.port()`, transferred to this thread. */
  constructor(private readonly port: MessagePort) {}

  /**
   * Triggers `event` (or an event of type `typename` with `subject`) on the container's loop.
   * @throws ArgumentError for an event associated with a connection, link or delivery, or after close().
   */
  trigger(event: ApplicationEvent | string, subject?: unknown): void {
    if (!this.open) throw new ArgumentError('RemoteEventInjector is closed');
    const e = typeof event === 'string' ? new ApplicationEvent(event, { subject }) : event;
    const o = e.options;
    if (o.connection || o.session || o.link || o.delivery) {
      throw new ArgumentError(
        `RemoteEventInjector: '${e.typename}' is associated with a connection, link or delivery, which cannot cross threads`,
      );
    }
    this.port.postMessage({ kind: 'trigger', typename: e.typename, subject: o.subject } satisfies Wire);
  }

  /** Closes the injector on the container's side (after the events sent before) and this port. */
  close(): void {
    if (!this.open) return;
    this.open = false;
    this.port.postMessage({ kind: 'close' } satisfies Wire);
    this.port.close();
  }
}
