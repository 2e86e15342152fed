// amqpts with a no-op subscriber on every diagnostics channel (every payload built and published),
// to run beside `amqpts` (nobody subscribed, the default) and show what the channels cost:
//   npm run bench -- --clients raw,amqpts,amqpts-diag --scenarios publish-noconfirm,consume-ack1
// The report counts it as a variant of amqpts, never as a library.
import diagnosticsChannel from 'node:diagnostics_channel';
import { DIAGNOSTICS_CHANNELS } from '../../dist/index.js';
import amqpts from './amqpts.mjs';

for (const name of Object.values(DIAGNOSTICS_CHANNELS)) diagnosticsChannel.subscribe(name, () => {});

export default {
  ...amqpts,
  name: 'amqpts-diag',
  library: 'amqpts (a no-op subscriber on every diagnostics channel)',
};
