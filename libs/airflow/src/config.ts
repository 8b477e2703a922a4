import { z } from 'zod';
import { dnsLabel, replicas, resources as resourcesSchema } from '@ml-platform/core';

/** The executors the platform runs Airflow with: tasks in pods of their own. */
export const AIRFLOW_EXECUTORS = ['KubernetesExecutor'] as const;

const component = (what: string, defaults: string) =>
  z
    .strictObject({
      replicas: replicas.default(1).describe(`${what} pods; 2 or more get a PodDisruptionBudget and spread across nodes.`),
      resources: resourcesSchema.optional().describe(`Default ${defaults}.`),
    })
    .prefault({});

/** The `components.airflow` section of cluster.yaml. */
export const airflowConfigSchema = z
  .strictObject({
    enabled: z.boolean().describe('Render Airflow: api-server, scheduler, dag-processor, triggerer, task pods (needs postgres and minio; mlflow and spark are wired when enabled).'),
    executor: z
      .enum(AIRFLOW_EXECUTORS)
      .default('KubernetesExecutor')
      .describe('How tasks run: the platform runs every task in a pod of its own.'),
    dags: z
      .strictObject({
        repository: z
          .strictObject({
            url: z
              .string()
              .regex(/^https:\/\/[^\s/]+\/[^\s]+$/, { error: 'expected an https:// URL of a Git repository (git-sync clones with the deploy token over HTTPS)' })
              .describe('The Git repository the DAGs come from, e.g. this repository.'),
            branch: z.string().min(1).default('main').describe('The branch git-sync follows.'),
            subPath: z
              .string()
              .regex(/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/, { error: 'expected a relative folder such as pipelines/dags' })
              .default('pipelines/dags')
              .describe('The DAG folder within the repository.'),
            credentialsSecret: dnsLabel.describe('The Secret with keys username and password (a GitLab deploy token with read_repository) git-sync clones with; list it under external.secrets.'),
          })
          .describe('Where the DAGs come from: git-sync clones it beside the dag-processor and the triggerer, and into every task pod.'),
        syncInterval: z.int().min(10).max(3600).default(60).describe('Seconds between two fetches.'),
      })
      .describe('The DAG folder, from Git.'),
    apiServer: component('api-server (UI and REST API)', '250m/1Gi requested, 1 CPU/2Gi limit'),
    executionApi: component('Execution API (task pods report here; HTTPS from the internal CA while inClusterTls is on)', '100m/512Mi requested, 1 CPU/1Gi limit'),
    scheduler: component('Scheduler', '250m/1Gi requested, 1 CPU/2Gi limit'),
    dagProcessor: z.strictObject({ resources: resourcesSchema.optional().describe('Default 250m/1Gi requested, 1 CPU/2Gi limit.') }).prefault({}),
    triggerer: component('Triggerer', '100m/512Mi requested, 500m/1Gi limit'),
    tasks: z
      .strictObject({
        resources: resourcesSchema.optional().describe('Each task pod unless the task asks otherwise; default 250m/512Mi requested, 1 CPU/2Gi limit.'),
        parallelism: z.int().min(1).max(1024).default(16).describe('Task pods at once, across all DAGs ([core] parallelism).'),
      })
      .prefault({}),
  })
  .describe('Airflow 3: pipelines as DAGs, each task in a pod of its own.');

export type AirflowConfig = z.output<typeof airflowConfigSchema>;
