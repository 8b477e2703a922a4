// Reads `tofu show -json <plan>` on stdin and prints GitLab's Terraform report (create, update,
// delete counts) for the merge request widget. Usage: tofu show -json plan.cache | node dist/tools/plan-summary.js
import { readFileSync } from 'node:fs';
import { planSummary } from '@ml-platform/bootstrap';

try {
  console.log(JSON.stringify(planSummary(JSON.parse(readFileSync(0, 'utf8')))));
} catch (err) {
  console.error(`plan-summary: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
