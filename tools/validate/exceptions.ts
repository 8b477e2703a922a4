import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { Failure } from './model';

const exceptionSchema = z.strictObject({
  rule: z.string().regex(/^[a-z-]+\/[a-z-]+$/, { error: 'expected a rule id such as policy-layer/rule-name' }),
  cluster: z.string().optional(),
  namespace: z.string().optional(),
  kind: z.string().optional(),
  name: z.string().optional(),
  reason: z.string().min(20, { error: 'expected a reason a reviewer can check (20 characters or more)' }),
});
const fileSchema = z.strictObject({ exceptions: z.array(exceptionSchema) });

export type PolicyException = z.output<typeof exceptionSchema>;

/** Loads the reviewed exceptions; a malformed file is an error naming the entry. */
export function loadExceptions(file: string): PolicyException[] {
  const result = fileSchema.safeParse(parse(readFileSync(file, 'utf8')));
  if (!result.success) {
    throw new Error(`${file}: ${result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return result.data.exceptions;
}

function matches(e: PolicyException, f: Failure): boolean {
  const [kind, ref = ''] = f.object.split(' ');
  const [namespace, name] = ref.includes('/') ? ref.split('/') : ['', ref];
  return e.rule === f.rule && (!e.cluster || e.cluster === f.cluster) && (!e.namespace || e.namespace === namespace) && (!e.kind || e.kind === kind) && (!e.name || e.name === name);
}

/** Splits failures into those that stand and those an exception covers; reports unused exceptions. */
export function applyExceptions(failures: Failure[], exceptions: PolicyException[]): { failures: Failure[]; excepted: number; unused: PolicyException[] } {
  const used = new Set<PolicyException>();
  const standing = failures.filter((f) => {
    const e = exceptions.find((x) => matches(x, f));
    if (e) used.add(e);
    return !e;
  });
  return { failures: standing, excepted: failures.length - standing.length, unused: exceptions.filter((e) => !used.has(e)) };
}
