/**
 * The Messenger's TLS properties (Proton's certificate, private_key, password and
 * trusted_certificates: paths of PEM files) as the core's TlsOptions, read when an amqps domain
 * connects.
 */
import { readFile } from 'node:fs/promises';
import { ArgumentError, type TlsOptions } from '../core.js';

/** The Messenger's TLS properties. */
export interface TlsProperties {
  certificate: string | undefined;
  privateKey: string | undefined;
  password: string | undefined;
  trustedCertificates: string | undefined;
}

async function read(path: unknown, what: string): Promise<Buffer> {
  if (typeof path !== 'string' || path === '') throw new ArgumentError(`Messenger.${what} must be a file path (a string)`);
  try {
    return await readFile(path);
  } catch (err) {
    throw new ArgumentError(`Messenger.${what} ${JSON.stringify(path)} cannot be read: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * TLS options from `base` (the connection options' `ssl` object) and the properties; undefined
 * when neither says anything (the amqps URL then means TLS with defaults).
 * @throws ArgumentError for a property that is not a string or a file that cannot be read.
 */
export async function readTls(base: TlsOptions | undefined, p: TlsProperties): Promise<TlsOptions | undefined> {
  const given =
    p.certificate !== undefined || p.privateKey !== undefined || p.password !== undefined || p.trustedCertificates !== undefined;
  if (!given) return base;
  const out: TlsOptions = { ...base };
  if (p.certificate !== undefined) out.cert = await read(p.certificate, 'certificate');
  if (p.privateKey !== undefined) out.key = await read(p.privateKey, 'privateKey');
  if (p.trustedCertificates !== undefined) out.ca = await read(p.trustedCertificates, 'trustedCertificates');
  if (p.password !== undefined) {
    if (typeof p.password !== 'string') throw new ArgumentError('Messenger.password must be a string');
    out.passphrase = p.password;
  }
  return out;
}
