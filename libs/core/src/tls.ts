/**
 * TLS inside the cluster: servers get certificates from cert-manager through the cluster's
 * internal CA (a ClusterIssuer), and clients trust that CA from a file. A Secret is namespaced,
 * so every namespace with a client gets its own small certificate from the same issuer: its
 * `ca.crt` is the CA bundle the namespace's clients mount (cert-manager's CA issuer writes it).
 */
import { ApiObject } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import type { ImageRef } from './images';
import { LabelKeys } from './labels';
import { PlatformChart } from './platform-chart';
import type { EnvValue, HardenedContainerProps, MountSpec } from './workload';

/** Where a client container finds the internal CA: `${INTERNAL_CA_DIR}/ca.crt`. */
export const INTERNAL_CA_DIR = '/etc/platform/internal-ca';
export const INTERNAL_CA_FILE = `${INTERNAL_CA_DIR}/ca.crt`;
/** The Secret in each client namespace whose `ca.crt` is the internal CA. */
export const INTERNAL_CA_TRUST_SECRET = 'internal-ca-trust';
/**
 * The internal CA as a PKCS#12 truststore, for JVMs (Spark's S3A, whose only trust is the JVM's).
 * Its password is no secret: the file holds the public CA certificate only, and Java needs a
 * password to check the file's integrity.
 */
export const INTERNAL_CA_TRUSTSTORE = `${INTERNAL_CA_DIR}/truststore.p12`;
export const TRUSTSTORE_PASSWORD = 'internal-ca-public';

/**
 * JVM options that make a JVM's default TLS trust `truststore` (PKCS#12) instead of the JDK's
 * public CAs: only in-cluster servers are reachable anyway.
 */
export function jvmTrustOptions(truststore: string = INTERNAL_CA_TRUSTSTORE): string[] {
  return [`-Djavax.net.ssl.trustStore=${truststore}`, '-Djavax.net.ssl.trustStoreType=PKCS12', `-Djavax.net.ssl.trustStorePassword=${TRUSTSTORE_PASSWORD}`];
}

/**
 * cert-manager's PKCS#12 files in a certificate's Secret: `truststore.p12` holds the issuing CA
 * (and `keystore.p12` the certificate and its key, under the same public password, which is why
 * only certificates whose key authenticates nothing, or which the server's pod holds anyway, get
 * them). Modern2023: AES-256 and PBKDF2, which Java 17 and later read.
 */
export const PKCS12_TRUSTSTORE = { pkcs12: { create: true, profile: 'Modern2023', password: TRUSTSTORE_PASSWORD } } as const;
const TRUST_VOLUME = 'internal-ca';

/** What a pod mounts to trust the internal CA. */
export interface InternalCaTrust {
  readonly volume: k8s.Volume;
  readonly mount: MountSpec;
  /** The CA bundle's path inside the container. */
  readonly file: string;
}

function certificate(scope: Construct, id: string, namespace: string, name: string, spec: Record<string, unknown>): void {
  new ApiObject(scope, id, {
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    metadata: { name, namespace, labels: { [LabelKeys.NAME]: name, [LabelKeys.COMPONENT]: 'certificate' } },
    spec: { secretName: name, ...spec },
  });
}

/**
 * The internal CA for the pods of `chart`'s namespace; the first call renders the namespace's
 * trust certificate. Throws when the cluster has no internal CA.
 *
 * @param issuer the ClusterIssuer whose CA to trust, for a server that speaks TLS whatever
 *   `inClusterTls` says (Elasticsearch). @default the cluster's internal CA
 */
export function internalCaTrust(chart: PlatformChart, issuer: string | undefined = chart.context.internalCa): InternalCaTrust {
  if (!issuer) throw new Error(`${chart.namespace}: TLS inside the cluster needs the internal CA (routing.tls.clusterIssuer with inClusterTls on)`);
  if (!chart.node.tryFindChild('InternalCaTrust')) {
    certificate(chart, 'InternalCaTrust', chart.namespace, INTERNAL_CA_TRUST_SECRET, {
      commonName: `${INTERNAL_CA_TRUST_SECRET}.${chart.namespace}`,
      // Only its ca.crt and truststore.p12 are used: the certificate itself may authenticate nothing.
      usages: ['digital signature'],
      keystores: PKCS12_TRUSTSTORE,
      issuerRef: { group: 'cert-manager.io', kind: 'ClusterIssuer', name: issuer },
      privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
    });
  }
  return {
    volume: {
      name: TRUST_VOLUME,
      secret: { secretName: INTERNAL_CA_TRUST_SECRET, items: [{ key: 'ca.crt', path: 'ca.crt' }, { key: 'truststore.p12', path: 'truststore.p12' }], defaultMode: 0o444 },
    },
    mount: { volume: TRUST_VOLUME, path: INTERNAL_CA_DIR },
    file: INTERNAL_CA_FILE,
  };
}

/** Properties for `ServerCertificate`. */
export interface ServerCertificateProps {
  /** Secret cert-manager writes `tls.crt`, `tls.key` and `ca.crt` into; also the Certificate's name. */
  readonly secretName: string;
  /** The Services (in the chart's namespace) clients address: each gets its short and full names. */
  readonly services: readonly string[];
  /**
   * A headless Service whose pods are addressed one by one (`*.<headless>.<ns>.svc`).
   *
   * @default - none
   */
  readonly headless?: string;
  /**
   * Also `localhost` and `127.0.0.1`, for containers beside the server.
   *
   * @default false
   */
  readonly loopback?: boolean;
}

/** A server certificate from the internal CA for a chart's Services; cert-manager renews it. */
export class ServerCertificate extends Construct {
  public readonly secretName: string;

  /**
   * The certificate's Secret as a pod volume named `name` (`tls.crt`, `tls.key`, `ca.crt`): mode
   * 0440, so the key is readable by the pod's group (fsGroup) alone, as servers such as PostgreSQL
   * require.
   */
  public volume(name: string): k8s.Volume {
    return { name, secret: { secretName: this.secretName, defaultMode: 0o440 } };
  }

  constructor(scope: Construct, id: string, props: ServerCertificateProps) {
    super(scope, id);
    const chart = PlatformChart.of(scope);
    const issuer = chart.context.internalCa;
    if (!issuer) throw new Error(`${chart.namespace}: a server certificate needs the internal CA (routing.tls.clusterIssuer with inClusterTls on)`);
    const ns = chart.namespace;
    const domain = chart.context.clusterDomain;
    const names = (host: string) => [host, `${host}.${ns}`, `${host}.${ns}.svc`, `${host}.${ns}.svc.${domain}`];
    this.secretName = props.secretName;
    certificate(this, 'Resource', ns, props.secretName, {
      // 90 days, renewed 30 days ahead: time for a server that must be told to reload to be told.
      duration: '2160h',
      renewBefore: '720h',
      dnsNames: [...props.services.flatMap(names), ...(props.headless ? [`*.${props.headless}.${ns}.svc`, `*.${props.headless}.${ns}.svc.${domain}`] : []), ...(props.loopback ? ['localhost'] : [])],
      ...(props.loopback ? { ipAddresses: ['127.0.0.1'] } : {}),
      usages: ['server auth', 'digital signature', 'key encipherment'],
      issuerRef: { group: 'cert-manager.io', kind: 'ClusterIssuer', name: issuer },
      privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
    });
  }
}

/**
 * A client certificate from the internal CA, for servers that authorize clients by their
 * certificate's common name (pgBackRest's TLS server); cert-manager renews it.
 */
export class ClientCertificate extends Construct {
  public readonly secretName: string;

  constructor(scope: Construct, id: string, props: { readonly secretName: string; readonly commonName: string }) {
    super(scope, id);
    const chart = PlatformChart.of(scope);
    const issuer = chart.context.internalCa;
    if (!issuer) throw new Error(`${chart.namespace}: a client certificate needs the internal CA (routing.tls.clusterIssuer with inClusterTls on)`);
    this.secretName = props.secretName;
    certificate(this, 'Resource', chart.namespace, props.secretName, {
      commonName: props.commonName,
      duration: '2160h',
      renewBefore: '720h',
      usages: ['client auth', 'digital signature', 'key encipherment'],
      issuerRef: { group: 'cert-manager.io', kind: 'ClusterIssuer', name: issuer },
      privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
    });
  }

  /** The certificate's Secret as a pod volume named `name`, mode 0440 (the pod's group reads the key). */
  public volume(name: string): k8s.Volume {
    return { name, secret: { secretName: this.secretName, defaultMode: 0o440 } };
  }
}

/** Properties for `renewalReloader`. */
export interface RenewalReloaderProps {
  /** An image of the server's, which has the shell, `sha256sum` and whatever `reload` runs. */
  readonly image: ImageRef;
  /** The certificate's volume and where it is mounted (`tls.crt`, `tls.key`). */
  readonly certificate: MountSpec;
  /** Shell command that makes the server read its certificate again. */
  readonly reload: string;
  /**
   * More mounts `reload` needs (a server's socket).
   *
   * @default - none
   */
  readonly mounts?: MountSpec[];
  /** @default - none */
  readonly env?: Readonly<Record<string, EnvValue>>;
}

const HEARTBEAT_DIR = '/run/heartbeat';

/**
 * Shell command that sends `signal` to every process whose command line contains `fragment`,
 * for a `renewalReloader` in a pod that shares its process namespace, when the command name
 * cannot tell the server from its parent or its workers (Python programs). The reloader's own
 * shell, whose script holds the fragment, is skipped. Fails when no such process runs.
 */
export function signalCommandLine(fragment: string, signal: 'HUP' | 'USR1'): string {
  if (!/^[A-Za-z0-9 ._:=/-]{3,64}$/.test(fragment)) throw new Error(`signalCommandLine: '${fragment}' must be 3 to 64 of A-Z a-z 0-9 space . _ : = / -`);
  return `found=1; for p in /proc/[0-9]*; do [ "\${p#/proc/}" = "$$" ] && continue; case "$(tr '\\000' ' ' < "$p/cmdline" 2>/dev/null)" in *"${fragment}"*) kill -${signal} "\${p#/proc/}" && found=0;; esac; done; [ "$found" = 0 ]`;
}

/**
 * Shell command that sends `signal` to every process whose command name is `comm`, for a
 * `renewalReloader` in a pod that shares its process namespace. It reads /proc, so it needs no
 * pkill (images without procps) and fails when no such process runs.
 */
export function signalProcesses(comm: string, signal: 'HUP' | 'USR1'): string {
  if (!/^[A-Za-z0-9._-]{1,15}$/.test(comm)) throw new Error(`signalProcesses: '${comm}' is not a process command name (1 to 15 of A-Z a-z 0-9 . _ -)`);
  return `found=1; for p in /proc/[0-9]*; do if [ "$(cat "$p/comm" 2>/dev/null)" = ${comm} ]; then kill -${signal} "\${p#/proc/}" && found=0; fi; done; [ "$found" = 0 ]`;
}

/**
 * A sidecar for a server that reads its certificate only at start or when told (PostgreSQL,
 * Vault): every minute it hashes the certificate and key, and runs `reload` when they changed.
 * Its probes watch the loop itself, so a hung reload restarts it.
 */
export function renewalReloader(props: RenewalReloaderProps): HardenedContainerProps {
  const dir = props.certificate.path;
  const script = [
    'set -eu',
    'last=""',
    'while true; do',
    `  now=$(cat ${dir}/tls.crt ${dir}/tls.key | sha256sum)`,
    '  if [ "$now" != "$last" ]; then',
    `    if [ -z "$last" ] || { ${props.reload}; }; then`,
    '      [ -n "$last" ] && echo "certificate renewed: configuration reloaded"',
    '      last=$now',
    '    fi',
    '  fi',
    `  touch ${HEARTBEAT_DIR}/alive`,
    '  sleep 60',
    'done',
  ].join('\n');
  return {
    name: 'reload-on-renewal',
    image: props.image,
    command: ['/bin/sh', '-c', script],
    env: props.env,
    resources: { requests: { cpu: '5m', memory: '16Mi' }, limits: { cpu: '50m', memory: '64Mi' } },
    livenessProbe: { exec: { command: ['/bin/sh', '-c', `find ${HEARTBEAT_DIR}/alive -mmin -3 | grep -q .`] }, initialDelaySeconds: 30, periodSeconds: 60, failureThreshold: 3 },
    readinessProbe: { exec: { command: ['test', '-e', `${HEARTBEAT_DIR}/alive`] }, periodSeconds: 30 },
    writablePaths: [{ path: HEARTBEAT_DIR, sizeLimit: '1Mi' }],
    mounts: [props.certificate, ...(props.mounts ?? [])],
  };
}
