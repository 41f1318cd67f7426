/**
 * A CA and serving certificates made with the openssl CLI, for webhooks on a cluster without cert-manager: what
 * k8s/webhook/certificate.yaml asks cert-manager for (an ECDSA P-256 CA, a serving certificate for the
 * Service's DNS names, server auth), made here instead.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ServingPair {
  readonly cert: string;
  readonly key: string;
}

export class TestCa {
  private readonly dir = mkdtempSync(join(tmpdir(), 'edk8s-ca-'));
  readonly cert: string;
  private readonly keyFile: string;
  private serial = 1;

  constructor(readonly name: string) {
    this.keyFile = join(this.dir, 'ca.key');
    const certFile = join(this.dir, 'ca.crt');
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', this.keyFile, '-out', certFile, '-days', '2', '-subj', `/CN=${name}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    this.cert = readFileSync(certFile, 'utf8');
  }

  /** A serving certificate for `dnsNames` (the first is the subject's CN), signed by this CA. */
  issue(dnsNames: readonly string[]): ServingPair {
    if (dnsNames.length === 0) throw new Error('a serving certificate needs at least one DNS name');
    const base = join(this.dir, `serving-${this.serial}`);
    openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/CN=${dnsNames[0]}`]);
    writeFileSync(`${base}.ext`, `subjectAltName=${dnsNames.map((n) => `DNS:${n}`).join(',')}\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\nbasicConstraints=CA:FALSE\n`);
    openssl(['x509', '-req', '-in', `${base}.csr`, '-CA', join(this.dir, 'ca.crt'), '-CAkey', this.keyFile, '-set_serial', String(this.serial++), '-days', '2', '-extfile', `${base}.ext`, '-out', `${base}.crt`]);
    return { cert: readFileSync(`${base}.crt`, 'utf8'), key: readFileSync(`${base}.key`, 'utf8') };
  }

  /** The CA certificate as a caBundle field wants it. */
  bundle(): string {
    return Buffer.from(this.cert).toString('base64');
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function openssl(args: readonly string[]): void {
  execFileSync('openssl', args, { stdio: 'pipe' });
}
