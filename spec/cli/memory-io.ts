// A CliIo for unit tests: captured stdout/stderr, a given stdin, environment and directories,
// and an abort() that plays Ctrl-C.
import { Readable } from 'node:stream';
import { Interrupted, type StopSignal } from '../../lib/cli/errors.js';
import type { CliIo, OutStream } from '../../lib/cli/io.js';

/** An output stream that keeps everything written. */
export class MemoryStream implements OutStream {
  readonly chunks: Buffer[] = [];
  constructor(public isTTY = false) {}
  write(chunk: string | Uint8Array): boolean {
    this.chunks.push(Buffer.from(chunk));
    return true;
  }
  once(): this {
    return this;
  }
  get text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

export interface MemoryIo {
  io: CliIo;
  out: MemoryStream;
  err: MemoryStream;
  /** Aborts the signal as Ctrl-C (or another signal) would. */
  interrupt(signal?: StopSignal): void;
}

export function memoryIo(
  o: { env?: Record<string, string>; stdin?: string; stdinIsTTY?: boolean; cwd?: string; home?: string; stdoutIsTTY?: boolean } = {},
): MemoryIo {
  const out = new MemoryStream(o.stdoutIsTTY ?? false);
  const err = new MemoryStream(false);
  const ac = new AbortController();
  const stdin = Readable.from(o.stdin === undefined ? [] : [Buffer.from(o.stdin)]) as Readable & { isTTY?: boolean };
  stdin.isTTY = o.stdinIsTTY ?? o.stdin === undefined;
  const io: CliIo = {
    stdout: out,
    stderr: err,
    stdin,
    env: o.env ?? {},
    cwd: o.cwd ?? '/nonexistent-cwd',
    home: o.home ?? '/nonexistent-home',
    signal: ac.signal,
  };
  return { io, out, err, interrupt: (signal = 'SIGINT') => ac.abort(new Interrupted(signal)) };
}
