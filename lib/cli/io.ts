/**
 * The CLI's view of its process: output streams, stdin, environment, directories and the
 * AbortSignal that Ctrl-C fires. Commands use only this object, never `process` directly, so unit
 * tests can run them with captured streams; `nodeIo()` builds the real one and owns the signal
 * handlers (first SIGINT/SIGTERM: abort cleanly; a second one: exit at once).
 */
import { homedir } from 'node:os';
import type { Readable } from 'node:stream';
import { Interrupted } from './errors.js';

/** An output stream as the CLI uses it (a subset of a Node Writable / tty.WriteStream). */
export interface OutStream {
  /** Writes text or bytes; false when the stream's buffer is full (wait for 'drain'). */
  write(chunk: string | Uint8Array): boolean;
  /** True when the stream is a terminal (then live progress lines are drawn on it). */
  isTTY?: boolean;
  /** Terminal width, when a terminal. */
  columns?: number;
  /** Registers a one-shot listener (used for 'drain'). */
  once(event: 'drain', listener: () => void): unknown;
}

/** What a command may use of its process. */
export interface CliIo {
  /** Data: messages, tables, JSON. */
  readonly stdout: OutStream;
  /** People: progress lines, summaries, errors. */
  readonly stderr: OutStream;
  /** Message bodies for `publish` when neither an argument nor --file gives one. */
  readonly stdin: Readable & { isTTY?: boolean };
  /** Environment variables (AMQP_URL, RABBITMQ_URL, MESSAGING_CONNECT_FILE, HOME...). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Working directory (where ./connect.json is looked for). */
  readonly cwd: string;
  /** Home directory (where ~/.config/messaging/connect.json is looked for). */
  readonly home: string;
  /** Aborted, with an {@link Interrupted} reason, when the user presses Ctrl-C. */
  readonly signal: AbortSignal;
}

/** Writes `text` and resolves once the stream can take more (after 'drain' when its buffer was full). */
export function writeOut(stream: OutStream, text: string | Uint8Array): Promise<void> | undefined {
  if (stream.write(text)) return undefined;
  return new Promise((resolve) => {
    stream.once('drain', resolve);
  });
}

/**
 * The real process: `process.stdout`/`stderr`/`stdin`/`env`, and signal handling. The first
 * SIGINT or SIGTERM aborts the returned signal (commands finish cleanly: final table printed,
 * connection closed, exit 130 or 143); a second one exits at once. A closed stdout (EPIPE, e.g.
 * `amqpts consume q | head -1`) aborts too, quietly.
 */
export function nodeIo(): CliIo {
  const ac = new AbortController();
  let signals = 0;
  const onSignal = (sig: 'SIGINT' | 'SIGTERM'): void => {
    signals++;
    if (signals === 1) ac.abort(new Interrupted(sig));
    else process.exit(sig === 'SIGTERM' ? 143 : 130);
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') {
      if (!ac.signal.aborted) ac.abort(new Interrupted('SIGPIPE'));
      return;
    }
    throw err;
  });
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    get stdin() {
      return process.stdin; // created on first use: an unused stdin must not keep the process alive
    },
    env: process.env,
    cwd: process.cwd(),
    home: process.env['HOME'] ?? homedir(),
    signal: ac.signal,
  };
}
