/**
 * The `amqpts` program: global options (--url, --timeout, --verbose, --quiet), help with the exit
 * codes and where the URL comes from, and `run()`, which parses a command line, runs the command
 * and turns any error into its exit code and a one-line message (a stack only with --verbose).
 * Runners are injectable so unit tests can check parsing without a broker.
 */
import { Command, CommanderError } from 'commander';
import { VERSION } from '../core.js';
import { registerCommands, type Dispatch, type PlanTypes } from './commands.js';
import { runConsume } from './consume.js';
import { CliContext, type GlobalOptions } from './context.js';
import { runDeclare } from './declare.js';
import { runDelete } from './delete.js';
import { describeError, describeStack, EXIT_CODES_HELP, exitCodeFor } from './exit-codes.js';
import { runGet } from './get.js';
import type { CliIo } from './io.js';
import { duration } from './parse.js';
import { runPerf } from './perf.js';
import { runPing } from './ping.js';
import { runPublish } from './publish.js';
import { runPurge } from './purge.js';
import { resolveTarget } from './url.js';

/** One runner per command: runs a validated plan and resolves the exit code. */
export type Runners = { [K in keyof PlanTypes]: (ctx: CliContext, plan: PlanTypes[K]) => Promise<number> };

/** The real runners. */
export const RUNNERS: Runners = {
  publish: runPublish,
  consume: runConsume,
  get: runGet,
  declare: runDeclare,
  purge: runPurge,
  delete: runDelete,
  ping: runPing,
  perf: runPerf,
};

const URL_HELP = `The broker: --url, else $AMQP_URL, else $RABBITMQ_URL, else connect.json ($MESSAGING_CONNECT_FILE,
./connect.json, ~/.config/messaging/connect.json, /etc/messaging/connect.json), else
amqp://guest:guest@localhost:5672/. Passwords are never printed.`;

/** The default --timeout (ms). */
export const DEFAULT_TIMEOUT = 10_000;

interface RunState {
  code: number;
  secrets: string[];
  verbose: boolean;
}

/** Builds the commander program; `state` receives the exit code, the secrets and --verbose. */
function buildProgram(io: CliIo, runners: Runners, state: RunState): Command {
  const program = new Command('amqpts');
  program
    .description('AMQP 0.9.1 from the command line: publish, consume, get, declare, purge, delete, ping, perf')
    .version(VERSION, '-V, --version', 'print the amqpts version')
    .option('-u, --url <url>', 'broker URL, e.g. amqp://user:pass@host:5672/vhost (see below)')
    .option('-t, --timeout <time>', 'timeout for connecting and for each broker reply (e.g. 5s)', duration('--timeout'), DEFAULT_TIMEOUT)
    .option('-v, --verbose', 'connection details, and stacks with errors, on stderr', false)
    .option('-q, --quiet', 'no summaries or progress on stderr (errors still print)', false)
    .addHelpText('after', `\n${URL_HELP}\n\n${EXIT_CODES_HELP}\n\nRun \`amqpts <command> --help\` for a command's options.\n`)
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => void io.stdout.write(s),
      writeErr: (s) => void io.stderr.write(s),
      outputError: (s, write) => write(`amqpts: ${s.replace(/^error: /, '')}`),
    });
  const dispatch: Dispatch = async (cmd, label, runner, plan) => {
    const g = cmd.optsWithGlobals<{ url?: string; timeout: number; verbose: boolean; quiet: boolean }>();
    state.verbose = g.verbose;
    const target = resolveTarget({ url: g.url, env: io.env, cwd: io.cwd, home: io.home });
    state.secrets = target.secrets;
    const global: GlobalOptions = { url: g.url, timeout: g.timeout, verbose: g.verbose, quiet: g.quiet };
    const run = runners[runner] as (ctx: CliContext, plan: PlanTypes[typeof runner]) => Promise<number>;
    state.code = await run(new CliContext(io, target, global, label), plan);
  };
  registerCommands(program, dispatch, () => io.stdin.isTTY === true);
  return program;
}

/**
 * Runs one command line (`argv` without the node and script paths) and resolves its exit code.
 * Never rejects: errors are printed to stderr as one line (with the stack under --verbose),
 * passwords masked.
 */
export async function run(argv: readonly string[], io: CliIo, runners: Runners = RUNNERS): Promise<number> {
  const state: RunState = { code: 0, secrets: [], verbose: argv.includes('-v') || argv.includes('--verbose') };
  try {
    const program = buildProgram(io, runners, state);
    await program.parseAsync([...argv], { from: 'user' });
    return state.code;
  } catch (err) {
    const code = exitCodeFor(err);
    if (err instanceof CommanderError) return code; // commander printed its own message (or the help)
    io.stderr.write(`${describeError(err, state.secrets)}\n`);
    if (state.verbose) io.stderr.write(`${describeStack(err, state.secrets)}\n`);
    return code;
  }
}
