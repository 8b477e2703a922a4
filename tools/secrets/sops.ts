// The sops binary (built by tools/install-tools.sh): encryption from standard input, so no
// plaintext ever touches the disk, and decryption that verifies the MAC.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';

export const ENCRYPTED_KEYS = '^(data|stringData)$';

/**
 * Encrypts a Secret manifest as if it were the file `path` (relative to `root`), so the
 * creation rule of .sops.yaml for that path picks the recipients; returns the encrypted YAML.
 */
export function encryptSecret(bin: string, root: string, path: string, manifest: object): string {
  // Node hands a child its stdin as a socket, which sops cannot open as /dev/stdin; `cat`
  // turns it into a pipe. The plaintext never touches the disk.
  const r = spawnSync(
    'sh',
    ['-c', 'cat | "$0" --encrypt --filename-override "$1" --input-type yaml --output-type yaml /dev/stdin', join(bin, 'sops'), path],
    { input: stringify(manifest), encoding: 'utf8', cwd: root },
  );
  if (r.status !== 0) throw new Error(`sops could not encrypt: ${r.stderr.trim().split('\n').pop()}`);
  return r.stdout;
}

/** Decrypts a file with the key in SOPS_AGE_KEY_FILE or SOPS_AGE_KEY; verifies its MAC. */
export function decryptFile(bin: string, file: string): { ok: true; text: string } | { ok: false; error: string } {
  const r = spawnSync(join(bin, 'sops'), ['--decrypt', file], { encoding: 'utf8' });
  return r.status === 0 ? { ok: true, text: r.stdout } : { ok: false, error: r.stderr.trim().split('\n').filter(Boolean)[0] ?? `exit ${r.status}` };
}

/** The public age keys of the private keys sops would use (SOPS_AGE_KEY_FILE, SOPS_AGE_KEY). */
export function heldRecipients(bin: string): string[] {
  const keys = [process.env.SOPS_AGE_KEY ?? '', process.env.SOPS_AGE_KEY_FILE && existsSync(process.env.SOPS_AGE_KEY_FILE) ? readFileSync(process.env.SOPS_AGE_KEY_FILE, 'utf8') : '']
    .join('\n')
    .split('\n')
    .filter((l) => l.startsWith('AGE-SECRET-KEY-'));
  if (keys.length === 0) return [];
  const r = spawnSync(join(bin, 'age-keygen'), ['-y'], { input: `${keys.join('\n')}\n`, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n').filter(Boolean) : [];
}


