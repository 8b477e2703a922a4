// Reference checks: every Secret, ConfigMap, Service (and port), PVC, ServiceAccount and
// StorageClass an object names exists in the same cluster's manifests or is declared in the
// cluster config as provided from outside; every NetworkPolicy peer selects something.
import { containersOf, describeObject, Failure, Json, ManifestDoc, podSpecOf, selects } from './model';

/** What the cluster provides outside the rendered manifests. */
export interface ExternalObjects {
  readonly secrets: readonly string[];
  readonly configMaps: readonly string[];
  readonly storageClasses: readonly string[];
  /** Namespaces that exist outside the render, with the labels of pods we may talk to. */
  readonly namespaces: readonly { readonly name: string; readonly podLabels: readonly Record<string, string>[] }[];
  /**
   * ServiceAccounts (`<namespace>/<name>`) another render puts in the cluster: a review
   * environment binds its base cluster's review deployer.
   */
  readonly serviceAccounts?: readonly string[];
}

export const NO_EXTERNALS: ExternalObjects = { secrets: [], configMaps: [], storageClasses: [], namespaces: [] };

/** Objects every namespace has without anyone rendering them. */
const IMPLICIT = new Set(['ServiceAccount/default', 'ConfigMap/kube-root-ca.crt']);

export function checkReferences(docs: ManifestDoc[], external: ExternalObjects): Failure[] {
  const failures: Failure[] = [];
  const index = new Set(docs.map((d) => `${d.obj.kind}/${d.obj.metadata?.namespace ?? ''}/${d.obj.metadata?.name}`));
  // cert-manager writes each rendered Certificate's key pair into the Secret it names.
  for (const d of docs.filter((x) => x.obj.kind === 'Certificate' && String(x.obj.apiVersion).startsWith('cert-manager.io/') && x.obj.spec?.secretName)) {
    index.add(`Secret/${d.obj.metadata?.namespace ?? ''}/${d.obj.spec.secretName}`);
  }
  // A StatefulSet makes one PersistentVolumeClaim per template and replica: <template>-<name>-<ordinal>.
  for (const d of docs.filter((x) => x.obj.kind === 'StatefulSet')) {
    for (const t of d.obj.spec?.volumeClaimTemplates ?? []) {
      for (let i = 0; i < (d.obj.spec?.replicas ?? 1); i++) index.add(`PersistentVolumeClaim/${d.obj.metadata?.namespace ?? ''}/${t.metadata?.name}-${d.obj.metadata?.name}-${i}`);
    }
  }
  const exists = (kind: string, ns: string, name: string) => {
    if (IMPLICIT.has(`${kind}/${name}`)) return true;
    if (index.has(`${kind}/${ns}/${name}`)) return true;
    if (kind === 'Secret') return external.secrets.includes(name);
    if (kind === 'ConfigMap') return external.configMaps.includes(name);
    if (kind === 'ServiceAccount') return (external.serviceAccounts ?? []).includes(`${ns}/${name}`);
    if (kind === 'StorageClass') return index.has(`StorageClass//${name}`) || external.storageClasses.includes(name);
    return false;
  };
  const pods = docs.flatMap((d) => {
    const pod = podSpecOf(d.obj);
    return pod ? [{ doc: d, ns: d.obj.metadata?.namespace as string, ...pod }] : [];
  });
  const namespaceLabels = new Map<string, Record<string, string>>();
  for (const d of docs.filter((x) => x.obj.kind === 'Namespace')) {
    namespaceLabels.set(d.obj.metadata.name, { 'kubernetes.io/metadata.name': d.obj.metadata.name, ...(d.obj.metadata.labels ?? {}) });
  }
  for (const n of external.namespaces) namespaceLabels.set(n.name, { 'kubernetes.io/metadata.name': n.name });

  for (const doc of docs) {
    const { obj } = doc;
    const ns: string = obj.metadata?.namespace ?? '';
    const fail = (rule: string, field: string, message: string, hint: string) =>
      failures.push({ layer: 'references', rule, cluster: doc.cluster, file: doc.file, object: describeObject(obj), field, message, hint });
    const need = (kind: string, name: string | undefined, field: string, optional = false) => {
      if (!name || optional || exists(kind, ns, name)) return;
      const declare = kind === 'Secret' ? 'external.secrets' : kind === 'ConfigMap' ? 'external.configMaps' : kind === 'StorageClass' ? 'storageClasses' : undefined;
      fail(`references/${kind.toLowerCase()}`, field, `${kind} '${name}' does not exist in namespace '${ns || '(cluster)'}'`,
        declare ? `render it, or declare it in the cluster's cluster.yaml under ${declare}` : `render the ${kind} or fix the name`);
    };

    const pod = podSpecOf(obj);
    if (pod) {
      const { spec, path } = pod;
      need('ServiceAccount', spec.serviceAccountName, `${path}.serviceAccountName`);
      (spec.imagePullSecrets ?? []).forEach((s: Json, i: number) => need('Secret', s.name, `${path}.imagePullSecrets[${i}]`));
      (spec.volumes ?? []).forEach((v: Json, i: number) => {
        const at = `${path}.volumes[${i}]`;
        if (v.secret) need('Secret', v.secret.secretName, `${at}.secret.secretName`, v.secret.optional);
        if (v.configMap) need('ConfigMap', v.configMap.name, `${at}.configMap.name`, v.configMap.optional);
        if (v.persistentVolumeClaim) need('PersistentVolumeClaim', v.persistentVolumeClaim.claimName, `${at}.persistentVolumeClaim.claimName`);
        (v.projected?.sources ?? []).forEach((s: Json, j: number) => {
          if (s.secret) need('Secret', s.secret.name, `${at}.projected.sources[${j}].secret.name`, s.secret.optional);
          if (s.configMap) need('ConfigMap', s.configMap.name, `${at}.projected.sources[${j}].configMap.name`, s.configMap.optional);
        });
      });
      const containers = containersOf(spec, path);
      const volumeNames = new Set([...(spec.volumes ?? []).map((v: Json) => v.name), ...(obj.spec?.volumeClaimTemplates ?? []).map((t: Json) => t.metadata?.name)]);
      for (const [at, c] of containers) {
        (c.env ?? []).forEach((e: Json, i: number) => {
          const s = e.valueFrom?.secretKeyRef;
          if (s) need('Secret', s.name, `${at}.env[${i}].valueFrom.secretKeyRef.name`, s.optional);
          const m = e.valueFrom?.configMapKeyRef;
          if (m) need('ConfigMap', m.name, `${at}.env[${i}].valueFrom.configMapKeyRef.name`, m.optional);
        });
        (c.envFrom ?? []).forEach((e: Json, i: number) => {
          if (e.secretRef) need('Secret', e.secretRef.name, `${at}.envFrom[${i}].secretRef.name`, e.secretRef.optional);
          if (e.configMapRef) need('ConfigMap', e.configMapRef.name, `${at}.envFrom[${i}].configMapRef.name`, e.configMapRef.optional);
        });
        (c.volumeMounts ?? []).forEach((m: Json, i: number) => {
          if (!volumeNames.has(m.name)) fail('references/volume', `${at}.volumeMounts[${i}].name`, `mount of undeclared volume '${m.name}'`, 'declare the volume on the pod or the volumeClaimTemplates');
        });
      }
      (obj.spec?.volumeClaimTemplates ?? []).forEach((t: Json, i: number) =>
        need('StorageClass', t.spec?.storageClassName, `spec.volumeClaimTemplates[${i}].spec.storageClassName`));
      if (obj.kind === 'StatefulSet' && obj.spec?.serviceName) {
        const governing = docs.find((d) => d.obj.kind === 'Service' && d.obj.metadata?.namespace === ns && d.obj.metadata?.name === obj.spec.serviceName);
        if (!governing) fail('references/service', 'spec.serviceName', `governing Service '${obj.spec.serviceName}' does not exist`, 'render a headless Service with that name');
        else if (governing.obj.spec?.clusterIP !== 'None') fail('references/service', 'spec.serviceName', `governing Service '${obj.spec.serviceName}' is not headless`, 'set clusterIP: None on it');
      }
    }

    if (obj.kind === 'PersistentVolumeClaim') need('StorageClass', obj.spec?.storageClassName, 'spec.storageClassName');

    if (obj.kind === 'Service' && obj.spec?.selector && obj.spec.type !== 'ExternalName') {
      const backing = pods.filter((p) => p.ns === ns && p.doc.obj.kind !== 'Job' && p.doc.obj.kind !== 'CronJob' && selects({ matchLabels: obj.spec.selector }, p.labels));
      if (backing.length === 0) {
        fail('references/service-selector', 'spec.selector', 'selects no pods in its namespace', 'make the selector match the workload\'s app.kubernetes.io/name and instance labels');
      }
      (obj.spec.ports ?? []).forEach((p: Json, i: number) => {
        if (backing.length === 0) return;
        const target = p.targetPort ?? p.port;
        const exposed = backing.some((b) =>
          (b.spec.containers ?? []).some((c: Json) => (c.ports ?? []).some((cp: Json) => (typeof target === 'number' ? cp.containerPort === target : cp.name === target))),
        );
        if (!exposed) fail('references/service-port', `spec.ports[${i}].targetPort`, `target port ${JSON.stringify(target)} is exposed by no selected pod`, 'point targetPort at a containerPort (number or name) of the selected pods');
      });
    }

    if (obj.kind === 'NetworkPolicy') {
      const rules: [string, Json[]][] = [
        ...(obj.spec?.ingress ?? []).map((r: Json, i: number) => [`spec.ingress[${i}].from`, r.from ?? []] as [string, Json[]]),
        ...(obj.spec?.egress ?? []).map((r: Json, i: number) => [`spec.egress[${i}].to`, r.to ?? []] as [string, Json[]]),
      ];
      for (const [at, peers] of rules) {
        peers.forEach((peer: Json, j: number) => {
          if (peer.ipBlock) return;
          const namespaces = peer.namespaceSelector
            ? [...namespaceLabels.entries()].filter(([, labels]) => selects(peer.namespaceSelector, labels)).map(([n]) => n)
            : [ns];
          if (namespaces.length === 0) {
            fail('references/network-peer', `${at}[${j}].namespaceSelector`, 'selects no namespace', 'select a namespace the cluster has (kubernetes.io/metadata.name)');
            return;
          }
          if (!peer.podSelector) return;
          const found = namespaces.some(
            (n) =>
              pods.some((p) => p.ns === n && selects(peer.podSelector, p.labels)) ||
              external.namespaces.some((e) => e.name === n && e.podLabels.some((l) => selects(peer.podSelector, l))),
          );
          if (!found) fail('references/network-peer', `${at}[${j}].podSelector`, `selects no pods in namespace(s) ${namespaces.join(', ')}`, 'match the labels of an existing workload');
        });
      }
    }

    if (obj.kind === 'RoleBinding' && obj.roleRef?.kind === 'Role') need('Role', obj.roleRef.name, 'roleRef.name');
    for (const [i, s] of (obj.kind === 'RoleBinding' || obj.kind === 'ClusterRoleBinding' ? obj.subjects ?? [] : []).entries()) {
      if (s.kind === 'ServiceAccount' && !exists('ServiceAccount', s.namespace ?? ns, s.name)) {
        fail('references/serviceaccount', `subjects[${i}]`, `ServiceAccount '${s.namespace ?? ns}/${s.name}' does not exist`, 'render the ServiceAccount or fix the subject');
      }
    }
  }
  return failures;
}
