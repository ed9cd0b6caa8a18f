import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface KeyPair {
  cert: string;
  key: string;
}

/** A throwaway PKI for an mTLS Temporal server: one CA, the server's certificate and client certificates. */
export interface TestCertificates {
  ca: string;
  /** The one name the server's certificate carries: clients reach 127.0.0.1 and must say which name to expect. */
  serverName: string;
  server: KeyPair;
  /** What ao's processes present. */
  client: KeyPair;
  /** What the server's own system workflows present to its frontend. */
  worker: KeyPair;
}

/** P-256 keys, unencrypted (the processes read them from disk); valid for two days, long enough for any test run. */
const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
const VALIDITY = ['-days', '2'];

async function openssl(args: string[]): Promise<void> {
  // Argv, never a shell string: the paths come from mkdtemp.
  await run('openssl', args);
}

/** Makes the certificates in `dir` with the `openssl` binary. */
export async function makeCertificates(dir: string): Promise<TestCertificates> {
  const file = (name: string): string => path.join(dir, name);
  const ca = file('ca.pem');
  const caKey = file('ca.key');
  await openssl(['req', '-x509', ...NEW_KEY, '-keyout', caKey, '-out', ca, ...VALIDITY, '-subj', '/CN=ao test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);

  const issue = async (name: string, extensions: string[]): Promise<KeyPair> => {
    const pair = { cert: file(`${name}.pem`), key: file(`${name}.key`) };
    const request = file(`${name}.csr`);
    await openssl(['req', '-new', ...NEW_KEY, '-keyout', pair.key, '-out', request, '-subj', `/CN=${name}`,
      '-addext', 'basicConstraints=critical,CA:FALSE', ...extensions.flatMap((extension) => ['-addext', extension])]);
    // x509 -req adds no extensions of its own: the certificate carries exactly those of the request.
    await openssl(['x509', '-req', '-in', request, '-CA', ca, '-CAkey', caKey, ...VALIDITY, '-copy_extensions', 'copyall', '-out', pair.cert]);
    return pair;
  };
  const serverName = 'localhost';
  return {
    ca,
    serverName,
    server: await issue('server', [`subjectAltName=DNS:${serverName}`, 'extendedKeyUsage=serverAuth']),
    client: await issue('ao-client', ['extendedKeyUsage=clientAuth']),
    worker: await issue('temporal-system-worker', ['extendedKeyUsage=clientAuth']),
  };
}
