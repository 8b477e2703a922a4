// What the setup Job puts into Elasticsearch for the logs: the lifecycle policy, the index
// template of the data stream the shipper writes, and the roles of the platform's users. JSON
// bodies of the Elasticsearch and Kibana APIs, typed by the Elasticsearch client's own
// request types so a misspelt or misplaced key fails the type check.
import type { estypes } from '@elastic/elasticsearch';

/** The data stream every platform log record goes to (`logs-<dataset>-<namespace>`). */
export const LOG_DATA_STREAM = 'logs-platform-default';
/** Its pattern, which the index template, the roles and Kibana's data view use. */
export const LOG_INDEX_PATTERN = 'logs-platform-*';
export const LIFECYCLE_POLICY = 'platform-logs';
export const INDEX_TEMPLATE = 'platform-logs';

/** Rollover daily (or at 10 GB per shard), delete `retentionDays` after rollover. */
export function lifecyclePolicy(retentionDays: number): estypes.IlmPutLifecycleRequest['policy'] {
  return {
    _meta: { description: 'Platform logs: one backing index a day, deleted after the retention in cluster.yaml (components.logging.retention).', managed_by: 'ml-platform' },
    phases: {
      hot: { actions: { rollover: { max_age: '1d', max_primary_shard_size: '10gb' }, set_priority: { priority: 100 } } },
      delete: { min_age: `${retentionDays}d`, actions: { delete: {} } },
    },
  };
}

/**
 * The fields the shipper's records carry (the Elasticsearch exporter's `otel` mapping mode, as
 * the shipper test records them), with the type each is indexed as. Attributes keep their
 * dotted OpenTelemetry names (`k8s.namespace.name`) as leaf fields: `subobjects: false`, so a
 * JSON log's `status` and `status.code` can both exist; objects in a JSON log are flattened into
 * dotted leaves by Elasticsearch.
 */
export const LOG_MAPPINGS = {
  dynamic: true,
  dynamic_templates: [
    { attribute_strings: { path_match: ['attributes.*', 'resource.attributes.*', 'scope.attributes.*'], match_mapping_type: 'string', mapping: { type: 'keyword', ignore_above: 1024 } } },
  ],
  properties: {
    '@timestamp': { type: 'date_nanos', ignore_malformed: false },
    observed_timestamp: { type: 'date_nanos' },
    severity_text: { type: 'keyword' },
    severity_number: { type: 'byte' },
    body: { properties: { text: { type: 'match_only_text' }, structured: { type: 'flattened' } } },
    attributes: { type: 'object', subobjects: false },
    dropped_attributes_count: { type: 'long' },
    resource: { properties: { attributes: { type: 'object', subobjects: false }, dropped_attributes_count: { type: 'long' }, schema_url: { type: 'keyword' } } },
    scope: {
      properties: { name: { type: 'keyword' }, version: { type: 'keyword' }, attributes: { type: 'object', subobjects: false }, dropped_attributes_count: { type: 'long' }, schema_url: { type: 'keyword' } },
    },
    trace_id: { type: 'keyword' },
    span_id: { type: 'keyword' },
    event_name: { type: 'keyword' },
  },
} satisfies estypes.MappingTypeMapping;

/** The index template of the platform's log data stream; above the built-in `logs` template (priority 100). */
export function indexTemplate(indexReplicas: number): Omit<estypes.IndicesPutIndexTemplateRequest, 'name'> {
  return {
    index_patterns: [LOG_INDEX_PATTERN],
    data_stream: {},
    priority: 500,
    _meta: { description: 'Platform logs shipped by the OpenTelemetry Collector (libs/logging).', managed_by: 'ml-platform' },
    template: {
      settings: {
        'index.lifecycle.name': LIFECYCLE_POLICY,
        'index.number_of_shards': 1,
        'index.number_of_replicas': indexReplicas,
        'index.codec': 'best_compression',
        // A field whose value does not fit its type is left unindexed, not the whole line lost.
        'index.mapping.ignore_malformed': true,
        'index.mapping.total_fields.limit': 2000,
        'index.mapping.total_fields.ignore_dynamic_beyond_limit': true,
      },
      mappings: LOG_MAPPINGS,
    },
  };
}

/** The roles the setup Job creates in Elasticsearch (request bodies), by name. */
export function elasticsearchRoles(): Record<string, Omit<estypes.SecurityPutRoleRequest, 'name'>> {
  return {
    'log-shipper': {
      description: 'Writes log records into the platform data stream, and nothing else.',
      cluster: ['monitor'],
      indices: [{ names: [LOG_INDEX_PATTERN], privileges: ['create_doc', 'auto_configure'] }],
    },
    'metrics-reader': {
      description: "Reads cluster, node and index statistics for elasticsearch_exporter.",
      cluster: ['monitor'],
      indices: [{ names: ['*'], privileges: ['monitor'] }],
    },
  };
}

/** The Kibana role of everyone who passed the sign-in proxy: read the logs in Discover and dashboards. */
export const LOGS_VIEWER_ROLE = {
  description: 'Everyone the sign-in proxy lets in: search the platform logs.',
  elasticsearch: { cluster: [], indices: [{ names: [LOG_INDEX_PATTERN], privileges: ['read', 'view_index_metadata'] }] },
  kibana: [{ base: [], feature: { discover: ['read'], dashboard: ['read'], visualize: ['read'] }, spaces: ['*'] }],
};

/** The data view people open in Discover. */
export const LOGS_DATA_VIEW = { data_view: { id: 'platform-logs', name: 'Platform logs', title: LOG_INDEX_PATTERN, timeFieldName: '@timestamp' }, override: true };

/** The snapshot lifecycle policy `nightly`: into the MinIO repository, kept `retentionDays` (never fewer than 5). */
export const SNAPSHOT_POLICY = 'nightly';

export function snapshotPolicy(schedule: string, retentionDays: number, repository: string): Omit<estypes.SlmPutLifecycleRequest, 'policy_id'> {
  return {
    schedule,
    name: '<nightly-{now/d}>',
    repository,
    config: { indices: [LOG_INDEX_PATTERN], include_global_state: true, ignore_unavailable: true },
    retention: { expire_after: `${retentionDays}d`, min_count: 5, max_count: Math.max(5, retentionDays * 2) },
  };
}
