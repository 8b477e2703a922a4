import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { allowFlow, EnvValue, Layer, PlatformChart, PlatformContext, PlatformDeployment, PodSelection, ResourceSpec, S3Bucket, SecretKeyRef, ServiceEndpoint, WebUi } from '@ml-platform/core';
import { caVolume, Elasticsearch, ES_CERTS_DIR } from './elasticsearch';
import { ELASTICSEARCH_EXPORTER_IMAGE } from './images';
import { Kibana } from './kibana';
import { LoggingSetup } from './setup';

/** Properties for `LoggingChart`. */
export interface LoggingChartProps {
  readonly context: PlatformContext;
  /** Days a log line stays searchable. */
  readonly retentionDays: number;
  readonly elasticsearch: {
    readonly replicas: number;
    /** @default - 1 with three or more nodes, 0 with one */
    readonly indexReplicas?: number;
    readonly heap: string;
    readonly storageSize: string;
    readonly storageClass?: string;
    readonly resources?: ResourceSpec;
    readonly mmap: boolean;
  };
  readonly kibana: { readonly replicas?: number; readonly resources?: ResourceSpec; readonly externalHost: string };
  /** The cert-manager ClusterIssuer of the cluster's internal CA. */
  readonly clusterIssuer: string;
  /** @default - no snapshots */
  readonly snapshots?: { readonly bucket: S3Bucket; readonly schedule: string; readonly retentionDays: number };
}

const EXPORTER_PORT = 9114;

/** The password of the user the log shipper writes as. */
export const LOG_SHIPPER_PASSWORD = SecretKeyRef.of('elasticsearch-log-shipper', 'password', 'Password of the Elasticsearch user log-shipper (writes the platform log data stream)');
const EXPORTER_PASSWORD = SecretKeyRef.of('elasticsearch-exporter', 'password', 'Password of the Elasticsearch user elasticsearch-exporter (reads cluster statistics)');
export const LOG_SHIPPER_USER = 'log-shipper';

/**
 * Central logging, namespace `logging`: Elasticsearch, Kibana, elasticsearch_exporter and the
 * setup Job. The shipper on every node (`LogShipperChart`) writes here.
 */
export class LoggingChart extends PlatformChart {
  public readonly elasticsearch: Elasticsearch;
  public readonly kibana: Kibana;
  public readonly webUi: WebUi;
  public readonly exporter: PodSelection;

  constructor(scope: Construct, id: string, props: LoggingChartProps) {
    super(scope, id, { context: props.context, layer: Layer.PLATFORM });
    const es = props.elasticsearch;
    const indexReplicas = es.indexReplicas ?? (es.replicas >= 3 ? 1 : 0);
    if (indexReplicas >= es.replicas) {
      throw new Error(`logging: ${indexReplicas} replica shard(s) per index need at least ${indexReplicas + 1} Elasticsearch nodes, there are ${es.replicas}; the indices would stay yellow`);
    }
    this.elasticsearch = new Elasticsearch(this, 'elasticsearch', {
      replicas: es.replicas,
      heap: es.heap,
      storageSize: es.storageSize,
      storageClass: es.storageClass,
      resources: es.resources,
      mmap: es.mmap,
      clusterIssuer: props.clusterIssuer,
      snapshots: props.snapshots?.bucket,
    });
    const endpoint = this.elasticsearch.endpoint;
    this.kibana = new Kibana(this, 'kibana', { elasticsearch: endpoint, caSecret: this.elasticsearch.tlsSecret, ...props.kibana });
    this.webUi = this.kibana.webUi;

    const exporterImage = props.context.images.image(ELASTICSEARCH_EXPORTER_IMAGE);
    const tcp: k8s.Probe = { tcpSocket: { port: k8s.IntOrString.fromNumber(EXPORTER_PORT) } };
    this.exporter = new PlatformDeployment(this, 'Exporter', {
      identity: { name: 'elasticsearch-exporter', instance: id, component: 'metrics-exporter', version: exporterImage.version },
      metrics: { port: EXPORTER_PORT, path: '/metrics' },
      pod: {
        user: 65534,
        group: 65534,
        volumes: [caVolume('ca', this.elasticsearch.tlsSecret)],
        containers: [
          {
            name: 'exporter',
            image: exporterImage,
            command: ['/bin/elasticsearch_exporter'],
            args: [`--es.uri=${endpoint.url('https')}`, `--es.ca=${ES_CERTS_DIR}/ca.crt`, '--es.all', '--es.timeout=10s', `--web.listen-address=:${EXPORTER_PORT}`, '--log.format=json'],
            // The exporter reads its credentials from these two variables only.
            env: { ES_USERNAME: EnvValue.fromValue('elasticsearch-exporter'), ES_PASSWORD: EnvValue.fromSecret(EXPORTER_PASSWORD) },
            ports: [{ name: 'metrics', number: EXPORTER_PORT }],
            resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '200m', memory: '64Mi' } },
            livenessProbe: { ...tcp, periodSeconds: 30, timeoutSeconds: 5 },
            readinessProbe: { ...tcp, periodSeconds: 10, timeoutSeconds: 5 },
            mounts: [{ volume: 'ca', path: ES_CERTS_DIR }],
          },
        ],
      },
    }).pods;
    allowFlow(this.exporter, endpoint);

    new LoggingSetup(this, 'setup', {
      elasticsearch: endpoint,
      kibana: this.kibana,
      caSecret: this.elasticsearch.tlsSecret,
      retentionDays: props.retentionDays,
      indexReplicas,
      users: [
        { name: LOG_SHIPPER_USER, roles: ['log-shipper'], password: LOG_SHIPPER_PASSWORD },
        { name: 'elasticsearch-exporter', roles: ['metrics-reader'], password: EXPORTER_PASSWORD },
      ],
      snapshots: props.snapshots ? { bucket: props.snapshots.bucket.bucket, basePath: props.context.cluster, schedule: props.snapshots.schedule, retentionDays: props.snapshots.retentionDays } : undefined,
    });
  }

  /** Elasticsearch's HTTPS endpoint, for the shipper. */
  public get endpoint(): ServiceEndpoint {
    return this.elasticsearch.endpoint;
  }
}
