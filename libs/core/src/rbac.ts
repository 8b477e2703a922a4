import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { PlatformChart } from './platform-chart';

const RBAC = 'rbac.authorization.k8s.io';

/** A ServiceAccount that permissions are granted to. */
export interface RbacSubject {
  readonly serviceAccount: string;
  readonly namespace: string;
}

/** Properties for `grant`. */
export interface GrantProps {
  /** Name of the Role (or ClusterRole) and of its binding. */
  readonly name: string;
  readonly subject: RbacSubject;
  /** Exactly the permissions needed; the validation rejects wildcards. */
  readonly rules: k8s.PolicyRule[];
  readonly labels: Readonly<Record<string, string>>;
  /**
   * A ClusterRole and ClusterRoleBinding instead of a Role and RoleBinding in the chart's namespace.
   *
   * @default false
   */
  readonly clusterWide?: boolean;
}

function subjects(subject: RbacSubject) {
  return [{ kind: 'ServiceAccount', name: subject.serviceAccount, namespace: subject.namespace }];
}

/** Creates a least-privilege Role (or ClusterRole) and binds it to one ServiceAccount. */
export function grant(scope: Construct, id: string, props: GrantProps): void {
  const roleRef = { apiGroup: RBAC, kind: props.clusterWide ? 'ClusterRole' : 'Role', name: props.name };
  if (props.clusterWide) {
    new k8s.KubeClusterRole(scope, id, { metadata: { name: props.name, labels: { ...props.labels } }, rules: props.rules });
    new k8s.KubeClusterRoleBinding(scope, `${id}Binding`, { metadata: { name: props.name, labels: { ...props.labels } }, roleRef, subjects: subjects(props.subject) });
  } else {
    const metadata = { name: props.name, namespace: PlatformChart.of(scope).namespace, labels: { ...props.labels } };
    new k8s.KubeRole(scope, id, { metadata, rules: props.rules });
    new k8s.KubeRoleBinding(scope, `${id}Binding`, { metadata, roleRef, subjects: subjects(props.subject) });
  }
}

/** Binds a ClusterRole the cluster already has (`view`, `system:auth-delegator`) to one ServiceAccount. */
export function bindClusterRole(scope: Construct, id: string, props: { readonly name: string; readonly clusterRole: string; readonly subject: RbacSubject; readonly labels: Readonly<Record<string, string>> }): void {
  new k8s.KubeClusterRoleBinding(scope, id, {
    metadata: { name: props.name, labels: { ...props.labels } },
    roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: props.clusterRole },
    subjects: subjects(props.subject),
  });
}
