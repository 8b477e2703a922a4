import { Failure } from './model';

/** One line per failure: cluster, file, object, field, rule, message and a hint. */
export function formatFailure(f: Failure): string {
  return `${f.cluster ?? '-'}: ${f.file}: ${f.object}: ${f.field}: [${f.rule}] ${f.message} (hint: ${f.hint})`;
}

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A checked object, for the JUnit report: every object is a test case per layer. */
export interface CheckedObject {
  readonly cluster?: string;
  readonly file: string;
  readonly object: string;
}

/** JUnit XML: a suite per cluster and layer, a case per object, failures attached. */
export function junitReport(objects: CheckedObject[], layers: string[], failures: Failure[]): string {
  const suites: string[] = [];
  const clusters = [...new Set(objects.map((o) => o.cluster ?? '-'))].sort();
  for (const cluster of clusters) {
    for (const layer of layers) {
      const cases = objects.filter((o) => (o.cluster ?? '-') === cluster).map((o) => {
        const own = failures.filter((f) => f.layer === layer && (f.cluster ?? '-') === cluster && f.file === o.file && f.object === o.object);
        const body = own.map((f) => `      <failure type="${xml(f.rule)}" message="${xml(`${f.field}: ${f.message}`)}">${xml(formatFailure(f))}</failure>`).join('\n');
        return { xml: `    <testcase classname="${xml(`${cluster}.${layer}`)}" name="${xml(`${o.file} ${o.object}`)}"${body ? `>\n${body}\n    </testcase>` : ' />'}`, failed: own.length > 0 };
      });
      // Failures not tied to one object (tool errors, stale exceptions) get a case of their own.
      const loose = failures.filter((f) => f.layer === layer && (f.cluster ?? '-') === cluster && !objects.some((o) => o.file === f.file && o.object === f.object));
      for (const f of loose) cases.push({ xml: `    <testcase classname="${xml(`${cluster}.${layer}`)}" name="${xml(`${f.file} ${f.object}`)}">\n      <failure type="${xml(f.rule)}" message="${xml(f.message)}">${xml(formatFailure(f))}</failure>\n    </testcase>`, failed: true });
      suites.push(`  <testsuite name="${xml(`${cluster} ${layer}`)}" tests="${cases.length}" failures="${cases.filter((c) => c.failed).length}">\n${cases.map((c) => c.xml).join('\n')}\n  </testsuite>`);
    }
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="manifest validation">\n${suites.join('\n')}\n</testsuites>\n`;
}
