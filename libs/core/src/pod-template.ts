// Pod templates: pods another program creates from a file the render writes (Spark's driver and
// executors, KubeSpawner's notebook servers, Airflow's task pods). The validation builds a pod
// from every such file and judges it like a rendered workload, so the file names follow one rule.
import { k8s } from 'cdk8s-plus-28';
import { stringify } from 'yaml';

/** Every ConfigMap key that holds a pod template ends in this. */
export const POD_TEMPLATE_FILE_SUFFIX = 'pod-template.yaml';

/**
 * A pod template file: the pod's namespace (where the program creates it), labels and spec.
 * Programs fill in what they own (image, command, resources) and keep the rest.
 */
export function podTemplateFile(namespace: string, labels: Readonly<Record<string, string>>, spec: k8s.PodSpec): string {
  return stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { namespace, labels: { ...labels } }, spec: k8s.toJson_PodSpec(spec) }, { lineWidth: 0 });
}

/** Throws unless `file` is a name the validation recognises as a pod template. */
export function assertPodTemplateFileName(file: string): string {
  if (!file.endsWith(POD_TEMPLATE_FILE_SUFFIX)) throw new Error(`pod template file '${file}' must end in '${POD_TEMPLATE_FILE_SUFFIX}', or the validation does not judge its pods`);
  return file;
}
