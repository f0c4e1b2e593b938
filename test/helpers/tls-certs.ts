// A throwaway CA with a server certificate (for 127.0.0.1 and localhost) and
// a client certificate, made with the system's `openssl` (no shell) in a
// temporary folder: for TLS receivers that require a client certificate.

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestPki {
  readonly ca: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
  /** The folder holding the PEM files (ca.pem, client.pem, client-key.pem …), removed by cleanup(). */
  readonly dir: string;
  cleanup(): Promise<void>;
}

async function openssl(dir: string, ...args: string[]): Promise<void> {
  await run('openssl', args, { cwd: dir });
}

async function leaf(dir: string, name: string, subject: string, ext: string): Promise<void> {
  await openssl(dir, 'req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}-key.pem`, '-out', `${name}.csr`, '-subj', subject);
  await writeFile(join(dir, `${name}.ext`), ext);
  await openssl(dir, 'x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`);
}

export async function makeTestPki(): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), 'hookwork-pki-'));
  await openssl(dir, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Hookwork Test CA');
  await leaf(dir, 'server', '/CN=localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  await leaf(dir, 'client', '/CN=hookwork-client', 'extendedKeyUsage=clientAuth\n');
  const read = (name: string): Promise<string> => readFile(join(dir, name), 'utf8');
  return {
    ca: await read('ca.pem'),
    serverCert: await read('server.pem'),
    serverKey: await read('server-key.pem'),
    clientCert: await read('client.pem'),
    clientKey: await read('client-key.pem'),
    dir,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
