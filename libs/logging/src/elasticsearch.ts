import { ApiObject } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { stringify } from 'yaml';
import {
  allowFlow,
  allowPodFlow,
  contentRevision,
  EnvValue,
  jvmTrustOptions,
  LabelKeys,
  PlatformChart,
  PlatformDisruptionBudget,
  PlatformService,
  PlatformStatefulSet,
  PKCS12_TRUSTSTORE,
  PodSelection,
  quantityValue,
  ResourceSpec,
  S3Bucket,
  SecretKeyRef,
  secretFilePath,
  ServiceEndpoint,
  volumeClaimTemplate,
  workloadLabels,
} from '@ml-platform/core';
import { ELASTICSEARCH_IMAGE } from './images';

/** Properties for `Elasticsearch`. */
export interface ElasticsearchProps {
  /** 1, or 3 or more master-eligible data nodes. */
  readonly replicas: number;
  readonly heap: string;
  readonly storageSize: string;
  /** @default - the cluster's default StorageClass */
  readonly storageClass?: string;
  /** @default - 500m/2Gi requested, 2 CPU/2Gi limit */
  readonly resources?: ResourceSpec;
  /** Memory-mapped index files: only where every node sets vm.max_map_count (docs/logging.md). */
  readonly mmap: boolean;
  /** The cert-manager ClusterIssuer (an internal CA) that signs the node certificate. */
  readonly clusterIssuer: string;
  /**
   * The bucket snapshots go to; its keys go into the Elasticsearch keystore.
   *
   * @default - no snapshot repository
   */
  readonly snapshots?: S3Bucket;
}

const HTTP_PORT = 9200;
const TRANSPORT_PORT = 9300;
/** The image's user (uid 1000, `elasticsearch`); group 1000 here instead of the image's 0. */
const ES_UID = 1000;
const HOME = '/usr/share/elasticsearch';
const CONFIG = `${HOME}/config`;
export const ES_CERTS_DIR = `${CONFIG}/certs`;
/** Where the platform's settings files are mounted for the init container to copy. */
const PLATFORM_FILES = '/etc/elasticsearch-platform';
const ELASTIC_SECRET_DIR = '/run/secrets/elasticsearch-elastic';
const S3_SECRET_DIR = '/run/secrets/snapshots';
export const ES_TLS_SECRET = 'elasticsearch-tls';

const DEFAULT_RESOURCES: ResourceSpec = { requests: { cpu: '500m', memory: '2Gi' }, limits: { cpu: '2', memory: '2Gi' } };

/** A volume with only `ca.crt` of `secretName`: what a client of Elasticsearch trusts, without the key beside it. */
export function caVolume(name: string, secretName: string): k8s.Volume {
  return { name, secret: { secretName, items: [{ key: 'ca.crt', path: 'ca.crt' }], defaultMode: 0o444 } };
}

/** A shell line writing a curl config that signs in as elastic, so the password is in no argument list. */
export function elasticCurlConfig(passwordFile: string): string {
  return `printf 'user = "elastic:%s"\\n' "$(cat ${passwordFile})"`;
}

/** The elastic superuser's password: the bootstrap password the setup Job signs in with. */
export const ELASTIC_PASSWORD = SecretKeyRef.of('elasticsearch-elastic', 'password', 'Password of the Elasticsearch superuser elastic (the bootstrap password; only the setup Job uses it)');

/**
 * Elasticsearch as a StatefulSet without an operator: security on, TLS on both the HTTP and the
 * transport layer with a certificate from the cluster's internal CA (reloaded by Elasticsearch
 * when cert-manager renews it), the config copied into a writable volume so the root
 * filesystem stays read-only, and one data volume per node. One node runs as a single-node
 * cluster; three or more form a cluster whose nodes are all master-eligible data nodes.
 */
export class Elasticsearch extends Construct {
  public readonly pods: PodSelection;
  /** The HTTPS endpoint clients use. */
  public readonly endpoint: ServiceEndpoint;
  /** The Secret whose `ca.crt` clients in this namespace trust. */
  public readonly tlsSecret = ES_TLS_SECRET;
  public readonly clusterName: string;

  constructor(scope: Construct, id: string, props: ElasticsearchProps) {
    super(scope, id);
    const chart = PlatformChart.of(this);
    const ns = chart.namespace;
    const { replicas } = props;
    if (replicas === 2) throw new Error('elasticsearch: replicas must be 1, or 3 or more; two master-eligible nodes lose their quorum when either stops');
    const resources = props.resources ?? DEFAULT_RESOURCES;
    const heapMi = Math.floor(quantityValue(props.heap) / 2 ** 20);
    if (heapMi * 2 ** 20 * 2 > quantityValue(resources.limits.memory)) {
      throw new Error(`elasticsearch: heap ${props.heap} is more than half the memory limit ${resources.limits.memory}; Lucene needs the rest as page cache`);
    }
    const image = chart.context.images.image(ELASTICSEARCH_IMAGE);
    const identity = { name: 'elasticsearch', instance: id, component: 'search-engine', version: image.version };
    this.clusterName = `${chart.context.cluster}-logs`;
    const headless = 'elasticsearch-headless';
    const domain = chart.context.clusterDomain;
    const nodeNames = Array.from({ length: replicas }, (_, i) => `elasticsearch-${i}`);
    // The snapshot repository's S3 client trusts only the JVM's truststore (no setting of its
    // own), so over TLS the JVM gets the internal CA's. Both certificates come from the cluster's
    // internal CA. Outbound HTTPS to the internet is off anyway (the GeoIP downloader below).
    const snapshotsTls = props.snapshots?.tls ?? false;

    // The node certificate: every name clients and peers use, and 127.0.0.1 for the probes.
    new ApiObject(this, 'Certificate', {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: { name: ES_TLS_SECRET, namespace: ns, labels: { [LabelKeys.NAME]: ES_TLS_SECRET, [LabelKeys.COMPONENT]: 'certificate' } },
      spec: {
        secretName: ES_TLS_SECRET,
        duration: '2160h',
        renewBefore: '720h',
        dnsNames: ['elasticsearch', `elasticsearch.${ns}`, `elasticsearch.${ns}.svc`, `elasticsearch.${ns}.svc.${domain}`, `*.${headless}.${ns}.svc`, `*.${headless}.${ns}.svc.${domain}`, 'localhost'],
        ipAddresses: ['127.0.0.1'],
        usages: ['server auth', 'client auth', 'digital signature', 'key encipherment'],
        issuerRef: { group: 'cert-manager.io', kind: 'ClusterIssuer', name: props.clusterIssuer },
        privateKey: { algorithm: 'RSA', size: 2048, encoding: 'PKCS8', rotationPolicy: 'Always' },
        // truststore.p12: the CA as the JVM's truststore, for the S3 client of the snapshots.
        ...(snapshotsTls ? { keystores: PKCS12_TRUSTSTORE } : {}),
      },
    });

    // Exception to 'checked by the real program' (docs/logging.md): Elasticsearch, a JVM
    // distribution, cannot be installed from a package registry here, so elasticsearch.yml is
    // not loaded by Elasticsearch in the tests; every key is a documented 8.19 setting.
    const settings: Record<string, unknown> = {
      'cluster.name': this.clusterName,
      'node.name': '${NODE_NAME}',
      'network.host': '0.0.0.0',
      'path.data': `${HOME}/data`,
      'path.logs': `${HOME}/logs`,
      ...(replicas === 1
        ? { 'discovery.type': 'single-node' }
        : {
            'discovery.seed_hosts': [headless],
            // Read only when the cluster forms for the first time; ignored once it has.
            'cluster.initial_master_nodes': nodeNames,
          }),
      'node.store.allow_mmap': props.mmap,
      'xpack.security.enabled': true,
      'xpack.security.enrollment.enabled': false,
      // Peers connect by address, so the certificate is checked against the CA, not the name.
      'xpack.security.transport.ssl.enabled': true,
      'xpack.security.transport.ssl.verification_mode': 'certificate',
      'xpack.security.transport.ssl.key': `${ES_CERTS_DIR}/tls.key`,
      'xpack.security.transport.ssl.certificate': `${ES_CERTS_DIR}/tls.crt`,
      'xpack.security.transport.ssl.certificate_authorities': [`${ES_CERTS_DIR}/ca.crt`],
      'xpack.security.http.ssl.enabled': true,
      'xpack.security.http.ssl.key': `${ES_CERTS_DIR}/tls.key`,
      'xpack.security.http.ssl.certificate': `${ES_CERTS_DIR}/tls.crt`,
      'xpack.security.http.ssl.certificate_authorities': [`${ES_CERTS_DIR}/ca.crt`],
      'xpack.license.self_generated.type': 'basic',
      'xpack.ml.enabled': false,
      // Nothing on the internet is reachable from the cluster.
      'ingest.geoip.downloader.enabled': false,
      'action.destructive_requires_name': true,
      ...(props.snapshots
        ? {
            's3.client.default.endpoint': props.snapshots.endpoint.authority,
            's3.client.default.protocol': snapshotsTls ? 'https' : 'http',
            's3.client.default.path_style_access': props.snapshots.pathStyle,
            // No region: not confirmed as a client setting of 8.19 (an unknown setting stops the
            // node), and MinIO ignores it.
          }
        : {}),
    };
    const files = {
      'elasticsearch.yml': `# Generated by the platform render (libs/logging); do not edit.\n${stringify(settings, { lineWidth: 0 })}`,
      // Fixed heap (min = max, as the bootstrap check wants); the JVM's other options stay the image's.
      'heap.options': `-Xms${heapMi}m\n-Xmx${heapMi}m\n`,
      ...(snapshotsTls ? { 'truststore.options': `${jvmTrustOptions(`${ES_CERTS_DIR}/truststore.p12`).join('\n')}\n` } : {}),
    };
    const configMap = 'elasticsearch-config';
    new k8s.KubeConfigMap(this, 'Config', { metadata: { name: configMap, namespace: ns, labels: workloadLabels(identity) }, data: files });

    const passwordFile = secretFilePath(chart, ELASTIC_SECRET_DIR, ELASTIC_PASSWORD);
    const s3Keys = props.snapshots ? [props.snapshots.accessKeyId, props.snapshots.secretAccessKey] : [];
    const prepare = [
      'set -eu',
      `cp -R ${CONFIG}/. /mnt/config/`,
      `cp ${PLATFORM_FILES}/elasticsearch.yml /mnt/config/elasticsearch.yml`,
      `cp ${PLATFORM_FILES}/heap.options /mnt/config/jvm.options.d/heap.options`,
      ...(snapshotsTls ? [`cp ${PLATFORM_FILES}/truststore.options /mnt/config/jvm.options.d/truststore.options`] : []),
      ...(props.snapshots
        ? [
            // The snapshot repository's keys, in the keystore Elasticsearch reads at start.
            'export ES_PATH_CONF=/mnt/config',
            'elasticsearch-keystore create',
            `elasticsearch-keystore add --stdin --force s3.client.default.access_key < ${secretFilePath(chart, S3_SECRET_DIR, props.snapshots.accessKeyId)}`,
            `elasticsearch-keystore add --stdin --force s3.client.default.secret_key < ${secretFilePath(chart, S3_SECRET_DIR, props.snapshots.secretAccessKey)}`,
          ]
        : []),
    ].join('\n');
    // Ready once this node is in a cluster with an elected master; the password goes to curl on stdin.
    const health = [
      'set -eu',
      `${elasticCurlConfig(passwordFile)} |`,
      `  curl --silent --fail --max-time 4 --config - --cacert ${ES_CERTS_DIR}/ca.crt "https://127.0.0.1:${HTTP_PORT}/_cluster/health?local=true" > /dev/null`,
    ].join('\n');
    const tcp = (port: number): k8s.Probe => ({ tcpSocket: { port: k8s.IntOrString.fromNumber(port) } });

    const statefulSet = new PlatformStatefulSet(this, 'Nodes', {
      identity,
      replicas,
      // Master election: two master-eligible nodes on one Kubernetes node lose the quorum with it.
      quorum: true,
      serviceName: headless,
      // Nodes must all be up to form the cluster the first time: start them together.
      podManagementPolicy: 'Parallel',
      podAnnotations: { 'ml-platform.io/config-revision': contentRevision(...Object.values(files)) },
      pod: {
        user: ES_UID,
        group: ES_UID,
        volumes: [
          { name: 'platform-files', configMap: { name: configMap } },
          { name: 'config', emptyDir: { sizeLimit: k8s.Quantity.fromString('64Mi') } },
          { name: 'certs', secret: { secretName: ES_TLS_SECRET, defaultMode: 0o440 } },
        ],
        initContainers: [
          {
            name: 'prepare-config',
            image,
            command: ['/bin/bash', '-c', prepare],
            env: { ES_JAVA_OPTS: EnvValue.fromValue('-Xms32m -Xmx64m') },
            resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } },
            writablePaths: [{ path: '/tmp', sizeLimit: '64Mi' }],
            mounts: [
              { volume: 'platform-files', path: PLATFORM_FILES },
              { volume: 'config', path: '/mnt/config', readOnly: false },
            ],
            secretFiles: s3Keys.length ? [{ directory: S3_SECRET_DIR, keys: s3Keys }] : undefined,
          },
        ],
        containers: [
          {
            name: 'elasticsearch',
            image,
            env: {
              NODE_NAME: EnvValue.fromField('metadata.name'),
              // The image's entrypoint adds it to the keystore as bootstrap.password: the
              // elastic user's password while none is set through the API (none ever is).
              ELASTIC_PASSWORD_FILE: EnvValue.fromValue(passwordFile),
              ES_TMPDIR: EnvValue.fromValue('/tmp'),
            },
            ports: [
              { name: 'http', number: HTTP_PORT },
              { name: 'transport', number: TRANSPORT_PORT },
            ],
            resources,
            startupProbe: { ...tcp(HTTP_PORT), periodSeconds: 5, failureThreshold: 60 },
            livenessProbe: { ...tcp(TRANSPORT_PORT), periodSeconds: 20, timeoutSeconds: 5, failureThreshold: 6 },
            readinessProbe: { exec: { command: ['/bin/bash', '-c', health] }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
            writablePaths: [
              { path: '/tmp', sizeLimit: '1Gi' },
              { path: `${HOME}/logs`, sizeLimit: '256Mi' },
            ],
            mounts: [
              { volume: 'config', path: CONFIG, readOnly: false },
              { volume: 'certs', path: ES_CERTS_DIR },
              { volume: 'data', path: `${HOME}/data`, readOnly: false },
            ],
            secretFiles: [{ directory: ELASTIC_SECRET_DIR, keys: [ELASTIC_PASSWORD] }],
          },
        ],
      },
      volumeClaimTemplates: [volumeClaimTemplate(this, 'data', props.storageSize, props.storageClass)],
    });
    this.pods = statefulSet.pods;
    new PlatformService(this, 'Headless', {
      name: headless,
      pods: this.pods,
      headless: true,
      // Nodes find each other before any is ready.
      publishNotReadyAddresses: true,
      ports: [
        { name: 'http', port: HTTP_PORT },
        { name: 'transport', port: TRANSPORT_PORT },
      ],
    });
    this.endpoint = new PlatformService(this, 'Service', { name: 'elasticsearch', pods: this.pods, ports: [{ name: 'https', port: HTTP_PORT }] }).endpoint('https');
    if (replicas > 1) {
      allowPodFlow(this.pods, this.pods, TRANSPORT_PORT);
      new PlatformDisruptionBudget(this, 'DisruptionBudget', { pods: this.pods, maxUnavailable: 1 });
    }
    if (props.snapshots) allowFlow(this.pods, props.snapshots.endpoint);
  }

  /** The elastic superuser's password file for a container that mounts it with `secretFiles` at `directory`. */
  public static passwordFile(chart: PlatformChart, directory: string): string {
    return secretFilePath(chart, directory, ELASTIC_PASSWORD);
  }
}
