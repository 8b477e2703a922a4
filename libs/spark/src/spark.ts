import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import {
  allowEgressToAddresses,
  ApiServerEndpoints,
  allowFlow,
  allowPodFlow,
  assertOneS3Key,
  ComputeQuota,
  EnvValue,
  grant,
  hardenedPod,
  HardenedPodProps,
  ImageRef,
  jvmTrustEnv,
  LabelKeys,
  Layer,
  PlatformChart,
  PlatformContext,
  PlatformResourceQuota,
  PodSelection,
  podTemplateFile,
  RbacSubject,
  requireApiServer,
  requireSecretsInKubernetes,
  S3Bucket,
  s3Env,
  ServiceEndpoint,
  trustFor,
  WorkloadIdentity,
  workloadLabels,
} from '@ml-platform/core';
import { SPARK_IMAGE } from './images';
import { JobSize, podSize, processPod } from './sizing';
import {
  DRIVER_CONTAINER,
  DRIVER_TEMPLATE_FILE,
  EXECUTOR_CONTAINER,
  EXECUTOR_TEMPLATE_FILE,
  jobDefaults,
  SPARK_CONF_DIR,
  SPARK_DEFAULTS_FILE,
  SparkPorts,
} from './submit-config';

/** The apache/spark image's user, spark (UID and GID 185). */
export const SPARK_UID = 185;

/** Properties for `SparkJobsChart`. */
export interface SparkJobsChartProps {
  readonly context: PlatformContext;
  /** The default size of a job; a job may ask for other sizes within the quota. */
  readonly size: JobSize;
  /** What all jobs together may hold. */
  readonly quota: ComputeQuota;
  /** Where jobs write their event logs. */
  readonly eventLogs: S3Bucket;
  /** Where spark-submit uploads a job's local files (same credentials as `eventLogs`). */
  readonly uploads: S3Bucket;
}

/**
 * How another component submits Spark jobs: it starts a pod from `podTemplate` in `namespace`
 * (a Kubernetes pod operator does) whose container runs `spark-submit` against the mounted
 * configuration, and needs the Role `allowSubmitter` grants.
 */
export interface SparkSubmission {
  readonly namespace: string;
  readonly image: ImageRef;
  /** The submitter pod, as a pod template file (container `base`, the pod operator's). */
  readonly podTemplate: string;
  /** The container in `podTemplate` that runs spark-submit. */
  readonly container: string;
}

/** The name Airflow's KubernetesPodOperator gives the container it runs (and looks for in a template). */
const SUBMITTER_CONTAINER = 'base';

/** Labels of pods Spark or a pod operator creates from our templates. */
function templateLabels(identity: WorkloadIdentity, managedBy: string): Record<string, string> {
  return { ...workloadLabels(identity), [LabelKeys.MANAGED_BY]: managedBy };
}

/**
 * The namespace Spark jobs run in (`spark`), without an operator: spark-submit runs in a
 * submitter pod in cluster mode and starts the driver from a pod template, the driver starts
 * its executors from another; every one of them passes Pod Security `restricted` with a
 * read-only root. The ServiceAccount `spark` (submitter and driver) may manage pods, Services
 * and ConfigMaps here and nothing else; executors get no token. A ResourceQuota caps what jobs
 * together take; event logs go to S3 for the history server.
 */
export class SparkJobsChart extends PlatformChart {
  public readonly submitters: PodSelection;
  public readonly drivers: PodSelection;
  public readonly executors: PodSelection;
  public readonly submission: SparkSubmission;
  /** The ServiceAccount of submitters and drivers. */
  public readonly serviceAccount: RbacSubject;
  private readonly s3: ServiceEndpoint;
  private readonly apiServer: ApiServerEndpoints;
  private submitterFlows = false;

  constructor(scope: Construct, id: string, props: SparkJobsChartProps) {
    super(scope, id, { context: props.context, layer: Layer.APPS });
    requireSecretsInKubernetes(this, 'driver and executor pods are created by Spark from templates');
    assertOneS3Key('spark', 'a Spark pod', { 'event logs': props.eventLogs, uploads: props.uploads });
    const image = props.context.images.image(SPARK_IMAGE);
    const apiServer = requireApiServer(this);
    const identity = (name: string, component: string): WorkloadIdentity => ({ name, instance: id, component, version: image.version });
    const submitter = identity('spark-submit', 'submitter');
    const driver = identity('spark-driver', 'driver');
    const executor = identity('spark-executor', 'executor');
    this.submitters = new PodSelection(this, this.namespace, submitter);
    this.drivers = new PodSelection(this, this.namespace, driver);
    this.executors = new PodSelection(this, this.namespace, executor);
    this.serviceAccount = { serviceAccount: 'spark', namespace: this.namespace };
    new k8s.KubeServiceAccount(this, 'ServiceAccount', {
      metadata: { name: this.serviceAccount.serviceAccount, namespace: this.namespace, labels: { [LabelKeys.NAME]: 'spark', [LabelKeys.COMPONENT]: 'rbac' } },
      automountServiceAccountToken: false,
    });

    // One S3 server holds both buckets (assertOneS3Key); its CA, when it speaks TLS, goes to
    // every JVM of the pods as their truststore.
    const s3 = { ...s3Env(props.eventLogs), ...jvmTrustEnv(props.eventLogs, props.uploads) };
    const trust = trustFor(this, props.eventLogs, props.uploads);
    const template = (labels: Record<string, string>, pod: HardenedPodProps): string => podTemplateFile(this.namespace, labels, { ...hardenedPod(this, pod).spec, restartPolicy: 'Never' });
    // Spark fills in image, command, resources and its own volumes (configuration, local dirs);
    // the templates add identity, security, the S3 credentials and the writable paths.
    const process = (name: string, size: { cores: number; memory: string }, token: boolean): HardenedPodProps => {
      const pod = processPod(size);
      return {
        user: SPARK_UID,
        group: SPARK_UID,
        serviceAccountName: token ? this.serviceAccount.serviceAccount : undefined,
        mountServiceAccountToken: token,
        containers: [
          {
            name,
            image,
            env: s3,
            resources: { requests: { cpu: pod.cpu, memory: pod.memory }, limits: { cpu: pod.cpu, memory: pod.memory } },
            // The JVM's and Python's temporary files, and the work dir PySpark starts in.
            writablePaths: [
              { path: '/tmp', sizeLimit: '4Gi' },
              { path: '/opt/spark/work-dir', sizeLimit: '1Gi' },
            ],
            mounts: trust.mounts,
          },
        ],
        volumes: trust.volumes,
      };
    };
    const driverTemplate = template(templateLabels(driver, 'spark'), process(DRIVER_CONTAINER, props.size.driver, true));
    const executorTemplate = template(templateLabels(executor, 'spark'), process(EXECUTOR_CONTAINER, props.size.executors, false));

    const confMap = 'spark-conf';
    new k8s.KubeConfigMap(this, 'Conf', {
      metadata: { name: confMap, namespace: this.namespace, labels: { [LabelKeys.NAME]: 'spark', [LabelKeys.COMPONENT]: 'config' } },
      data: {
        [SPARK_DEFAULTS_FILE]: jobDefaults({ namespace: this.namespace, serviceAccount: this.serviceAccount.serviceAccount, image: image.reference, size: props.size, eventLogs: props.eventLogs, uploads: props.uploads }),
        [DRIVER_TEMPLATE_FILE]: driverTemplate,
        [EXECUTOR_TEMPLATE_FILE]: executorTemplate,
      },
    });
    // The submitter: spark-submit uploads the job's files and waits for the driver to finish.
    this.submission = {
      namespace: this.namespace,
      image,
      container: SUBMITTER_CONTAINER,
      podTemplate: template(templateLabels(submitter, 'airflow'), {
        user: SPARK_UID,
        group: SPARK_UID,
        serviceAccountName: this.serviceAccount.serviceAccount,
        mountServiceAccountToken: true,
        containers: [
          {
            name: SUBMITTER_CONTAINER,
            image,
            command: ['/opt/spark/bin/spark-submit'],
            env: { ...s3, SPARK_CONF_DIR: EnvValue.fromValue(SPARK_CONF_DIR) },
            resources: { requests: { cpu: podSize.submitter.requestCpu, memory: podSize.submitter.memory }, limits: { cpu: podSize.submitter.cpu, memory: podSize.submitter.memory } },
            writablePaths: [{ path: '/tmp', sizeLimit: '1Gi' }],
            mounts: [{ volume: 'spark-conf', path: SPARK_CONF_DIR }, ...trust.mounts],
          },
        ],
        volumes: [{ name: 'spark-conf', configMap: { name: confMap } }, ...trust.volumes],
      }),
    };

    new PlatformResourceQuota(this, 'Quota', { name: 'spark-jobs', labels: { [LabelKeys.NAME]: 'spark', [LabelKeys.COMPONENT]: 'quota' }, quota: props.quota });
    // Spark 4.1 on Kubernetes (requests seen against a recording API server): the submitter
    // creates the driver pod, server-side applies its ConfigMaps and headless Service (create and
    // patch) and watches the driver; the driver reads and edits its own pod, creates, watches and
    // lists its executors and their ConfigMap, and on stop deletes executors, ConfigMaps and
    // Services by label (deletecollection). It also lists PVCs, and tolerates being refused: no
    // dynamic volumes are configured, so no PVC rights. No Secrets.
    grant(this, 'Driver', {
      name: 'spark',
      subject: this.serviceAccount,
      labels: { [LabelKeys.NAME]: 'spark', [LabelKeys.COMPONENT]: 'rbac' },
      rules: [
        { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete', 'deletecollection'] },
        { apiGroups: [''], resources: ['configmaps', 'services'], verbs: ['get', 'create', 'patch', 'delete', 'deletecollection'] },
      ],
    });

    // Drivers talk to the API server and S3; the driver and its executors to each other;
    // executors to S3. Submitters get theirs once a component submits (allowSubmitter).
    this.s3 = props.eventLogs.endpoint;
    this.apiServer = apiServer;
    allowEgressToAddresses(this.drivers, 'kube-apiserver', apiServer.cidrs, apiServer.port);
    for (const pods of [this.drivers, this.executors]) allowFlow(pods, this.s3);
    allowPodFlow(this.executors, this.drivers, SparkPorts.DRIVER);
    allowPodFlow(this.executors, this.drivers, SparkPorts.BLOCK_MANAGER);
    allowPodFlow(this.drivers, this.executors, SparkPorts.BLOCK_MANAGER);
    allowPodFlow(this.executors, this.executors, SparkPorts.BLOCK_MANAGER);
  }

  /**
   * Lets `subject` (Airflow's task pods) start submitter pods here, follow their logs and delete
   * them when done: what a Kubernetes pod operator does, and no more. The submitter pods it
   * starts talk to the API server (to start the driver) and S3 (to upload the job's files).
   */
  public allowSubmitter(subject: RbacSubject, name: string): void {
    if (!this.submitterFlows) {
      allowEgressToAddresses(this.submitters, 'kube-apiserver', this.apiServer.cidrs, this.apiServer.port);
      allowFlow(this.submitters, this.s3);
      this.submitterFlows = true;
    }
    grant(this, `Submitter-${name}`, {
      name: `${name}-spark-submitter`,
      subject,
      labels: { [LabelKeys.NAME]: `${name}-spark-submitter`, [LabelKeys.COMPONENT]: 'rbac' },
      rules: [
        { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'] },
        { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
        { apiGroups: [''], resources: ['events'], verbs: ['list'] },
      ],
    });
  }
}
