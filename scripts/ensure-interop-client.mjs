#!/usr/bin/env node
// Makes the second AMQP client of the interop tests available: Debian's python3-pika, which
// imports only under /usr/bin/python3. Installs it with apt-get when missing and running as root;
// otherwise says how (the interop tests then fail with the same hint). Always exits 0.
import { spawnSync } from 'node:child_process';

const PYTHON = '/usr/bin/python3';
const hasPika = () => spawnSync(PYTHON, ['-c', 'import pika'], { stdio: 'ignore' }).status === 0;

if (hasPika()) process.exit(0);
const root = typeof process.getuid === 'function' && process.getuid() === 0;
const apt = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
if (root && apt) {
  console.error('ensure-interop-client: installing python3-pika (apt-get) for the interop tests');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  spawnSync('apt-get', ['install', '-y', '-qq', 'python3-pika'], { stdio: 'inherit', env });
}
if (!hasPika())
  console.error(
    'ensure-interop-client: python3-pika is missing: install it with `apt-get install python3-pika` (the interop tests need it)',
  );
