/**
 * GitLab's Terraform report (`artifacts:reports:terraform`): the counts of resources a plan
 * creates, updates and deletes, which the merge request widget shows. Read from
 * `tofu show -json <plan>`; a replacement counts as one delete and one create, as it runs.
 * Only the counts leave the job: the plan itself holds the state's values, tokens included.
 */
export interface PlanSummary {
  readonly create: number;
  readonly update: number;
  readonly delete: number;
}

/** The summary of a plan in OpenTofu's JSON plan format; throws when `plan` is not one. */
export function planSummary(plan: unknown): PlanSummary {
  const changes = (plan as { resource_changes?: unknown })?.resource_changes;
  if (typeof plan !== 'object' || plan === null || !('format_version' in plan)) throw new Error('expected the output of `tofu show -json <plan file>` (an object with format_version)');
  if (changes !== undefined && !Array.isArray(changes)) throw new Error('expected resource_changes to be a list');
  const actions = ((changes ?? []) as { change?: { actions?: string[] } }[]).flatMap((c) => c.change?.actions ?? []);
  const count = (action: string) => actions.filter((a) => a === action).length;
  return { create: count('create'), update: count('update'), delete: count('delete') };
}
