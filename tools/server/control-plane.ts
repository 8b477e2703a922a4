// A throwaway Kubernetes control plane on loopback: etcd (Debian's etcd-server) and the
// kube-apiserver built from source (tools/install-integration.sh), with generated keys and a
// random admin token. Nothing listens beyond 127.0.0.1; stop() ends both processes and removes
// every file, and so does an interrupt.
import { ChildProcess, spawn } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubernetesMinor } from '../validate/model';

/** Where the binaries are. */
/** A kube-apiserver that tools/install-integration.sh builds, for one Kubernetes minor. */
export interface ApiServerBuild {
  readonly kubernetesVersion: string;
  readonly binary: string;
}

/**
 * The API servers the dry-run runs on, oldest minor first: one per module folder under
 * tools/kube-apiserver/ (the oldest and the newest supported minor).
 */
export function apiServerBuilds(root: string): ApiServerBuild[] {
  return readdirSync(join(root, 'tools', 'kube-apiserver'))
    .filter((v) => /^1\.\d+$/.test(v))
    .sort((a, b) => kubernetesMinor(a) - kubernetesMinor(b))
    .map((kubernetesVersion) => ({ kubernetesVersion, binary: join(root, '.tools', 'bin', `kube-apiserver-${kubernetesVersion}`) }));
}

export interface ControlPlaneBinaries {
  readonly kubeApiserver: string;
  readonly etcd: string;
}

/** An HTTP response from the API server. */
export interface ApiResponse {
  readonly status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly body: any;
  /** Messages of `Warning` headers (Pod Security warnings among them). */
  readonly warnings: string[];
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Parses `299 - "message"` warning headers. */
export function parseWarnings(header: string | string[] | undefined): string[] {
  const text = Array.isArray(header) ? header.join(', ') : header ?? '';
  const out: string[] = [];
  const re = /\d{3} \S+ "((?:[^"\\]|\\.)*)"/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push(m[1].replace(/\\(.)/g, '$1'));
  return out;
}

const running = new Set<ControlPlane>();
let handlersInstalled = false;
function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', () => running.forEach((cp) => cp.killNow()));
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      running.forEach((cp) => cp.killNow());
      process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
    });
  }
}

export class ControlPlane {
  /** Starts etcd and kube-apiserver and waits until the API server is ready. */
  public static async start(binaries: ControlPlaneBinaries, timeoutMs = 90_000): Promise<ControlPlane> {
    for (const [name, path] of Object.entries(binaries)) {
      if (!existsSync(path)) throw new Error(`${name} not found at ${path}; run 'bash tools/install-integration.sh'`);
    }
    installExitHandlers();
    const dir = mkdtempSync(join(tmpdir(), 'ml-platform-apiserver-'));
    const [etcdClient, etcdPeer, securePort] = [await freePort(), await freePort(), await freePort()];
    const token = randomBytes(24).toString('hex');
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
    writeFileSync(join(dir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    writeFileSync(join(dir, 'tokens.csv'), `${token},ci-admin,ci-admin,"system:masters"\n`, { mode: 0o600 });
    mkdirSync(join(dir, 'certs'));
    const cp = new ControlPlane(dir, securePort, token);
    running.add(cp);
    try {
      cp.launch('etcd', binaries.etcd, [
        '--name=ci', `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=http://127.0.0.1:${etcdClient}`, `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
        `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`, `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-cluster=ci=http://127.0.0.1:${etcdPeer}`, '--log-level=warn',
      ]);
      cp.launch('kube-apiserver', binaries.kubeApiserver, [
        `--etcd-servers=http://127.0.0.1:${etcdClient}`,
        '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1', `--secure-port=${securePort}`, `--cert-dir=${join(dir, 'certs')}`,
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${join(dir, 'sa.pub')}`, `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
        '--service-cluster-ip-range=10.0.0.0/24', '--authorization-mode=RBAC', `--token-auth-file=${join(dir, 'tokens.csv')}`,
        '--anonymous-auth=false', '--allow-privileged=true', '--profiling=false',
        // No controller-manager creates default ServiceAccounts; Pod Security stays on (default).
        '--disable-admission-plugins=ServiceAccount',
      ]);
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        for (const [name, child] of cp.children) {
          if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}:\n${cp.logTail(name)}`);
        }
        try {
          const r = await cp.request('GET', '/readyz');
          if (r.status === 200) break;
        } catch {
          // not listening yet
        }
        if (Date.now() > deadline) throw new Error(`kube-apiserver not ready after ${timeoutMs / 1000} s:\n${cp.logTail('kube-apiserver')}`);
        await sleep(250);
      }
      return cp;
    } catch (err) {
      await cp.stop();
      throw err;
    }
  }

  private readonly children = new Map<string, ChildProcess>();

  private constructor(
    private readonly dir: string,
    /** The API server's port on 127.0.0.1. */
    public readonly port: number,
    private readonly token: string,
  ) {}

  private launch(name: string, binary: string, args: string[]): void {
    const log = openSync(join(this.dir, `${name}.log`), 'a');
    // Own process group, so stop() can end the process and anything it started.
    const child = spawn(binary, args, { detached: true, stdio: ['ignore', log, log] });
    closeSync(log);
    this.children.set(name, child);
  }

  /** Process ids of etcd and kube-apiserver. */
  public get pids(): number[] {
    return [...this.children.values()].map((c) => c.pid).filter((p): p is number => p !== undefined);
  }

  /** The last lines a process logged, for error messages. */
  public logTail(name: string, lines = 15): string {
    try {
      return readFileSync(join(this.dir, `${name}.log`), 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /**
   * A kubeconfig file for kubectl: the admin, or the holder of `token`, acting as user `as` when
   * given (as the GitLab agent impersonates the identity its configuration names).
   */
  public kubeconfig(as?: string, token = this.token): string {
    const file = join(this.dir, `kubeconfig-${createHash('sha256').update(`${as ?? ''}\n${token}`).digest('hex').slice(0, 12)}`);
    const config = {
      apiVersion: 'v1',
      kind: 'Config',
      // The server's certificate is self-signed for this run only; traffic never leaves loopback.
      clusters: [{ name: 'test', cluster: { server: `https://127.0.0.1:${this.port}`, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'test', user: { token, ...(as ? { as } : {}) } }],
      contexts: [{ name: 'test', context: { cluster: 'test', user: 'test' } }],
      'current-context': 'test',
    };
    writeFileSync(file, JSON.stringify(config), { mode: 0o600 });
    return file;
  }

  /** Sends a request as the admin user, or as user `as` (impersonated, as the GitLab agent does). */
  public request(method: string, path: string, body?: unknown, contentType = 'application/json', as?: string): Promise<ApiResponse> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        {
          host: '127.0.0.1', port: this.port, path, method,
          // The server's certificate is self-signed for this run only; traffic never leaves loopback.
          rejectUnauthorized: false,
          headers: {
            Authorization: `Bearer ${this.token}`,
            Accept: 'application/json',
            ...(as ? { 'Impersonate-User': as } : {}),
            ...(payload ? { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(payload) } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = JSON.parse(text);
            } catch {
              // plain-text bodies, e.g. /readyz
            }
            resolve({ status: res.statusCode ?? 0, body: parsed, warnings: parseWarnings(res.headers.warning) });
          });
        },
      );
      req.on('error', reject);
      req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path} timed out`)));
      if (payload) req.write(payload);
      req.end();
    });
  }

  /** Kills both process groups at once (for exit handlers). */
  public killNow(): void {
    for (const child of this.children.values()) {
      if (child.exitCode === null && child.pid) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
    running.delete(this);
  }

  /** Stops the API server, then etcd, and removes every file. */
  public async stop(): Promise<void> {
    for (const name of ['kube-apiserver', 'etcd']) {
      const child = this.children.get(name);
      if (!child?.pid || child.exitCode !== null) continue;
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        continue;
      }
      const deadline = Date.now() + 10_000;
      while (child.exitCode === null && child.signalCode === null && Date.now() < deadline) await sleep(50);
    }
    this.killNow();
  }
}
