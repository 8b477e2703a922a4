// Backups (docs/backup-restore.md): each scheduled backup's age against the maximum its component
// declared (backup-objectives.yml), and its runs, from kube-state-metrics.
import { BACKUP_MAX_AGE_SERIES } from '@ml-platform/core';
import { dashboard, stat, timeseries } from './builder';

const AGE = 'time() - max by (namespace, cronjob) (kube_cronjob_status_last_successful_time)';

export const BACKUP_DASHBOARD = dashboard({
  uid: 'backups',
  title: 'Backups',
  tags: ['platform', 'data'],
  description: 'Every scheduled backup (PostgreSQL with pgBackRest, Vault snapshots): the age of its last success against its objective, and its runs. docs/backup-restore.md.',
  panels: [
    stat('Backups older than their objective', { expr: `count(${AGE} > on (namespace, cronjob) ${BACKUP_MAX_AGE_SERIES}) or vector(0)` }, { redAt: 1 }),
    stat('Failed runs (24h)', { expr: 'sum(increase(kube_job_status_failed{job_name=~".*-(backup|snapshot)-.*"}[24h])) or vector(0)' }, { redAt: 1 }),
    stat('Oldest last success', { expr: `max(${AGE}) or vector(0)` }, { unit: 's' }),
    timeseries('Age of the last success', [
      { expr: AGE, legend: '{{namespace}}/{{cronjob}}' },
      { expr: `max by (namespace, cronjob) (${BACKUP_MAX_AGE_SERIES})`, legend: 'objective {{namespace}}/{{cronjob}}' },
    ], { unit: 's' }),
    // postgres_exporter's built-in pg_stat_archiver map; a quiet server archives nothing for hours.
    timeseries('PostgreSQL: since the last archived WAL segment, and failed attempts', [
      { expr: 'max by (namespace) (pg_stat_archiver_last_archive_age)', legend: 'seconds since the last archive {{namespace}}' },
      { expr: 'sum by (namespace) (increase(pg_stat_archiver_failed_count[1h]))', legend: 'failed attempts per hour {{namespace}}' },
    ]),
    timeseries('Runs', [
      { expr: 'sum by (namespace) (kube_job_status_succeeded{job_name=~".*-(backup|snapshot)-.*"})', legend: 'succeeded {{namespace}}' },
      { expr: 'sum by (namespace) (kube_job_status_failed{job_name=~".*-(backup|snapshot)-.*"})', legend: 'failed {{namespace}}' },
    ]),
  ],
});
