// jest globalTeardown of the `cluster` project: stops the cluster, whether the tests passed or not,
// unless it was already running before the run (then it is left as it was found) or
// AMQPTS_CLUSTER_KEEP=1. Prints how long the project took, start to stop.
import { stop } from '../../../scripts/cluster.mjs';

export default async function globalTeardown() {
  const state = globalThis.__amqptsCluster ?? { t0: Date.now(), started: true };
  const log = (m) => process.stderr.write(`cluster: ${m}\n`);
  if (!state.started) log('left running (it was running before the tests)');
  else if (process.env.AMQPTS_CLUSTER_KEEP === '1') log('left running (AMQPTS_CLUSTER_KEEP=1); stop it with `npm run cluster -- stop`');
  else await stop({ log });
  log(`cluster project took ${Math.round((Date.now() - state.t0) / 1000)} s (start, tests, stop)`);
}
