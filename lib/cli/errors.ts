/**
 * The CLI's own error classes: bad command-line input (UsageError), a bad connect.json
 * (ConfigError), and a run ended by a signal (Interrupted). They extend the core's error tree, so
 * one exit-code table (exit-codes.ts) covers every failure a command can end with.
 */
import { ArgumentError, Timeout } from '../core.js';

/** The command line itself is wrong: an unknown value, a missing body, options that conflict. */
export class UsageError extends ArgumentError {}

/** A connect.json file (or another configuration source) cannot be read or is malformed. */
export class ConfigError extends ArgumentError {}

/** The signals that end a run early. */
export type StopSignal = 'SIGINT' | 'SIGTERM' | 'SIGPIPE';

/** The exit code a signal ends the run with (128 + its number, as shells report it). */
export function signalExitCode(signal: StopSignal): number {
  return signal === 'SIGTERM' ? 143 : signal === 'SIGPIPE' ? 141 : 130;
}

/**
 * The run was interrupted: Ctrl-C (SIGINT), SIGTERM, or SIGPIPE when stdout was closed under it
 * (`amqpts consume q | head -1`). It is the abort reason of the CLI's AbortSignal, so a core call
 * cut short by it rejects with a `Timeout` whose `cause` is this.
 */
export class Interrupted extends Timeout {
  /** The signal that ended the run, e.g. `SIGINT`. */
  readonly signal: StopSignal;

  /** @param signal - the signal received. */
  constructor(signal: StopSignal = 'SIGINT') {
    super(signal === 'SIGPIPE' ? 'stdout was closed (SIGPIPE)' : `interrupted (${signal})`);
    this.signal = signal;
  }
}

/** The Interrupted error behind `err` (itself, or the cause of a Timeout it produced), if any. */
export function interruption(err: unknown): Interrupted | undefined {
  if (err instanceof Interrupted) return err;
  if (err instanceof Error && err.cause instanceof Interrupted) return err.cause;
  return undefined;
}
