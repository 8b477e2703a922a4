import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { allowFlow, EnvValue, PlatformChart, PlatformJob, PodSelection, SecretKeyRef, secretFilePath, ServiceEndpoint, workloadLabels } from '@ml-platform/core';
import { caVolume, elasticCurlConfig, ES_CERTS_DIR, ELASTIC_PASSWORD } from './elasticsearch';
import { ELASTICSEARCH_IMAGE } from './images';
import { elasticsearchRoles, indexTemplate, INDEX_TEMPLATE, LIFECYCLE_POLICY, lifecyclePolicy, LOGS_DATA_VIEW, LOGS_VIEWER_ROLE, SNAPSHOT_POLICY, snapshotPolicy } from './index-setup';
import { Kibana, KIBANA_SYSTEM_PASSWORD, LOGS_VIEWER_PASSWORD, LOGS_VIEWER_USER } from './kibana';

/** An Elasticsearch user the setup Job creates, its roles and where its password comes from. */
export interface PlatformUser {
  readonly name: string;
  readonly roles: readonly string[];
  readonly password: SecretKeyRef;
}

/** Properties for `LoggingSetup`. */
export interface LoggingSetupProps {
  readonly elasticsearch: ServiceEndpoint;
  readonly kibana: Kibana;
  readonly caSecret: string;
  readonly retentionDays: number;
  readonly indexReplicas: number;
  /** Users besides kibana_system and logs-viewer (the shipper, the exporter). */
  readonly users: readonly PlatformUser[];
  /** @default - no snapshot repository */
  readonly snapshots?: { readonly bucket: string; readonly basePath: string; readonly schedule: string; readonly retentionDays: number };
}

const SECRETS = '/run/secrets/logging-setup';
const FILES = '/etc/logging-setup';
export const SNAPSHOT_REPOSITORY = 'minio';

/**
 * The idempotent Job that makes Elasticsearch and Kibana ready for the platform's logs: the
 * lifecycle policy and index template, the roles and users (passwords from the cluster's
 * secrets), kibana_system's password, the snapshot repository and its nightly policy, and in
 * Kibana the logs-viewer role and the data view. It runs again whenever any of that changes.
 */
export class LoggingSetup extends Construct {
  public readonly pods: PodSelection;

  constructor(scope: Construct, id: string, props: LoggingSetupProps) {
    super(scope, id);
    const chart = PlatformChart.of(this);
    const image = chart.context.images.image(ELASTICSEARCH_IMAGE);
    const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
    const files: Record<string, string> = {
      'lifecycle-policy.json': json({ policy: lifecyclePolicy(props.retentionDays) }),
      'index-template.json': json(indexTemplate(props.indexReplicas)),
      'logs-viewer-role.json': json(LOGS_VIEWER_ROLE),
      'data-view.json': json(LOGS_DATA_VIEW),
      ...Object.fromEntries(Object.entries(elasticsearchRoles()).map(([name, role]) => [`role-${name}.json`, json(role)])),
      ...(props.snapshots
        ? {
            'snapshot-repository.json': json({ type: 's3', settings: { bucket: props.snapshots.bucket, client: 'default', base_path: props.snapshots.basePath } }),
            'snapshot-policy.json': json(snapshotPolicy(props.snapshots.schedule, props.snapshots.retentionDays, SNAPSHOT_REPOSITORY)),
          }
        : {}),
    };
    const configMap = 'logging-setup';
    const identity = { name: 'logging-setup', instance: id, component: 'setup', version: image.version };
    new k8s.KubeConfigMap(this, 'Files', { metadata: { name: configMap, namespace: chart.namespace, labels: workloadLabels(identity) }, data: files });

    const passwords = [ELASTIC_PASSWORD, KIBANA_SYSTEM_PASSWORD, LOGS_VIEWER_PASSWORD, ...props.users.map((u) => u.password)];
    const file = (ref: SecretKeyRef) => secretFilePath(chart, `${SECRETS}/${ref.secretName}`, ref);
    const users = [...props.users, { name: LOGS_VIEWER_USER, roles: ['logs-viewer'], password: LOGS_VIEWER_PASSWORD }];
    const script = [
      'set -eu',
      'umask 077',
      // Credentials go to curl in a config file, never on its command line.
      `${elasticCurlConfig(file(ELASTIC_PASSWORD))} > /tmp/elastic.curlrc`,
      `es() { curl --silent --show-error --fail-with-body --config /tmp/elastic.curlrc --cacert ${ES_CERTS_DIR}/ca.crt -H 'Content-Type: application/json' "$@"; echo; }`,
      // Kibana's certificate comes from the same internal CA as Elasticsearch's.
      `kb() { curl --silent --show-error --fail-with-body --config /tmp/elastic.curlrc --cacert ${ES_CERTS_DIR}/ca.crt -H 'kbn-xsrf: true' -H 'Content-Type: application/json' "$@"; echo; }`,
      `ES=${props.elasticsearch.url('https')}`,
      `KB=${props.kibana.endpoint.url(props.kibana.tls ? 'https' : 'http')}`,
      'echo "waiting for Elasticsearch at $ES"',
      'until es --max-time 5 "$ES/_cluster/health?wait_for_status=yellow&timeout=5s" > /dev/null; do sleep 5; done',
      `es -X PUT "$ES/_ilm/policy/${LIFECYCLE_POLICY}" --data-binary @${FILES}/lifecycle-policy.json`,
      `es -X PUT "$ES/_index_template/${INDEX_TEMPLATE}" --data-binary @${FILES}/index-template.json`,
      ...Object.keys(elasticsearchRoles()).map((role) => `es -X PUT "$ES/_security/role/${role}" --data-binary @${FILES}/role-${role}.json`),
      `printf '{"password":"%s"}' "$(cat ${file(KIBANA_SYSTEM_PASSWORD)})" | es -X POST "$ES/_security/user/kibana_system/_password" --data-binary @-`,
      ...users.map((u) => `printf '{"password":"%s","roles":${JSON.stringify(u.roles)}}' "$(cat ${file(u.password)})" | es -X PUT "$ES/_security/user/${u.name}" --data-binary @-`),
      ...(props.snapshots
        ? [
            `es -X PUT "$ES/_snapshot/${SNAPSHOT_REPOSITORY}" --data-binary @${FILES}/snapshot-repository.json`,
            `es -X PUT "$ES/_slm/policy/${SNAPSHOT_POLICY}" --data-binary @${FILES}/snapshot-policy.json`,
          ]
        : []),
      'echo "waiting for Kibana at $KB"',
      'until kb --max-time 5 "$KB/api/status" > /dev/null; do sleep 5; done',
      `kb -X PUT "$KB/api/security/role/logs-viewer" --data-binary @${FILES}/logs-viewer-role.json`,
      `kb -X POST "$KB/api/data_views/data_view" --data-binary @${FILES}/data-view.json`,
      'echo "logging ready"',
    ].join('\n');

    const secretsByName = new Map<string, SecretKeyRef[]>();
    for (const ref of passwords) secretsByName.set(ref.secretName, [...(secretsByName.get(ref.secretName) ?? []), ref]);
    const job = new PlatformJob(chart, `${id}Job`, {
      identity,
      revisionOf: [script, ...Object.values(files)],
      pod: {
        user: 1000,
        group: 1000,
        volumes: [
          { name: 'files', configMap: { name: configMap } },
          caVolume('ca', props.caSecret),
        ],
        containers: [
          {
            name: 'setup',
            image,
            command: ['/bin/bash', '-c', script],
            env: { HOME: EnvValue.fromValue('/tmp') },
            resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '200m', memory: '128Mi' } },
            writablePaths: [{ path: '/tmp', sizeLimit: '16Mi' }],
            mounts: [
              { volume: 'files', path: FILES },
              { volume: 'ca', path: ES_CERTS_DIR },
            ],
            secretFiles: [...secretsByName.entries()].map(([name, keys]) => ({ directory: `${SECRETS}/${name}`, keys })),
          },
        ],
      },
    });
    this.pods = job.pods;
    allowFlow(this.pods, props.elasticsearch);
    allowFlow(this.pods, props.kibana.endpoint);
  }
}
