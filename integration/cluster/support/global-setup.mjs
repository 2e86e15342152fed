// jest globalSetup of the `cluster` project: starts the three-node cluster (scripts/cluster.mjs),
// or finds it running, and hands its URLs to the tests (AMQPTS_CLUSTER_URLS). If starting fails
// half-way, whatever was started is stopped again before the run fails.
import { clusterUrls, start, stop } from '../../../scripts/cluster.mjs';

export default async function globalSetup() {
  const t0 = Date.now();
  const log = (m) => process.stderr.write(`\ncluster: ${m}`);
  globalThis.__amqptsCluster = { t0, started: false };
  try {
    const r = await start({ log });
    globalThis.__amqptsCluster.started = r.started;
  } catch (err) {
    await stop({ log }).catch((e) => log(`stop after a failed start: ${e.message}`));
    throw new Error(
      `the cluster tests need three local RabbitMQ nodes and they did not start:\n${err instanceof Error ? err.message : err}`,
    );
  }
  process.env.AMQPTS_CLUSTER_URLS = clusterUrls().join(' ');
  log(`ready after ${Date.now() - t0} ms\n`);
}
