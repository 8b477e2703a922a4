// What the integration tests that run rendered TLS sidecars share: programs started with their
// output in files of the test's folder, waiting on them with their logs in the failure, and a
// sidecar's rendered nginx.conf run by Debian's nginx with its certificate where the rendered
// Secret volume puts it.
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** nginx's stream module in Debian's package; built in to the sidecar image. */
export const STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';
/** Where the rendered sidecar reads its certificate and writes its pid file (libs/core/src/tls-sidecar.ts). */
const CERTIFICATE_DIR = '/etc/platform/tls-sidecar-certificate';
const PID_FILE = '/run/tls-sidecar/nginx.pid';

/** Throws, saying what to install, when Debian's nginx with its stream module is missing. */
export function requireStreamModule(): void {
  if (!existsSync(STREAM_MODULE)) throw new Error(`${STREAM_MODULE} not found; run 'bash tools/install-integration.sh' (Debian's nginx-light and libnginx-mod-stream)`);
}

/** The programs of one test, each logging to `<dir>/<name>.log`. */
export class TestPrograms {
  private readonly running: ChildProcess[] = [];
  private readonly sidecars = new Map<string, ChildProcess>();

  /** @param logged the logs a timed-out `until` shows */
  constructor(
    private readonly dir: string,
    private readonly logged: readonly string[],
  ) {}

  /**
   * Starts a program with its output in a file of the test's: nginx opens /dev/stdout for its
   * access log, which a socket (Node's pipes) cannot be reopened as, and a container's pipe can.
   */
  start(name: string, command: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
    const log = openSync(join(this.dir, `${name}.log`), 'w');
    const child = spawn(command, args, { cwd: this.dir, env: { ...process.env, ...env }, stdio: ['ignore', log, log] });
    closeSync(log);
    this.running.push(child);
    return child;
  }

  logOf(name: string): string {
    const file = join(this.dir, `${name}.log`);
    return existsSync(file) ? readFileSync(file, 'utf8') : '';
  }

  /** `probe`'s first value other than undefined; on time-out, an error with the tails of the logs. */
  async until<T>(what: string, probe: () => Promise<T | undefined>, seconds = 60): Promise<T> {
    const deadline = Date.now() + seconds * 1000;
    for (;;) {
      const value = await probe().catch(() => undefined);
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${this.logged.map((n) => `--- ${n}\n${this.logOf(n).slice(-3000)}`).join('\n')}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  stopAll(): void {
    for (const child of this.running) child.kill();
  }

  /**
   * A sidecar's rendered nginx.conf, moved into the test: the stream module loaded, the pid file
   * and the certificate in `<dir>/<name>-certificate`, and each `[from, to]` replaced (ports,
   * upstream addresses; each must be in the rendered text). Checked by `nginx -t`; written to
   * `<dir>/<name>.conf` for `startSidecar`.
   */
  writeSidecarConfig(name: string, rendered: string, replacements: readonly [string, string][]): void {
    let conf = `load_module ${STREAM_MODULE};\n${rendered}`;
    for (const [from, to] of [[PID_FILE, join(this.dir, `${name}.pid`)], [CERTIFICATE_DIR, join(this.dir, `${name}-certificate`)], ...replacements]) {
      if (!conf.includes(from)) throw new Error(`the rendered ${name} sidecar config has no '${from}'`);
      conf = conf.replaceAll(from, to);
    }
    const file = join(this.dir, `${name}.conf`);
    writeFileSync(file, conf);
    const test = spawnSync('nginx', ['-t', '-e', 'stderr', '-c', file], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
    if (test.status !== 0) throw new Error(`nginx refuses the rendered ${name} sidecar config: ${test.stderr}`);
  }

  /**
   * nginx on `<dir>/<name>.conf`, logging to `<name>-sidecar.log`; resolves once its worker runs.
   * A sidecar of that name already running is stopped first: a new nginx, so no TLS session of
   * the old one can be resumed (a resumed session shows no certificate).
   */
  async startSidecar(name: string): Promise<void> {
    const old = this.sidecars.get(name);
    if (old && old.exitCode === null) {
      const exited = new Promise((r) => old.once('exit', r));
      old.kill();
      await exited;
    }
    const log = `${name}-sidecar`;
    this.sidecars.set(name, this.start(log, 'nginx', ['-e', 'stderr', '-c', join(this.dir, `${name}.conf`)]));
    await this.until(`the ${name} sidecar to listen`, async () => (this.logOf(log).includes('start worker process') ? true : undefined));
  }

  /** Puts certificate `<cert>.crt`/`.key` of the test's folder where sidecar `name` reads it, as its Secret volume would. */
  installCertificate(cert: string, name: string): void {
    const into = join(this.dir, `${name}-certificate`);
    mkdirSync(into, { recursive: true });
    // Readable by nginx's workers, which drop root when the test runs as root (test-only keys).
    for (const [from, to] of [[`${cert}.crt`, 'tls.crt'], [`${cert}.key`, 'tls.key']]) {
      copyFileSync(join(this.dir, from), join(into, to));
      chmodSync(join(into, to), 0o644);
    }
  }
}
