import { createHash } from 'node:crypto';

/** Annotation that records the content revision a Job name carries. */
export const REVISION_ANNOTATION = 'ml-platform.io/revision';

/** The first 10 hex digits of the SHA-256 of `parts`: a short, stable content revision. */
export function contentRevision(...parts: string[]): string {
  const hash = createHash('sha256');
  for (const p of parts) hash.update(p).update('\0');
  return hash.digest('hex').slice(0, 10);
}
