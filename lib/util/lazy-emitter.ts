/**
 * LazyEmitter: the EventEmitter API (on, once, off, emit, listenerCount...) with the emitter
 * created only when a listener is first added. A channel or connection nobody listens to then
 * holds no listener table: thousands of idle channels stay small. `events.once(obj, name)` and
 * `for await (... of on(obj, name))` from node:events work with it as with an EventEmitter.
 */
import { EventEmitter } from 'node:events';

/** Listener of event `K` of the event map `E` (each entry is the tuple of the event's arguments). */
export type Listener<E, K extends keyof E> = E[K] extends unknown[] ? (...args: E[K]) => void : never;

/** See the file header. `E` maps event names to their argument tuples. */
export class LazyEmitter<E extends { [K in keyof E]: unknown[] }> {
  #ee: EventEmitter | null = null;

  #emitter(): EventEmitter {
    return (this.#ee ??= new EventEmitter());
  }

  /** Adds a listener. */
  on<K extends keyof E & string>(event: K, listener: Listener<E, K>): this {
    this.#emitter().on(event, listener);
    return this;
  }

  /** Same as `on`. */
  addListener<K extends keyof E & string>(event: K, listener: Listener<E, K>): this {
    return this.on(event, listener);
  }

  /** Adds a listener called at most once. */
  once<K extends keyof E & string>(event: K, listener: Listener<E, K>): this {
    this.#emitter().once(event, listener);
    return this;
  }

  /** Adds a listener before the others. */
  prependListener<K extends keyof E & string>(event: K, listener: Listener<E, K>): this {
    this.#emitter().prependListener(event, listener);
    return this;
  }

  /** Adds a one-time listener before the others. */
  prependOnceListener<K extends keyof E & string>(event: K, listener: Listener<E, K>): this {
    this.#emitter().prependOnceListener(event, listener);
    return this;
  }

  /** Removes a listener. */
  off<K extends keyof E & string>(event: K, listener: Listener<E, K>): this {
    this.#ee?.off(event, listener);
    return this;
  }

  /** Same as `off`. */
  removeListener<K extends keyof E & string>(event: K, listener: Listener<E, K>): this {
    return this.off(event, listener);
  }

  /** Removes every listener (of `event`, or of all events). */
  removeAllListeners<K extends keyof E & string>(event?: K): this {
    if (event === undefined) this.#ee?.removeAllListeners();
    else this.#ee?.removeAllListeners(event);
    return this;
  }

  /** Calls the listeners of `event`; true if there were any. */
  emit<K extends keyof E & string>(event: K, ...args: E[K]): boolean {
    return this.#ee?.emit(event, ...args) === true;
  }

  /** Number of listeners of `event`. */
  listenerCount<K extends keyof E & string>(event: K): number {
    return this.#ee === null ? 0 : this.#ee.listenerCount(event);
  }

  /** The listeners of `event`. */
  listeners<K extends keyof E & string>(event: K): Listener<E, K>[] {
    return this.#ee === null ? [] : (this.#ee.listeners(event) as Listener<E, K>[]);
  }

  /** The listeners of `event`, including `once` wrappers. */
  rawListeners<K extends keyof E & string>(event: K): Listener<E, K>[] {
    return this.#ee === null ? [] : (this.#ee.rawListeners(event) as Listener<E, K>[]);
  }

  /** The listener count above which Node warns of a possible leak. */
  getMaxListeners(): number {
    return this.#ee === null ? EventEmitter.defaultMaxListeners : this.#ee.getMaxListeners();
  }

  /** The names of events with listeners. */
  eventNames(): Array<keyof E & string> {
    return this.#ee === null ? [] : (this.#ee.eventNames() as Array<keyof E & string>);
  }

  /** Raises or lowers the listener count above which Node warns of a possible leak (default 10). */
  setMaxListeners(n: number): this {
    this.#emitter().setMaxListeners(n);
    return this;
  }
}
