// How big the pods of one Spark job are, from the sizes cluster.yaml gives: the quota check and
// the rendered configuration compute them the same way.
import { quantityValue } from '@ml-platform/core';

/** A driver or executor: cores and JVM heap (a quantity in Mi or Gi). */
export interface SparkProcessSize {
  readonly cores: number;
  readonly memory: string;
}

/** The default size of one job. */
export interface JobSize {
  readonly driver: SparkProcessSize;
  readonly executors: SparkProcessSize & { readonly instances: number };
}

/** A pod's CPU (limit) and memory (request = limit), as Kubernetes quantities. */
export interface PodSize {
  readonly cpu: string;
  readonly memory: string;
}

/** The heap in MiB. */
export function heapMi(size: SparkProcessSize): number {
  return quantityValue(size.memory) / 2 ** 20;
}

/**
 * The memory Spark adds to a heap for off-heap and Python workers: 40%, at least 384 MiB, as
 * Spark itself does for PySpark jobs (its non-JVM overhead factor). The render sets it
 * explicitly (spark.*.memoryOverhead), so the pods' size does not depend on the job's language.
 */
export function overheadMi(size: SparkProcessSize): number {
  return Math.max(384, Math.ceil(heapMi(size) * 0.4));
}

/** The pod Spark requests for a driver or executor of this size. */
export function processPod(size: SparkProcessSize): PodSize {
  return { cpu: String(size.cores), memory: `${heapMi(size) + overheadMi(size)}Mi` };
}

/** Fixed sizes: the spark-submit pod only uploads the job and waits for the driver. */
export const podSize = {
  submitter: { cpu: '500m', memory: '768Mi', requestCpu: '100m' },
} as const;

/** Every pod of one job of the default size: submitter, driver, executors. */
export function jobPods(job: JobSize): PodSize[] {
  return [{ cpu: podSize.submitter.cpu, memory: podSize.submitter.memory }, processPod(job.driver), ...Array.from({ length: job.executors.instances }, () => processPod(job.executors))];
}
