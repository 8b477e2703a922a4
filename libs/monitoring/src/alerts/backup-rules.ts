// Backups: each scheduled backup's CronJob (kube-state-metrics) against the maximum age its
// component declared (BackupObjectives), recorded per cluster in backup-objectives.yml. The
// alerts are the same for every backup, so their promtool tests never change with a component.
import { BACKUP_MAX_AGE_SERIES, WatchedBackup } from '@ml-platform/core';
import { AlertRule, RuleGroup } from './rule';

/** The objectives as recording rules: `backup:max_age_seconds{namespace, cronjob}`. */
export function backupObjectiveRules(backups: readonly WatchedBackup[]): RuleGroup[] {
  return [
    {
      name: 'backup-objectives',
      rules: backups.map((b) => ({ record: BACKUP_MAX_AGE_SERIES, expr: `vector(${b.maxAgeSeconds})`, labels: { namespace: b.namespace, cronjob: b.cronJob } })),
    },
  ];
}

export const BACKUP_ALERTS: AlertRule[] = [
  {
    // postgres_exporter's built-in pg_stat_archiver map (failed_count, archived_count as counters).
    // A quiet server archives nothing for hours, so the age of the last archive says nothing alone.
    alert: 'PostgresWalArchivingFailing',
    expr: 'increase(pg_stat_archiver_failed_count[15m]) > 0\nunless on (namespace, pod)\nincrease(pg_stat_archiver_archived_count[15m]) > 0',
    for: '15m',
    severity: 'critical',
    summary: 'PostgreSQL in {{ $labels.namespace }} fails to archive its WAL',
    description:
      'archive_command fails and nothing was archived for 15 minutes: point-in-time recovery stops at the last archived segment, and the segments pile up in pg_wal on the data volume. kubectl -n {{ $labels.namespace }} logs {{ $labels.pod }} -c postgres shows pgBackRest\'s error (the bucket, its key, MinIO down); docs/backup-restore.md.',
  },
  {
    alert: 'BackupTooOld',
    expr: `time() - max by (namespace, cronjob) (kube_cronjob_status_last_successful_time)\n> on (namespace, cronjob)\n${BACKUP_MAX_AGE_SERIES}`,
    for: '10m',
    severity: 'critical',
    summary: 'The last good backup of {{ $labels.namespace }} ({{ $labels.cronjob }}) is {{ $value | humanizeDuration }} old',
    description:
      'Older than its schedule allows: a restore would lose more than the cluster accepts. kubectl -n {{ $labels.namespace }} get jobs shows the failed runs; their pods\' logs say why (docs/backup-restore.md). The WAL archive may still be current.',
  },
  {
    alert: 'BackupNeverSucceeded',
    expr: `time() - max by (namespace, cronjob) (kube_cronjob_created)\n> on (namespace, cronjob)\n${BACKUP_MAX_AGE_SERIES}\nunless on (namespace, cronjob)\nkube_cronjob_status_last_successful_time`,
    for: '10m',
    severity: 'critical',
    summary: '{{ $labels.namespace }} ({{ $labels.cronjob }}) has had no successful backup since its CronJob was created',
    description: 'There is nothing to restore from. kubectl -n {{ $labels.namespace }} get jobs shows the runs; docs/backup-restore.md lists the usual causes (the bucket, its key, the TLS server, the stanza).',
  },
];
