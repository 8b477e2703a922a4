import { z } from 'zod';

/** A Kubernetes resource quantity such as `500m`, `2`, `512Mi` or `20Gi`. */
export const quantity = z
  .string()
  .regex(/^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/, { error: 'expected a Kubernetes quantity such as 500m, 2, 512Mi or 20Gi' })
  .describe('A Kubernetes quantity such as 500m, 2, 512Mi or 20Gi.');

/** A DNS label (names of namespaces, services, storage classes). */
export const dnsLabel = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, { error: 'expected a DNS label: lower-case letters, digits and -' })
  .max(63);

/** A DNS subdomain (hosts, StorageClass names). */
export const dnsSubdomain = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, {
    error: 'expected a DNS name: lower-case labels separated by dots',
  })
  .max(253);

/** Requests and limits of one container. */
export const resources = z
  .strictObject({
    requests: z.strictObject({ cpu: quantity, memory: quantity }),
    limits: z.strictObject({ cpu: quantity, memory: quantity }),
  })
  .describe('CPU and memory requests and limits of the main container.');

/** A persistent volume's size and class. */
export const storage = z
  .strictObject({
    size: quantity.describe('Size of each volume, e.g. 20Gi.'),
    storageClass: dnsSubdomain.optional().describe("StorageClass of the volumes; defaults to the cluster's storageClasses.default."),
  })
  .describe('Persistent storage.');

/** A replica count. */
export const replicas = z.int().min(1).max(32).describe('Number of pods.');

/** Pods between `min` and `max`: a HorizontalPodAutoscaler scales on CPU when max is above min. */
export const podScaling = z
  .strictObject({ min: replicas.default(1), max: replicas.default(1) })
  .prefault({})
  .superRefine((r, ctx) => {
    if (r.min > r.max) ctx.addIssue({ code: 'custom', path: ['min'], message: `expected at most replicas.max (${r.max}), found ${r.min}` });
  })
  .describe('Pods: a HorizontalPodAutoscaler scales between min and max on CPU when max is above min; 2 or more get a PodDisruptionBudget.');

/** An image a team builds, named in cluster.yaml: a released tag, a digest where known. */
export const imageReference = z.strictObject({
  registry: z.string().min(1),
  repository: z.string().min(1),
  tag: z
    .string()
    .min(1)
    .refine((t) => t !== 'latest', { error: "expected a released tag, not 'latest'" }),
  digest: z
    .string()
    .regex(/^sha256:[0-9a-f]{64}$/)
    .optional(),
});

/** An IPv4 or IPv6 CIDR. */
export const cidr = z.string().regex(/^([0-9]{1,3}\.){3}[0-9]{1,3}\/[0-9]{1,2}$|^[0-9a-f:]+\/[0-9]{1,3}$/, { error: 'expected a CIDR such as 10.0.0.10/32' });

const QUANTITY_SUFFIX: Record<string, number> = { '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };

/** The number a Kubernetes quantity stands for: `500m` is 0.5, `4Gi` is 4294967296. */
export function quantityValue(q: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(q);
  if (!m) throw new Error(`'${q}' is not a Kubernetes quantity such as 500m, 2, 512Mi or 20Gi`);
  return Number(m[1]) * QUANTITY_SUFFIX[m[2] ?? ''];
}
