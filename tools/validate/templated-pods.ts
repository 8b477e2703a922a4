// Pods other programs create from templates the render writes (Spark drivers and executors,
// Airflow's task pods, spark-submit pods): every ConfigMap key ending in POD_TEMPLATE_FILE_SUFFIX
// becomes a Pod in the namespace the template names. They join their cluster's documents, so
// schema, policy (Pod Security restricted), references and the API-server dry-run judge them like
// rendered objects. The programs fill in image, command, resources and volumes of the same kinds
// and keep the security contexts (Spark: docs/running-on-kubernetes.md, pod template; Airflow:
// the KubernetesExecutor's pod_template_file; the pod operator's pod_template_file).
import { POD_TEMPLATE_FILE_SUFFIX } from '@ml-platform/core';
import { parse } from 'yaml';
import { Json, ManifestDoc } from './model';

/** One Pod per pod template file among `docs`, named after its ConfigMap and file. */
export function templatedPods(docs: ManifestDoc[]): ManifestDoc[] {
  return docs
    .filter((d) => d.obj.kind === 'ConfigMap')
    .flatMap((d) =>
      Object.entries((d.obj.data ?? {}) as Record<string, unknown>)
        .filter(([key, value]) => key.endsWith(POD_TEMPLATE_FILE_SUFFIX) && typeof value === 'string')
        .map(([key, value]) => {
          const template = parse(value as string) as Json;
          const name = `${d.obj.metadata.name}-${key.slice(0, -POD_TEMPLATE_FILE_SUFFIX.length).replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'pod'}`;
          const obj = { ...template, metadata: { ...template.metadata, name, namespace: template.metadata?.namespace ?? d.obj.metadata.namespace } };
          return { file: `${d.file} (pod from ${key})`, absPath: d.absPath, index: -1, cluster: d.cluster, obj };
        }),
    );
}
