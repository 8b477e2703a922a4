// The namespace of Airflow's task pods (`airflow-tasks`): the KubernetesExecutor starts one pod
// per task from the pod template the render writes. Task pods hold no database credentials:
// Airflow 3 tasks talk to the api-server's execution API with a token the scheduler gives them.
import { Duration } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import {
  assertPodTemplateFileName,
  EnvValue,
  grant,
  hardenedPod,
  ImageRef,
  LabelKeys,
  Layer,
  PlatformChart,
  PlatformContext,
  PodSelection,
  podTemplateFile,
  trustFor,
  RbacSubject,
  ResourceSpec,
  WorkloadIdentity,
  workloadLabels,
} from '@ml-platform/core';
import { dagSync, DagRepository } from './dags';
import { AIRFLOW_CFG, CONFIG_DIR } from './settings';

/** The Airflow image's user, airflow (UID 50000; its files are group 0, readable by all). */
export const AIRFLOW_UID = 50000;
/** The container the KubernetesExecutor runs the task in, and reads logs from: the first, `base`. */
export const TASK_CONTAINER = 'base';
/** The KubernetesExecutor's template, in the scheduler's ConfigMap. */
export const TASK_TEMPLATE_FILE = assertPodTemplateFileName('pod-template.yaml');
/** The spark-submit pod template, in the task pods' ConfigMap. */
export const SPARK_SUBMIT_TEMPLATE_FILE = assertPodTemplateFileName('spark-submit-pod-template.yaml');
/** Where task pods find the spark-submit template. */
export const TASK_CONFIG_DIR = '/opt/airflow/pod_templates';

/** Where a task may submit Spark jobs: a namespace and the submitter pod's template. */
export interface SparkSubmitTarget {
  readonly namespace: string;
  readonly image: ImageRef;
  /** The submitter pod as a pod template file. */
  readonly podTemplate: string;
}

/** Properties for `AirflowTasksChart`. */
export interface AirflowTasksChartProps {
  readonly context: PlatformContext;
  readonly image: ImageRef;
  readonly gitSyncImage: ImageRef;
  readonly dags: DagRepository;
  /** airflow.cfg, the same file the scheduler reads. */
  readonly airflowCfg: string;
  /** The task's environment: S3 credentials, MLflow, Spark, connections. */
  readonly env: Readonly<Record<string, EnvValue>>;
  /** @default - 250m/512Mi requested, 1 CPU/2Gi limit */
  readonly resources?: ResourceSpec;
  /**
   * Where tasks submit Spark jobs (with a pod operator): task pods then get a token, and the
   * ServiceAccount must be granted the submitter Role there.
   *
   * @default - tasks talk to no Kubernetes API
   */
  readonly spark?: SparkSubmitTarget;
  /**
   * The servers tasks connect to (the analytics database): when one speaks TLS, task pods trust
   * the internal CA.
   *
   * @default - none
   */
  readonly servers?: readonly ({ readonly tls?: boolean } | undefined)[];
}

const DEFAULT_RESOURCES: ResourceSpec = { requests: { cpu: '250m', memory: '512Mi' }, limits: { cpu: '1', memory: '2Gi' } };

/**
 * The task pods' namespace: their ServiceAccount (no rights here; a token only when tasks
 * submit Spark jobs), their configuration, and the pod template, which the scheduler's chart
 * mounts (`podTemplate`).
 */
export class AirflowTasksChart extends PlatformChart {
  public readonly tasks: PodSelection;
  public readonly serviceAccount: RbacSubject;
  /** The KubernetesExecutor's pod template. */
  public readonly podTemplate: string;

  constructor(scope: Construct, id: string, props: AirflowTasksChartProps) {
    super(scope, id, { context: props.context, layer: Layer.APPS });
    const identity: WorkloadIdentity = { name: 'airflow-task', instance: 'airflow', component: 'task', version: props.image.version };
    this.tasks = new PodSelection(this, this.namespace, identity);
    this.serviceAccount = { serviceAccount: 'airflow-task', namespace: this.namespace };
    new k8s.KubeServiceAccount(this, 'ServiceAccount', {
      metadata: { name: this.serviceAccount.serviceAccount, namespace: this.namespace, labels: workloadLabels(identity) },
      automountServiceAccountToken: false,
    });
    const configMap = 'airflow-task-config';
    new k8s.KubeConfigMap(this, 'Config', {
      metadata: { name: configMap, namespace: this.namespace, labels: workloadLabels(identity) },
      data: { [AIRFLOW_CFG]: props.airflowCfg, ...(props.spark ? { [SPARK_SUBMIT_TEMPLATE_FILE]: props.spark.podTemplate } : {}) },
    });
    const sync = dagSync(this, props.dags, props.gitSyncImage, true);
    const trust = trustFor(this, ...(props.servers ?? []));
    const pod = hardenedPod(this, {
      user: AIRFLOW_UID,
      group: AIRFLOW_UID,
      serviceAccountName: this.serviceAccount.serviceAccount,
      mountServiceAccountToken: props.spark !== undefined,
      // As Airflow's chart gives task pods: time to run the task's on_kill and upload its log.
      terminationGracePeriod: Duration.seconds(600),
      initContainers: [sync.container],
      containers: [
        {
          name: TASK_CONTAINER,
          image: props.image,
          env: {
            AIRFLOW_CONFIG: EnvValue.fromValue(`${CONFIG_DIR}/${AIRFLOW_CFG}`),
            PYTHONDONTWRITEBYTECODE: EnvValue.fromValue('1'),
            ...props.env,
            ...(props.spark
              ? {
                  AIRFLOW_VAR_SPARK_NAMESPACE: EnvValue.fromValue(props.spark.namespace),
                  AIRFLOW_VAR_SPARK_IMAGE: EnvValue.fromValue(props.spark.image.reference),
                  AIRFLOW_VAR_SPARK_SUBMIT_POD_TEMPLATE: EnvValue.fromValue(`${TASK_CONFIG_DIR}/${SPARK_SUBMIT_TEMPLATE_FILE}`),
                }
              : {}),
          },
          resources: props.resources ?? DEFAULT_RESOURCES,
          writablePaths: [
            { path: '/opt/airflow/logs', sizeLimit: '1Gi' },
            { path: '/tmp', sizeLimit: '4Gi' },
            { path: '/home/airflow/.cache', sizeLimit: '256Mi' },
          ],
          mounts: [
            sync.mount,
            { volume: 'config', path: CONFIG_DIR },
            ...(props.spark ? [{ volume: 'task-config', path: TASK_CONFIG_DIR }] : []),
            ...trust.mounts,
          ],
        },
      ],
      volumes: [
        ...sync.volumes,
        { name: 'config', configMap: { name: configMap, items: [{ key: AIRFLOW_CFG, path: AIRFLOW_CFG }] } },
        ...(props.spark ? [{ name: 'task-config', configMap: { name: configMap, items: [{ key: SPARK_SUBMIT_TEMPLATE_FILE, path: SPARK_SUBMIT_TEMPLATE_FILE }] } }] : []),
        ...trust.volumes,
      ],
    });
    this.podTemplate = podTemplateFile(this.namespace, { ...workloadLabels(identity), [LabelKeys.MANAGED_BY]: 'airflow' }, { ...pod.spec, restartPolicy: 'Never' });
  }

  /** Lets `subject` (the scheduler) start, watch and delete task pods here; the api-server reads their logs. */
  public allowExecutor(scheduler: RbacSubject, apiServer: RbacSubject): void {
    const labels = { [LabelKeys.NAME]: 'airflow', [LabelKeys.COMPONENT]: 'rbac' };
    // KubernetesExecutor (provider 10.25): creates task pods, lists and watches them by label,
    // patches labels on adoption, deletes finished ones, and reads events of a pod that fails to start.
    grant(this, 'Executor', {
      name: 'airflow-executor',
      subject: scheduler,
      labels,
      rules: [
        { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'] },
        { apiGroups: [''], resources: ['events'], verbs: ['list'] },
      ],
    });
    // A running task's log comes from its pod until the task uploads it to S3.
    grant(this, 'LogReader', {
      name: 'airflow-log-reader',
      subject: apiServer,
      labels,
      rules: [
        { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] },
        { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
      ],
    });
  }
}
