/**
 * What every command gets: the process (io.ts), the resolved broker target (url.ts), the global
 * options (--timeout, --verbose, --quiet), logging to stderr with secrets masked, and connecting.
 * Connections made here never reconnect (a CLI should fail fast and say why), use --timeout for
 * connecting and for every broker call, and abort on Ctrl-C.
 */
import { Connection, type CallOptions } from '../core.js';
import { interruption, signalExitCode } from './errors.js';
import { redact } from './exit-codes.js';
import type { CliIo } from './io.js';
import type { Target } from './url.js';

/** Global options, shared by every command. */
export interface GlobalOptions {
  /** --url, if given. */
  url?: string | undefined;
  /** --timeout in ms: connecting, and each wait for a broker reply. */
  timeout: number;
  /** --verbose: connection details and stacks on stderr. */
  verbose: boolean;
  /** --quiet: no summaries or progress on stderr (errors still print). */
  quiet: boolean;
}

/** A command's context. */
export class CliContext {
  /**
   * @param io - the process.
   * @param target - the broker.
   * @param global - global options.
   * @param command - the command's name (for the connection name the broker shows).
   */
  constructor(
    readonly io: CliIo,
    readonly target: Target,
    readonly global: GlobalOptions,
    readonly command: string,
  ) {}

  /** Options for a broker call: --timeout and the Ctrl-C signal. */
  get call(): CallOptions {
    return { timeout: this.global.timeout, signal: this.io.signal };
  }

  /**
   * The exit code of a run that ended on its own or by a signal: 0, or 130 after Ctrl-C (143 for
   * SIGTERM, 141 for SIGPIPE). Commands that stop cleanly on Ctrl-C (consume, perf) return it.
   */
  endCode(): number {
    const stop = interruption(this.io.signal.reason);
    return this.io.signal.aborted && stop ? signalExitCode(stop.signal) : 0;
  }

  /** Writes a line for a person on stderr (unless --quiet), secrets masked. */
  info(line: string): void {
    if (!this.global.quiet) this.io.stderr.write(`${redact(line, this.target.secrets)}\n`);
  }

  /** Writes a line on stderr only with --verbose, secrets masked. */
  debug(line: string): void {
    if (this.global.verbose) this.io.stderr.write(`amqpts: ${redact(line, this.target.secrets)}\n`);
  }

  /**
   * Connects to the target (no reconnect; --timeout for the handshake and for calls; Ctrl-C aborts).
   * @throws ConnectionLost when unreachable; AccessRefused for a refused login; NotAllowed /
   *   InvalidPath for the vhost; Timeout; ArgumentError for invalid options.
   */
  async connect(label = this.command): Promise<Connection> {
    this.debug(`connecting to ${this.target.display} (from ${this.target.source})`);
    const conn = await Connection.connect({
      ...this.target.options,
      connectTimeout: this.global.timeout,
      callTimeout: this.global.timeout,
      reconnect: false,
      signal: this.io.signal,
      clientProperties: { connection_name: `amqpts ${label}` },
    });
    this.debug(`connected: ${String(conn.serverProperties['product'] ?? 'server')} ${String(conn.serverProperties['version'] ?? '')}`);
    return conn;
  }

  /** Connects, runs `fn`, and always closes the connection (waiting up to --timeout). */
  async withConnection<T>(fn: (conn: Connection) => Promise<T>): Promise<T> {
    const conn = await this.connect();
    try {
      return await fn(conn);
    } finally {
      await conn.close({ timeout: this.global.timeout }).catch(() => undefined);
    }
  }
}
