// Secrets in environment variables: only the reviewed ones (environment-secrets.yaml), each with
// its reason. Anything else is mounted as a file, where crash dumps, /proc and child processes
// do not see it.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { containersOf, describeObject, Failure, Json, ManifestDoc, podSpecOf } from './model';

/** Variable name (or `*` glob) to the reason it may carry a secret. */
export type EnvironmentSecrets = ReadonlyMap<string, string>;

export function loadEnvironmentSecrets(file: string): EnvironmentSecrets {
  const result = z.record(z.string().regex(/^[*A-Z0-9_]+$/), z.string().min(8)).safeParse(parse(readFileSync(file, 'utf8')));
  if (!result.success) {
    throw new Error(`${file}: ${result.error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`).join('; ')}`);
  }
  return new Map(Object.entries(result.data));
}

const matcher = (entry: string) => new RegExp(`^${entry.replace(/\*/g, '[A-Z0-9_]*')}$`);

/** The entry that allows `variable`: its exact name first, then a glob. */
function allowing(allowed: EnvironmentSecrets, variable: string): string | undefined {
  if (allowed.has(variable)) return variable;
  return [...allowed.keys()].find((entry) => entry.includes('*') && matcher(entry).test(variable));
}

/** Fails every container variable that reads a Secret and is not listed; reports the entries it used. */
export function checkEnvironmentSecrets(docs: ManifestDoc[], allowed: EnvironmentSecrets, used: Set<string>): Failure[] {
  const failures: Failure[] = [];
  for (const doc of docs) {
    const pod = podSpecOf(doc.obj);
    if (!pod) continue;
    for (const [at, c] of containersOf(pod.spec, pod.path)) {
      (c.env ?? []).forEach((e: Json, i: number) => {
        const ref = e.valueFrom?.secretKeyRef;
        if (!ref) return;
        const entry = allowing(allowed, e.name);
        if (entry) {
          used.add(entry);
          return;
        }
        failures.push({
          layer: 'policy',
          rule: 'secrets/environment',
          cluster: doc.cluster,
          file: doc.file,
          object: describeObject(doc.obj),
          field: `${at}.env[${i}]`,
          message: `container '${c.name}' gets Secret '${ref.name}' key '${ref.key}' in environment variable ${e.name}`,
          hint: "mount it as a file (secretFiles) and point the program at it (a *_FILE variable or a path in its config); if the program reads no file, add the variable with its reason to tools/validate/environment-secrets.yaml",
        });
      });
    }
  }
  return failures;
}
