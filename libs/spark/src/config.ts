import { z } from 'zod';
import { quantity, quantityValue, resources as resourcesSchema } from '@ml-platform/core';
import { JobSize, jobPods, podSize } from './sizing';

const heap = z.string().regex(/^[0-9]+(Mi|Gi)$/, { error: 'expected a size such as 2Gi or 512Mi' });

/** A duration in days, such as `14d`: how long Spark's history keeps a job's event log. */
const days = z
  .string()
  .regex(/^[1-9][0-9]*d$/, { error: 'expected a number of days such as 14d' })
  .transform((d) => Number.parseInt(d, 10));

/** The `components.spark` section of cluster.yaml. */
export const sparkConfigSchema = z
  .strictObject({
    enabled: z.boolean().describe('Render Spark on Kubernetes: the namespace jobs run in, their pod templates and configuration, and the history server (needs minio).'),
    driver: z
      .strictObject({
        cores: z.int().min(1).max(16).default(1).describe('CPU cores of the driver (request and limit).'),
        memory: heap.default('1Gi').describe('JVM heap of the driver; Spark adds its overhead on top.'),
      })
      .prefault({})
      .describe('The driver of a job unless the job asks otherwise.'),
    executors: z
      .strictObject({
        instances: z.int().min(1).max(64).default(2).describe('Executors a job starts unless it asks otherwise.'),
        cores: z.int().min(1).max(16).default(1).describe('CPU cores per executor (request and limit).'),
        memory: heap.default('2Gi').describe('JVM heap per executor; Spark adds its overhead on top.'),
      })
      .prefault({})
      .describe('The executors of a job unless the job asks otherwise.'),
    quota: z
      .strictObject({
        cpu: quantity.describe('CPU all Spark jobs may hold at once (limits).'),
        memory: quantity.describe('Memory all Spark jobs may hold at once.'),
        pods: z.int().min(3).describe('Pods at once: a job is a submitter, a driver and its executors.'),
      })
      .describe('The ResourceQuota of the jobs namespace: what Spark jobs together may take from the cluster. One job of the default size must fit.'),
    eventLogs: z
      .strictObject({ retention: days.default(14).describe('Delete event logs (and so the history of a job) older than this, e.g. 14d.') })
      .prefault({})
      .describe('The event logs jobs write to s3://spark-events, which the history server reads.'),
    historyServer: z
      .strictObject({
        resources: resourcesSchema.optional().describe('Default 100m/1Gi requested, 1 CPU/2Gi limit; the heap is 3/4 of the memory limit.'),
        cacheSize: quantity.default('5Gi').describe("Disk the history server may use for its store of parsed event logs (an emptyDir: it is rebuilt from the bucket after a restart)."),
      })
      .prefault({}),
  })
  .superRefine((spark, ctx) => {
    const job: JobSize = { driver: spark.driver, executors: spark.executors };
    const pods = jobPods(job);
    const cpu = pods.reduce((sum, p) => sum + quantityValue(p.cpu), 0);
    const memory = pods.reduce((sum, p) => sum + quantityValue(p.memory), 0);
    const describe = `a submitter (${podSize.submitter.cpu} CPU, ${podSize.submitter.memory}), a driver (${pods[1].cpu} CPU, ${pods[1].memory}) and ${job.executors.instances} executor(s) of ${pods[2]?.cpu} CPU, ${pods[2]?.memory}`;
    if (cpu > quantityValue(spark.quota.cpu) || memory > quantityValue(spark.quota.memory) || pods.length > spark.quota.pods) {
      ctx.addIssue({
        code: 'custom',
        path: ['executors'],
        message: `expected one job of the default size to fit the quota (cpu ${spark.quota.cpu}, memory ${spark.quota.memory}, pods ${spark.quota.pods}), found ${describe}: ${cpu} CPU, ${Math.ceil(memory / 2 ** 20)}Mi, ${pods.length} pods; lower the executors or raise components.spark.quota`,
      });
    }
  })
  .describe('Spark on Kubernetes without an operator: jobs in their own namespace, event logs on MinIO, the history server.');

export type SparkConfig = z.output<typeof sparkConfigSchema>;
