/**
 * Keeping passwords out of messages, logs, `util.inspect` and JSON: a `Secret` holds a value that
 * only `reveal()` gives back (it inspects, prints and serialises as `***`), and `redactUrl()` masks
 * the password of a URL written in a message.
 */

const INSPECT = Symbol.for('nodejs.util.inspect.custom');

/** A secret value (a password): `reveal()` gives it back; everything else shows `***`. */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** The secret itself. */
  reveal(): string {
    return this.#value;
  }

  /** `***` */
  toString(): string {
    return '***';
  }

  /** `"***"` in JSON. */
  toJSON(): string {
    return '***';
  }

  /** `***` in util.inspect. */
  [INSPECT](): string {
    return '***';
  }
}

/**
 * `url` with its password replaced by `***` (`amqp://user:***@host/vhost`). Works on strings that
 * are not valid URLs too (the part between `//user:` and the last `@` before the path).
 */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/?#@:]*:)[^/?#]*@/i, '$1***@');
}

/**
 * Makes an options object that holds a password show `***` instead, in util.inspect and JSON,
 * without changing what its properties hold (the added methods are not enumerable, so spreading
 * the object copies only the options).
 */
export function hidePassword<T extends object>(options: T): T {
  const masked = (): Record<string, unknown> => {
    const copy: Record<string, unknown> = { ...(options as Record<string, unknown>) };
    if ('password' in copy && copy['password'] !== undefined) copy['password'] = '***';
    if (typeof copy['url'] === 'string') copy['url'] = redactUrl(copy['url']);
    return copy;
  };
  Object.defineProperty(options, INSPECT, { value: masked, enumerable: false });
  Object.defineProperty(options, 'toJSON', { value: masked, enumerable: false });
  return options;
}
