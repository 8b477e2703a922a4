// npm run scan:secrets: fails when a credential or private key is in the repository: gitleaks
// over the whole Git history and over the working tree (tracked and new files), plus any
// Kubernetes Secret manifest, anywhere, whose values are not SOPS-encrypted.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { findWorkspaceRoot, SOPS_ENCRYPTED_VALUE } from '@ml-platform/core';
import { toolPaths } from './validate/tools';

/** Tracked and new (not ignored) files of the working tree. */
function workingTreeFiles(root: string): string[] {
  return execFileSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: root, encoding: 'utf8' }).split('\0').filter((f) => f && existsSync(join(root, f)));
}

/** Secret manifests with values that are not encrypted, as "file: Secret ns/name". */
export function plaintextSecrets(root: string, files: string[]): string[] {
  const found: string[] = [];
  for (const file of files.filter((f) => /\.ya?ml$/.test(f))) {
    let docs;
    try {
      docs = parseAllDocuments(readFileSync(join(root, file), 'utf8'));
    } catch {
      continue;
    }
    for (const doc of docs) {
      const obj = doc.toJS?.();
      if (obj?.kind !== 'Secret') continue;
      const values = [...Object.values(obj.data ?? {}), ...Object.values(obj.stringData ?? {})];
      if (values.some((v) => typeof v !== 'string' || !SOPS_ENCRYPTED_VALUE.test(v))) found.push(`${file}: Secret ${obj.metadata?.namespace ?? '-'}/${obj.metadata?.name ?? '-'} has values that are not SOPS-encrypted`);
    }
  }
  return found;
}

/** gitleaks findings in history and working tree, as "where: rule". */
export function gitleaksFindings(root: string, bin: string, files: string[]): string[] {
  const findings: string[] = [];
  const run = (args: string[], cwd: string, label: string) => {
    const report = join(tmpdir(), `gitleaks-${process.pid}-${label}.json`);
    const r = spawnSync(join(bin, 'gitleaks'), [...args, '--no-banner', '--redact', '--exit-code', '3', '--report-format', 'json', '--report-path', report], { cwd, encoding: 'utf8' });
    if (r.status !== 0 && r.status !== 3) throw new Error(`gitleaks failed (${r.status}): ${(r.stderr || r.stdout).trim().split('\n').pop()}`);
    if (r.status === 3) {
      for (const f of JSON.parse(readFileSync(report, 'utf8'))) findings.push(`${label}: ${f.File}:${f.StartLine}${f.Commit ? ` (commit ${String(f.Commit).slice(0, 8)})` : ''}: ${f.RuleID}`);
    }
    rmSync(report, { force: true });
  };
  run(['git', '--log-opts=--all', '.'], root, 'history');
  // The working tree, without node_modules and build output: copy just the repository's files.
  const copy = mkdtempSync(join(tmpdir(), 'ml-platform-scan-'));
  try {
    for (const f of files) {
      mkdirSync(dirname(join(copy, f)), { recursive: true });
      copyFileSync(join(root, f), join(copy, f));
    }
    run(['dir', '.'], copy, 'working tree');
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
  return findings;
}

if (require.main === module) {
  try {
    const root = findWorkspaceRoot(process.cwd());
    const files = workingTreeFiles(root);
    const problems = [...plaintextSecrets(root, files), ...gitleaksFindings(root, toolPaths(root).bin, files)];
    for (const p of problems) console.log(p);
    console.log(`scan:secrets: ${files.length} files and the Git history scanned; ${problems.length} finding(s)`);
    process.exitCode = problems.length ? 1 : 0;
  } catch (err) {
    console.error(`scan:secrets: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 2;
  }
}
