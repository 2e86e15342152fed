#!/usr/bin/env node
/**
 * The `amqpts` executable (package.json `bin`): runs one command line against the real process and
 * exits with its code. If something still holds the event loop two seconds after the command is
 * done (it should not), the process exits anyway: a CLI must never hang after its work.
 */
import { nodeIo } from './io.js';
import { run } from './program.js';

const code = await run(process.argv.slice(2), nodeIo());
process.exitCode = code;
setTimeout(() => process.exit(code), 2000).unref();
