// Policy checks over rendered objects: Pod Security Standards (at the namespace's level), the
// platform's hardening rules, image pinning, plaintext Secrets, default deny, disruption budgets
// and least-privilege RBAC. TypeScript rules, not Rego: they run in-process in milliseconds,
// share the manifest model with the reference checks and report exact field paths.
import { PodSecurityLevel, POD_SECURITY_EXCEPTIONS, rootAllowedIn } from '@ml-platform/core';
import { containersOf, describeObject, Failure, Json, ManifestDoc, podSpecOf, selects } from './model';

type Emit = (rule: string, field: string, message: string, hint: string) => void;

const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range', 'net.ipv4.tcp_syncookies', 'net.ipv4.ping_group_range',
  'net.ipv4.ip_unprivileged_port_start', 'net.ipv4.ip_local_reserved_ports', 'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout', 'net.ipv4.tcp_keepalive_intvl', 'net.ipv4.tcp_keepalive_probes', 'net.ipv4.tcp_rmem',
  'net.ipv4.tcp_wmem', 'net.ipv4.tcp_slow_start_after_idle', 'net.ipv4.tcp_notsent_lowat',
]);
const BASELINE_CAPABILITIES = new Set([
  'AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT',
]);
const RESTRICTED_VOLUMES = new Set(['configMap', 'downwardAPI', 'emptyDir', 'projected', 'secret', 'csi', 'persistentVolumeClaim', 'ephemeral', 'image']);
const SOPS_VALUE = /^ENC\[AES256_GCM,data:.*,type:[a-z]+\]$/;
const WORKLOADS_WITH_REPLICAS = new Set(['Deployment', 'StatefulSet', 'ReplicaSet']);
const RUN_TO_COMPLETION = new Set(['Job', 'CronJob', 'Pod']);

/** The Pod Security level a namespace enforces, from its rendered labels. */
function levelOf(namespace: string | undefined, namespaces: Map<string, Json>): PodSecurityLevel {
  const label = namespace ? namespaces.get(namespace)?.metadata?.labels?.['pod-security.kubernetes.io/enforce'] : undefined;
  return (label as PodSecurityLevel) ?? PodSecurityLevel.RESTRICTED;
}

function checkPod(doc: ManifestDoc, level: PodSecurityLevel, emit: Emit): void {
  const pod = podSpecOf(doc.obj);
  if (!pod) return;
  const { spec, path } = pod;
  const restricted = level === PodSecurityLevel.RESTRICTED;
  const baseline = restricted || level === PodSecurityLevel.BASELINE;
  const psc = spec.securityContext ?? {};
  const containers = containersOf(spec, path, ['initContainers', 'containers', 'ephemeralContainers']);

  if (baseline) {
    for (const key of ['hostNetwork', 'hostPID', 'hostIPC']) {
      if (spec[key]) emit('pod-security/host-namespaces', `${path}.${key}`, `${key} is true`, `remove ${key}, or add a Pod Security exception for the namespace with its reason`);
    }
    (spec.volumes ?? []).forEach((v: Json, i: number) => {
      if (v.hostPath) emit('pod-security/host-path', `${path}.volumes[${i}].hostPath`, `volume '${v.name}' mounts a host path`, 'use a PVC, emptyDir, ConfigMap or Secret');
    });
    for (const s of psc.sysctls ?? []) {
      if (!SAFE_SYSCTLS.has(s.name)) emit('pod-security/sysctls', `${path}.securityContext.sysctls`, `unsafe sysctl '${s.name}'`, 'use only the sysctls Pod Security baseline allows');
    }
  }
  if (restricted) {
    (spec.volumes ?? []).forEach((v: Json, i: number) => {
      const type = Object.keys(v).find((k) => k !== 'name');
      if (type && !RESTRICTED_VOLUMES.has(type)) emit('pod-security/volume-types', `${path}.volumes[${i}]`, `volume type '${type}' is not allowed by restricted`, 'use configMap, secret, emptyDir, projected, persistentVolumeClaim, csi or ephemeral');
    });
  }
  const podSeccomp = psc.seccompProfile?.type;
  for (const [at, c] of containers) {
    const sc = c.securityContext ?? {};
    if (baseline) {
      if (sc.privileged) emit('pod-security/privileged', `${at}.securityContext.privileged`, `container '${c.name}' is privileged`, 'remove privileged: true; privileged containers own the node');
      for (const cap of sc.capabilities?.add ?? []) {
        if (!BASELINE_CAPABILITIES.has(cap) || (restricted && cap !== 'NET_BIND_SERVICE')) {
          emit('pod-security/capabilities', `${at}.securityContext.capabilities.add`, `container '${c.name}' adds capability ${cap}`, restricted ? 'restricted allows adding only NET_BIND_SERVICE' : 'add only capabilities of the baseline default set');
        }
      }
      (c.ports ?? []).forEach((p: Json, i: number) => {
        if (p.hostPort) emit('pod-security/host-ports', `${at}.ports[${i}].hostPort`, `container '${c.name}' binds host port ${p.hostPort}`, 'expose the port through a Service instead');
      });
      if (sc.procMount && sc.procMount !== 'Default') emit('pod-security/proc-mount', `${at}.securityContext.procMount`, `procMount '${sc.procMount}'`, 'remove procMount');
      const t = sc.seccompProfile?.type;
      if (t && t !== 'RuntimeDefault' && t !== 'Localhost') emit('pod-security/seccomp', `${at}.securityContext.seccompProfile.type`, `seccomp profile '${t}'`, 'use RuntimeDefault');
    }
    if (restricted) {
      if (sc.allowPrivilegeEscalation !== false) emit('pod-security/privilege-escalation', `${at}.securityContext.allowPrivilegeEscalation`, `container '${c.name}' does not set allowPrivilegeEscalation: false`, 'set allowPrivilegeEscalation: false');
      if (!(sc.capabilities?.drop ?? []).includes('ALL')) emit('pod-security/capabilities', `${at}.securityContext.capabilities.drop`, `container '${c.name}' does not drop ALL capabilities`, 'set capabilities.drop: [ALL]');
      if (sc.runAsNonRoot !== true && psc.runAsNonRoot !== true) emit('pod-security/run-as-non-root', `${at}.securityContext.runAsNonRoot`, `container '${c.name}' may run as root`, 'set runAsNonRoot: true on the pod or container');
      if (sc.runAsNonRoot === false) emit('pod-security/run-as-non-root', `${at}.securityContext.runAsNonRoot`, `container '${c.name}' sets runAsNonRoot: false`, 'set runAsNonRoot: true');
      if (sc.runAsUser === 0) emit('pod-security/run-as-user', `${at}.securityContext.runAsUser`, `container '${c.name}' runs as UID 0`, 'run as a non-zero UID');
      const type = sc.seccompProfile?.type ?? podSeccomp;
      if (type !== 'RuntimeDefault' && type !== 'Localhost') emit('pod-security/seccomp', `${at}.securityContext.seccompProfile`, `container '${c.name}' has no RuntimeDefault or Localhost seccomp profile`, 'set seccompProfile.type: RuntimeDefault on the pod');
    }
    // The platform's own rules, beyond Pod Security.
    if (sc.readOnlyRootFilesystem !== true) emit('hardening/read-only-root', `${at}.securityContext.readOnlyRootFilesystem`, `container '${c.name}' has a writable root filesystem`, 'set readOnlyRootFilesystem: true and mount emptyDirs where the image writes');
    // Explicit IDs; 0 only where the namespace's exception says its pods run as root.
    const explicit = (id: unknown) => typeof id === 'number' && (id !== 0 || rootAllowedIn(doc.obj.metadata?.namespace ?? ''));
    if (!explicit(sc.runAsUser ?? psc.runAsUser) || !explicit(sc.runAsGroup ?? psc.runAsGroup)) emit('hardening/explicit-ids', `${at}.securityContext.runAsUser`, `container '${c.name}' has no explicit non-zero UID and GID`, 'set runAsUser and runAsGroup: images that default to root then fail under runAsNonRoot');
    for (const kind of ['requests', 'limits']) {
      for (const res of ['cpu', 'memory']) {
        if (c.resources?.[kind]?.[res] === undefined) emit('hardening/resources', `${at}.resources.${kind}.${res}`, `container '${c.name}' has no ${res} ${kind.slice(0, -1)}`, `set resources.${kind}.${res}`);
      }
    }
    if (!RUN_TO_COMPLETION.has(doc.obj.kind) && !at.includes('initContainers')) {
      for (const probe of ['livenessProbe', 'readinessProbe']) {
        if (!c[probe]) emit('hardening/probes', `${at}.${probe}`, `container '${c.name}' has no ${probe}`, `add a ${probe} that reflects the process's health`);
      }
    }
    const image: string = c.image ?? '';
    const [, tag] = /^[^@]*?(?::([^:/@]+))?(?:@sha256:[a-f0-9]{64})?$/.exec(image) ?? [];
    if (!image.includes('@sha256:') && (!tag || tag === 'latest')) {
      emit('images/pinned', `${at}.image`, `image '${image}' is not pinned to a version`, 'use a released tag (never latest) and, where known, a digest, from the image catalog');
    } else if (tag === 'latest') {
      emit('images/pinned', `${at}.image`, `image '${image}' uses the latest tag`, 'pin a released tag');
    }
    if (c.imagePullPolicy === 'Always') emit('images/pull-policy', `${at}.imagePullPolicy`, `container '${c.name}' pulls on every start`, 'use IfNotPresent with pinned images; Always makes restarts depend on the registry');
  }
  if (spec.automountServiceAccountToken !== false && !spec.serviceAccountName) {
    emit('hardening/service-account-token', `${path}.automountServiceAccountToken`, 'the default ServiceAccount token is mounted', 'set automountServiceAccountToken: false, or use a dedicated ServiceAccount with a least-privilege Role');
  }
}

function checkSecret(doc: ManifestDoc, emit: Emit): void {
  const { obj } = doc;
  if (obj.kind !== 'Secret') return;
  const values = [...Object.entries(obj.data ?? {}).map(([k, v]) => ['data', k, v]), ...Object.entries(obj.stringData ?? {}).map(([k, v]) => ['stringData', k, v])];
  if (values.length === 0) return;
  if (!obj.sops) {
    emit('secrets/plaintext', 'data', 'Secret holds values without SOPS encryption', 'never commit a plaintext Secret: encrypt it with sops (age recipients of the cluster) or reference it by name');
    return;
  }
  for (const [field, key, value] of values) {
    if (typeof value !== 'string' || !SOPS_VALUE.test(value)) {
      emit('secrets/plaintext', `${field}.${key}`, `value of '${key}' is not SOPS-encrypted`, 're-encrypt the file with sops; only data and stringData values are encrypted');
    }
  }
}

/**
 * Objects whose access is power over the cluster: Secrets, admission webhooks (which see and change
 * every object they match) and RBAC itself. A rule on them names the objects it needs.
 */
const SENSITIVE_RESOURCES: Readonly<Record<string, readonly string[]>> = {
  '': ['secrets'],
  'admissionregistration.k8s.io': ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations'],
  'rbac.authorization.k8s.io': ['roles', 'rolebindings', 'clusterroles', 'clusterrolebindings'],
};

function checkRbac(doc: ManifestDoc, emit: Emit): void {
  const { obj } = doc;
  if (obj.kind === 'Role' || obj.kind === 'ClusterRole') {
    (obj.rules ?? []).forEach((r: Json, i: number) => {
      for (const field of ['verbs', 'resources', 'apiGroups', 'nonResourceURLs']) {
        if ((r[field] ?? []).includes('*')) emit('rbac/wildcard', `rules[${i}].${field}`, `${obj.kind} grants '*' in ${field}`, `list the ${field} the workload needs`);
      }
      const sensitive = (r.apiGroups ?? []).flatMap((g: string) => (r.resources ?? []).filter((res: string) => SENSITIVE_RESOURCES[g]?.includes(res)));
      if (sensitive.length > 0 && !(r.resourceNames ?? []).length) {
        emit(
          'rbac/unnamed-sensitive',
          `rules[${i}].resourceNames`,
          `${obj.kind} grants ${(r.verbs ?? []).join(', ')} on every ${sensitive.join(', ')} of its scope`,
          'name the objects the workload needs (resourceNames); verbs that cannot be limited by name (create, list, watch, deletecollection) go in a rule of their own, with a reviewed exception in tools/validate/exceptions.yaml saying why',
        );
      }
    });
  }
  if ((obj.kind === 'RoleBinding' || obj.kind === 'ClusterRoleBinding') && obj.roleRef?.name === 'cluster-admin') {
    emit('rbac/cluster-admin', 'roleRef.name', `${obj.kind} binds cluster-admin`, 'bind a Role with the permissions the subject needs');
  }
}

function checkNamespace(doc: ManifestDoc, emit: Emit): void {
  const { obj } = doc;
  if (obj.kind !== 'Namespace') return;
  const labels = obj.metadata?.labels ?? {};
  const level = labels['pod-security.kubernetes.io/enforce'];
  if (!level) {
    emit('pod-security/namespace-level', 'metadata.labels', 'namespace has no pod-security.kubernetes.io/enforce label', 'label it restricted (or add a named exception)');
    return;
  }
  const exception = POD_SECURITY_EXCEPTIONS[obj.metadata.name];
  if (level !== PodSecurityLevel.RESTRICTED && exception?.level !== level) {
    emit('pod-security/namespace-level', "metadata.labels['pod-security.kubernetes.io/enforce']", `namespace enforces '${level}' without an exception`, 'add the namespace to POD_SECURITY_EXCEPTIONS (libs/core/src/pod-security.ts) with its reason, or use restricted');
  }
}

/** Runs every policy rule over `docs`, which belong to one cluster (or one ad-hoc set). */
export function checkPolicy(docs: ManifestDoc[]): Failure[] {
  const failures: Failure[] = [];
  const namespaces = new Map<string, Json>(docs.filter((d) => d.obj.kind === 'Namespace').map((d) => [d.obj.metadata?.name, d.obj]));
  const emitFor = (doc: ManifestDoc): Emit => (rule, field, message, hint) =>
    failures.push({ layer: 'policy', rule, cluster: doc.cluster, file: doc.file, object: describeObject(doc.obj), field, message, hint });

  for (const doc of docs) {
    const emit = emitFor(doc);
    checkPod(doc, levelOf(doc.obj.metadata?.namespace, namespaces), emit);
    checkSecret(doc, emit);
    checkRbac(doc, emit);
    checkNamespace(doc, emit);
  }

  // Every namespace that runs pods denies all traffic by default.
  const workloadNamespaces = new Map<string, ManifestDoc>();
  for (const d of docs) if (podSpecOf(d.obj) && d.obj.metadata?.namespace) workloadNamespaces.set(d.obj.metadata.namespace, d);
  for (const [ns, example] of workloadNamespaces) {
    const denies = docs.some((d) => {
      const s = d.obj.spec;
      return d.obj.kind === 'NetworkPolicy' && d.obj.metadata?.namespace === ns && s?.podSelector && Object.keys(s.podSelector).length === 0
        && (s.policyTypes ?? []).includes('Ingress') && (s.policyTypes ?? []).includes('Egress') && !s.ingress?.length && !s.egress?.length;
    });
    if (!denies) emitFor(example)('network/default-deny', 'metadata.namespace', `namespace '${ns}' runs pods without a default-deny NetworkPolicy`, 'render the namespace through PlatformChart, which adds default-deny for ingress and egress');
  }

  // Replicated workloads keep a PodDisruptionBudget, so node drains never take them all down.
  for (const d of docs.filter((x) => WORKLOADS_WITH_REPLICAS.has(x.obj.kind) && (x.obj.spec?.replicas ?? 1) > 1)) {
    const labels = podSpecOf(d.obj)?.labels;
    const covered = docs.some((p) => p.obj.kind === 'PodDisruptionBudget' && p.obj.metadata?.namespace === d.obj.metadata?.namespace && selects(p.obj.spec?.selector, labels));
    if (!covered) emitFor(d)('availability/pdb', 'spec.replicas', `${d.obj.spec.replicas} replicas without a PodDisruptionBudget`, 'add a PodDisruptionBudget selecting these pods (maxUnavailable: 1)');
  }
  return failures;
}
