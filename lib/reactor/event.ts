/**
 * Event: what every handler method receives (Proton's `proton.Event`), and ApplicationEvent, an
 * event the application defines and injects (`EventInjector.trigger`). An event carries the
 * objects it concerns; the accessors (`e.sender`, `e.message`...) are typed as present and throw
 * `EventContextError` when the event has none, so `e.sender.send(...)` reads as in Proton, while
 * `e.context` holds the same objects as optional fields for code that checks first.
 */
import type { AMQPError, Message, MessageBody } from '../core.js';
import type { ContainerConnection } from './connection.js';
import type { Delivery } from './delivery.js';
import { EventContextError } from './errors.js';
import type { Link, ProtonSession } from './link.js';
import type { Reactor } from './model.js';
import type { Receiver } from './receiver.js';
import type { Sender } from './sender.js';
import type { Task } from './task.js';
import type { Transaction } from './transaction.js';

declare module './model.js' {
  interface Reactor {
    /** The Event class (see model.ts). */
    Event: Event;
    /** The EventContext interface (see model.ts). */
    EventContext: EventContext;
  }
}

type Container = Reactor['Container'];

/** The objects an event concerns; each is present only when the event has it. */
export interface EventContext {
  /** The connection of the event. */
  readonly connection?: ContainerConnection | undefined;
  /** The session (channel) of the event. */
  readonly session?: ProtonSession | undefined;
  /** The link (sender or receiver) of the event. */
  readonly link?: Link | undefined;
  /** The delivery of a message event or of an outcome (accepted, rejected...). */
  readonly delivery?: Delivery | undefined;
  /** The transaction of a transaction event. */
  readonly transaction?: Transaction | undefined;
  /** The timer task of `onTimerTask`. */
  readonly task?: Task | undefined;
  /** The error of an error event (onLinkError, onTransportError, onError...). */
  readonly error?: AMQPError | undefined;
  /** An application event's subject. */
  readonly subject?: unknown;
}

/** The handler method an event type calls: `message` -> `onMessage`, `my_event` -> `onMyEvent`. */
export function methodFor(type: string): string {
  const camel = type.replace(/[_\-\s]+([a-zA-Z0-9])/g, (_m, c: string) => c.toUpperCase());
  return `on${camel.charAt(0).toUpperCase()}${camel.slice(1)}`;
}

/** An event, as handler methods receive it. */
export class Event {
  /** The event type: the handler method without `on`, e.g. `message`, `linkOpened`, `timerTask`. */
  readonly type: string;
  /** The container the event happens in. */
  readonly container: Container;
  /** The objects the event concerns, each optional. */
  readonly context: EventContext;

  /** @internal Events are made by the container. */
  constructor(type: string, container: Container, context: EventContext) {
    this.type = type;
    this.container = container;
    this.context = context;
  }

  private need<T>(value: T | undefined, what: string): T {
    if (value === undefined) throw new EventContextError(`a '${this.type}' event has no ${what}`);
    return value;
  }

  /** The connection. @throws EventContextError when the event has none. */
  get connection(): ContainerConnection {
    return this.need(this.context.connection ?? this.context.link?.connection, 'connection');
  }

  /** The session (channel). @throws EventContextError when the event has none. */
  get session(): ProtonSession {
    return this.need(this.context.session ?? this.context.link?.session, 'session');
  }

  /** The link. @throws EventContextError when the event has none. */
  get link(): Link {
    return this.need(this.context.link ?? this.context.delivery?.link, 'link');
  }

  /** The link, when it is a sender. @throws EventContextError when the event has no sender. */
  get sender(): Sender {
    const l = this.context.link ?? this.context.delivery?.link;
    return this.need(l?.kind === 'sender' ? (l as Sender) : undefined, 'sender');
  }

  /** The link, when it is a receiver. @throws EventContextError when the event has no receiver. */
  get receiver(): Receiver {
    const l = this.context.link ?? this.context.delivery?.link;
    return this.need(l?.kind === 'receiver' ? (l as Receiver) : undefined, 'receiver');
  }

  /** The delivery. @throws EventContextError when the event has none. */
  get delivery(): Delivery {
    return this.need(this.context.delivery, 'delivery');
  }

  /**
   * The message of the delivery: for `onMessage` the received message (a JSON body arrives
   * decoded), for outcome events the message that was sent.
   * @throws EventContextError when the event has no delivery.
   */
  get message(): Message<MessageBody> {
    return this.need(this.context.delivery, 'message').message;
  }

  /** The transaction. @throws EventContextError when the event has none. */
  get transaction(): Transaction {
    return this.need(this.context.transaction, 'transaction');
  }

  /** The timer task of `onTimerTask`. @throws EventContextError for other events. */
  get task(): Task {
    return this.need(this.context.task, 'task');
  }

  /** The error of an error event, or undefined. */
  get error(): AMQPError | undefined {
    return this.context.error;
  }

  /** An application event's subject, or undefined. */
  get subject(): unknown {
    return this.context.subject;
  }
}

/** What an ApplicationEvent may be associated with. */
export interface ApplicationEventOptions {
  /** Associates the event with a connection: its handler handles it. */
  connection?: ContainerConnection;
  /** Associates the event with a session. */
  session?: ProtonSession;
  /** Associates the event with a link: the link's handler handles it. */
  link?: Link;
  /** Associates the event with a delivery. */
  delivery?: Delivery;
  /** Any value the handler should see as `e.subject`. */
  subject?: unknown;
}

/**
 * An application-defined event (Proton's `ApplicationEvent`): injected with
 * `EventInjector.trigger()`, handled on the container's loop by `on<Typename>` of the handler of
 * the object it is associated with (the link's, the connection's, else the container's handlers):
 * `new ApplicationEvent('tick')` calls `onTick`, `'my_event'` calls `onMyEvent`.
 */
export class ApplicationEvent {
  /** The event type name. */
  readonly typename: string;
  /** What the event is associated with. */
  readonly options: Readonly<ApplicationEventOptions>;

  /**
   * @param typename - the event type: letters, digits, `_` or `-`, starting with a letter.
   * @param options - connection, session, link, delivery and subject.
   * @throws ArgumentError (EventContextError) for an empty or malformed type name.
   */
  constructor(typename: string, options: ApplicationEventOptions = {}) {
    if (typeof typename !== 'string' || !/^[A-Za-z][A-Za-z0-9_-]*$/.test(typename)) {
      throw new EventContextError(
        `ApplicationEvent: typename must start with a letter and hold letters, digits, _ or -, got ${JSON.stringify(typename)}`,
      );
    }
    this.typename = typename;
    this.options = { ...options };
  }

  /** The event type name (Proton's `type`): the same as `typename`. */
  get type(): string {
    return this.typename;
  }

  /** The handler method this event calls, e.g. `onTick`. */
  get method(): string {
    return methodFor(this.typename);
  }
}
