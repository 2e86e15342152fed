// jest globalSetup for the `integration` project: a broker must answer, or the run FAILS.
// (Integration tests are never skipped for lack of a broker.) Verifies only; it does not start
// or install anything — `npm test` / `npm run broker` run scripts/ensure-broker.mjs for that.
import { ensureBroker } from '../../scripts/ensure-broker.mjs';

export default async function globalSetup() {
  const timeoutMs = Number(process.env.BROKER_SETUP_TIMEOUT_MS) || 10_000;
  let url;
  try {
    url = await ensureBroker({ timeoutMs, start: false, log: () => {} });
  } catch (err) {
    throw new Error(
      [
        'integration tests need a RabbitMQ broker, and none answered an AMQP handshake',
        `within ${timeoutMs} ms.`,
        '',
        String(err instanceof Error ? err.message : err),
        '',
        'Fix: run `npm run broker` (finds, starts or installs one) or set RABBITMQ_URL,',
        'then re-run. Unit tests alone: `npm run test:unit`.',
      ].join('\n'),
    );
  }
  process.env.RABBITMQ_URL = url;
}
