// How old each backup may get: the components declare their scheduled backups here, and the
// monitoring chart records each objective as a series that one set of alerts compares with the
// CronJob's last success (kube-state-metrics), as the model-drift rules do with their baselines.
import { IConstruct } from 'constructs';
import { z } from 'zod';
import { registryOf } from './app-registry';

/** The recorded objective: seconds, labelled with the CronJob's namespace and name. */
export const BACKUP_MAX_AGE_SERIES = 'backup:max_age_seconds';

/** A scheduled backup the platform watches. */
export interface WatchedBackup {
  readonly namespace: string;
  /** The CronJob that takes it. */
  readonly cronJob: string;
  /** The oldest its last success may be before an alert fires: the interval plus the time a run may take. */
  readonly maxAgeSeconds: number;
}

const REGISTRIES = new WeakMap<IConstruct, BackupObjectives>();

/** The scheduled backups of one app. */
export class BackupObjectives {
  public static of(scope: IConstruct): BackupObjectives {
    return registryOf(REGISTRIES, scope, () => new BackupObjectives());
  }

  private readonly declared = new Map<string, WatchedBackup>();

  private constructor() {
    // One per app: BackupObjectives.of(scope).
  }

  /** Every backup declared so far, by namespace and CronJob. */
  public get backups(): readonly WatchedBackup[] {
    return [...this.declared.values()].sort((a, b) => (`${a.namespace}/${a.cronJob}` < `${b.namespace}/${b.cronJob}` ? -1 : 1));
  }

  /** Declares a backup; throws on a second one for the same CronJob or an objective under a minute. */
  public declare(backup: WatchedBackup): void {
    const key = `${backup.namespace}/${backup.cronJob}`;
    if (this.declared.has(key)) throw new Error(`backup ${key} is declared twice`);
    if (!(backup.maxAgeSeconds >= 60)) throw new Error(`backup ${key}: its maximum age must be at least 60 seconds, got ${backup.maxAgeSeconds}`);
    this.declared.set(key, backup);
  }
}

/** A duration such as `5m`, `12h` or `14d`. */
export const DURATION = /^([0-9]+)(m|h|d)$/;
/** Seconds of a duration such as `5m`, `12h` or `14d`. */
export const durationSeconds = (d: string) => {
  const [, n, unit] = DURATION.exec(d) as RegExpExecArray;
  return Number(n) * { m: 60, h: 3600, d: 86400 }[unit as 'm' | 'h' | 'd'];
};
/** Full backup intervals a cron expression states exactly. */
export const BACKUP_INTERVALS = ['1h', '2h', '3h', '4h', '6h', '8h', '12h', '1d', '7d'] as const;
/** A backup interval in cluster.yaml. */
export const backupInterval = z.enum(BACKUP_INTERVALS, { error: `expected one of ${BACKUP_INTERVALS.join(', ')}` });

/** What a full backup schedule is: its cron expression and period. */
export interface BackupSchedule {
  readonly cron: string;
  readonly everySeconds: number;
}

/** The CronJob schedule of `every`. */
export function backupSchedule(every: (typeof BACKUP_INTERVALS)[number]): BackupSchedule {
  const hours = every.endsWith('h') ? Number.parseInt(every, 10) : undefined;
  const cron = hours === undefined ? (every === '7d' ? '15 2 * * 0' : '15 2 * * *') : hours === 1 ? '15 * * * *' : `15 */${hours} * * *`;
  return { cron, everySeconds: durationSeconds(every) };
}

