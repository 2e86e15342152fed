/**
 * Exit codes per error class, the one-line error message a person sees, and the redaction that
 * keeps passwords out of everything the CLI prints. The table here is the one `amqpts --help`
 * and docs/cli.md show.
 */
import {
  AccessRefused,
  AMQPError,
  ArgumentError,
  ConsumerCancelled,
  InvalidPath,
  NoRoute,
  NotAllowed,
  NotFound,
  PreconditionFailed,
  PublishBufferFull,
  PublishNacked,
  RecoverableConnectionError,
  ResourceLocked,
  Timeout,
} from '../core.js';
import { interruption, signalExitCode } from './errors.js';

/** The CLI's exit codes. */
export const EXIT = {
  /** Success. */
  OK: 0,
  /** Bad usage: unknown option, invalid value, unreadable file or connect.json. */
  USAGE: 1,
  /** The broker could not be reached, or the connection was lost (refused, reset, closed by the server). */
  UNREACHABLE: 2,
  /** Access refused or not allowed: wrong user or password, missing permissions, vhost access (403, 530). */
  ACCESS: 3,
  /** Not found: queue, exchange or vhost (404, 402). */
  NOT_FOUND: 4,
  /** Precondition failed or resource locked: redeclared with other settings, exclusive queue (406, 405). */
  PRECONDITION: 5,
  /** A timeout: connecting, or waiting for the broker longer than --timeout. */
  TIMEOUT: 6,
  /** Any other AMQP error (e.g. a consumer cancelled by the server, 5xx connection errors). */
  AMQP: 7,
  /** A message was not accepted: returned unroutable with --mandatory (312), or nacked with --confirm. */
  NOT_DELIVERED: 8,
  /** A bug in amqpts: an unexpected internal error (run with --verbose for its stack). */
  INTERNAL: 70,
  /** Interrupted by Ctrl-C (SIGINT); 143 for SIGTERM, 141 when stdout was closed (SIGPIPE). */
  INTERRUPTED: 130,
} as const;

/** The text `amqpts --help` prints about exit codes. */
export const EXIT_CODES_HELP = `Exit codes:
  0    success
  1    usage: bad option or value, unreadable file or connect.json
  2    broker unreachable or connection lost (refused, reset, closed by the server)
  3    access refused: login (user/password), permissions, vhost access (403, 530)
  4    not found: queue, exchange or vhost (404, 402)
  5    precondition failed or resource locked (406, 405)
  6    timeout (connecting, or a reply slower than --timeout)
  7    other AMQP error
  8    message not delivered: returned unroutable (--mandatory) or nacked (--confirm)
  70   internal error (a bug: run with --verbose and report it)
  130  interrupted (Ctrl-C); 143 for SIGTERM, 141 when stdout closed (SIGPIPE)`;

/** Whether `err` is commander's own error (usage, --help, --version), which carries its exit code. */
function commanderExitCode(err: unknown): number | undefined {
  if (!(err instanceof Error)) return undefined;
  const e = err as Error & { code?: unknown; exitCode?: unknown };
  return typeof e.code === 'string' && e.code.startsWith('commander.') && typeof e.exitCode === 'number' ? e.exitCode : undefined;
}

/** The exit code for an error a command ended with (see {@link EXIT}). */
export function exitCodeFor(err: unknown): number {
  const stop = interruption(err);
  if (stop) return signalExitCode(stop.signal);
  const cmd = commanderExitCode(err);
  if (cmd !== undefined) return cmd === 0 ? EXIT.OK : EXIT.USAGE;
  if (!(err instanceof AMQPError)) return EXIT.INTERNAL;
  if (err instanceof ArgumentError) return EXIT.USAGE;
  if (err instanceof Timeout) return EXIT.TIMEOUT;
  if (err instanceof AccessRefused || err instanceof NotAllowed) return EXIT.ACCESS;
  if (err instanceof NotFound || err instanceof InvalidPath) return EXIT.NOT_FOUND;
  if (err instanceof PreconditionFailed || err instanceof ResourceLocked) return EXIT.PRECONDITION;
  if (err instanceof NoRoute || err instanceof PublishNacked) return EXIT.NOT_DELIVERED;
  if (err instanceof ConsumerCancelled || err instanceof PublishBufferFull) return EXIT.AMQP;
  if (err instanceof RecoverableConnectionError) return EXIT.UNREACHABLE;
  return EXIT.AMQP;
}

/** Whether a literal secret is masked wherever it appears: not RabbitMQ's public default, and not so short it would mangle every line. */
function maskable(secret: string): boolean {
  return secret.length >= 4 && secret !== 'guest';
}

/**
 * Replaces secrets in `text`: the password of any `scheme://user:password@` URL, and every
 * literal secret given (longest first, so a secret containing another is masked whole; secrets
 * under 4 characters and the public default `guest` only in URLs).
 */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text.replace(/([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*):[^\s@/]*@/gi, '$1:***@');
  for (const s of [...secrets].filter(maskable).sort((a, b) => b.length - a.length)) out = out.split(s).join('***');
  return out;
}

/** What the server's reply text says without its `NOT_FOUND - ` style prefix. */
function plainText(err: AMQPError): string {
  if (err.replyCode === 0) return err.message;
  return err.replyText.replace(/^[A-Z_]+ - /, '') || err.message;
}

/**
 * The one-line message for a person, e.g. `amqpts: NotFound (404): no queue 'x' in vhost '/'`.
 * Passwords are masked (see {@link redact}).
 */
export function describeError(err: unknown, secrets: readonly string[] = []): string {
  let line: string;
  if (err instanceof AMQPError) {
    const stop = interruption(err);
    line = stop ? stop.message : `${err.name}${err.replyCode ? ` (${err.replyCode})` : ''}: ${plainText(err)}`;
  } else if (err instanceof Error) {
    line = `internal error: ${err.name}: ${err.message} (run with --verbose for the stack)`;
  } else {
    line = `internal error: ${String(err)}`;
  }
  return redact(`amqpts: ${line.replace(/\s*\n\s*/g, ' ')}`, secrets);
}

/** The stack of `err` and of its causes, masked, for --verbose. */
export function describeStack(err: unknown, secrets: readonly string[] = []): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    parts.push(depth === 0 ? String(e instanceof Error ? e.stack : e) : `caused by: ${String(e instanceof Error ? e.stack : e)}`);
    e = e instanceof Error ? e.cause : undefined;
  }
  return redact(parts.join('\n'), secrets);
}
