// Certificates for the integration tests, made by openssl at run time in the test's folder, as
// cert-manager makes them from the internal CA: ECDSA P-256, short-lived. Test-only keys; none is
// ever committed. tools/testing/python/certificates.py does the same for the Python tests.
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const openssl = (dir: string, args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
const P256 = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

/** A CA `<name>.crt` and `<name>.key` in `dir`, valid two days; made once, kept when it exists. */
export function testCa(dir: string, name: string): void {
  if (existsSync(join(dir, `${name}.crt`))) return;
  openssl(dir, ['req', '-x509', ...P256, '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${name}`]);
}

/** What a test certificate is for. */
export interface TestCertificateOptions {
  /** @default 'serverAuth' */
  readonly usage?: 'serverAuth' | 'clientAuth';
  /** Subject alternative names. @default - none */
  readonly dnsNames?: readonly string[];
  /** @default - none */
  readonly ipAddresses?: readonly string[];
  /** @default - the first DNS name, else `name` */
  readonly commonName?: string;
}

/** A certificate `<name>.crt` and `<name>.key` in `dir` from the CA `ca` (see `testCa`), valid one day. */
export function testCertificate(dir: string, ca: string, name: string, options: TestCertificateOptions = {}): void {
  testCa(dir, ca);
  const sans = [...(options.dnsNames ?? []).map((n) => `DNS:${n}`), ...(options.ipAddresses ?? []).map((ip) => `IP:${ip}`)];
  writeFileSync(join(dir, `${name}.ext`), `${sans.length > 0 ? `subjectAltName=${sans.join(',')}\n` : ''}extendedKeyUsage=${options.usage ?? 'serverAuth'}\n`);
  openssl(dir, ['req', ...P256, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${options.commonName ?? options.dnsNames?.[0] ?? name}`]);
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '1', '-extfile', `${name}.ext`]);
}

/** The serial of the certificate in `file`, as openssl prints it (`serial=…`). */
export function certificateSerial(file: string): string {
  return execFileSync('openssl', ['x509', '-noout', '-serial', '-in', file], { encoding: 'utf8' }).trim();
}
