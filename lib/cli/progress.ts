/**
 * Live progress on a terminal, plain lines in a pipe. On a TTY a cli-progress bar redraws one
 * line in place (a bar when the total is known, then the command's status text); elsewhere the
 * status text is written as one plain line per update, or not at all when `plain` is false. The
 * bar installs no signal handlers: the CLI's own SIGINT handling stops it.
 */
import cliProgress from 'cli-progress';
import type { OutStream } from './io.js';

/** Options of {@link LiveLine}. */
export interface LiveLineOptions {
  /** The total the bar counts to (messages, or milliseconds of a timed run); none draws no bar. */
  total?: number | undefined;
  /** In a pipe, print each update as a plain line (default false: print nothing). */
  plain?: boolean;
  /** Turns the line off altogether (--quiet, --json on a shared stream). */
  disabled?: boolean;
}

/** One live status line on `stream`. */
export class LiveLine {
  private bar: cliProgress.SingleBar | null = null;
  private readonly tty: boolean;
  private stopped = false;

  /**
   * @param stream - where to draw (stderr for the CLI).
   * @param opts - total, plain-line mode, disabled.
   */
  constructor(
    private readonly stream: OutStream,
    private readonly opts: LiveLineOptions = {},
  ) {
    this.tty = stream.isTTY === true && !opts.disabled;
    if (this.tty) {
      const withBar = opts.total !== undefined && opts.total > 0;
      this.bar = new cliProgress.SingleBar({
        stream: stream as unknown as NodeJS.WritableStream,
        format: withBar ? '[{bar}] {status}' : '{status}',
        barsize: 20,
        hideCursor: false,
        gracefulExit: false,
        clearOnComplete: false,
        linewrap: false,
        fps: 8,
      });
      this.bar.start(withBar ? (opts.total as number) : 1, 0, { status: '' });
    }
  }

  /** True when the line is drawn in place on a terminal. */
  get isLive(): boolean {
    return this.tty;
  }

  /** Shows `status` (and moves the bar to `value`); in a pipe, prints it as a line when `plain`. */
  update(value: number, status: string): void {
    if (this.stopped || this.opts.disabled) return;
    if (this.bar) this.bar.update(Math.min(value, this.opts.total ?? value), { status });
    else if (this.opts.plain) this.stream.write(`${status}\n`);
  }

  /** Draws the last state and ends the line (the terminal keeps it); later updates do nothing. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.bar?.stop();
  }
}
