// Images by digest: in a cluster that requires them (tier prod by default, imageDigests in its
// cluster.yaml), a tag alone fails, because the registry can move a tag under the cluster and the
// nodes would then run a build nobody reviewed.
import { containersOf, describeObject, Failure, ManifestDoc, podSpecOf } from './model';

const BY_DIGEST = /@sha256:[a-f0-9]{64}$/;

/** Fails every container, init container included, whose image carries no digest. */
export function checkImageDigests(docs: ManifestDoc[], cluster: string): Failure[] {
  const failures: Failure[] = [];
  for (const doc of docs) {
    const pod = podSpecOf(doc.obj);
    if (!pod) continue;
    for (const [at, c] of containersOf(pod.spec, pod.path)) {
      if (typeof c.image === 'string' && BY_DIGEST.test(c.image)) continue;
      failures.push({
        layer: 'policy',
        rule: 'images/digest',
        cluster: doc.cluster,
        file: doc.file,
        object: describeObject(doc.obj),
        field: `${at}.image`,
        message: `container '${c.name}' runs '${c.image}' without a digest; cluster '${cluster}' requires digests`,
        hint: `run 'npm run images -- pin ${cluster}' against the registry mirror and 'npm run synth', or say in clusters/${cluster}/cluster.yaml why imageDigests.required is false`,
      });
    }
  }
  return failures;
}
