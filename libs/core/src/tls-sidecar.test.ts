import { Testing } from 'cdk8s';
import { describe, expect, test } from 'vitest';
import { PlatformContext } from './context';
import { ImageCatalog } from './images';
import { Layer } from './layers';
import { PodSelection, ServiceEndpoint } from './network';
import { PlatformChart } from './platform-chart';
import { ServerCertificate } from './tls';
import { TlsSidecar, tlsStreamConfig } from './tls-sidecar';

const context = (internalCa?: string) => new PlatformContext({ cluster: 't', kubernetesVersion: '1.28', baseDomain: 'ml.t.internal', defaultStorageClass: 'standard', images: new ImageCatalog(), internalCa });
const identity = { name: 'app', instance: 'app', component: 'server', version: '1' };

describe('TlsSidecar', () => {
  test('terminates TLS for loopback ports and verifies the servers it carries loopback calls to', () => {
    const chart = new PlatformChart(Testing.app(), 'app', { context: context('internal-ca'), layer: Layer.APPS });
    const upstream = new ServiceEndpoint('api', 'api.other.svc.cluster.local', 8001, 8443, new PodSelection(chart, 'other', { ...identity, name: 'api' }));
    const certificate = new ServerCertificate(chart, 'Certificate', { secretName: 'app-tls', services: ['app'] });
    const sidecar = new TlsSidecar(chart, 'Tls', { identity, certificate, listeners: [{ name: 'https', port: 8443, to: 8080 }], upstreams: [{ port: 9001, endpoint: upstream }] });
    // Variables in the paths: nginx reads the renewed files at the next handshake.
    expect(sidecar.config).toContain('ssl_certificate $certificate_dir/tls.crt;');
    expect(sidecar.config).toMatch(/listen 127\.0\.0\.1:9001;\n\s+proxy_pass api\.other\.svc\.cluster\.local:8001;\n\s+proxy_ssl on;/);
    expect(sidecar.config).toContain('proxy_ssl_verify on;');
    expect(sidecar.container.ports).toEqual([{ name: 'https', number: 8443 }]);
    expect(sidecar.volumes.map((v) => v.name)).toEqual(['tls-sidecar-config', 'tls-sidecar-certificate', 'internal-ca']);
    const objects = Testing.synth(chart);
    expect(objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'app-tls-sidecar').data['nginx.conf']).toBe(sidecar.config);
  });

  test('refuses a sidecar with nothing to serve', () => {
    const chart = new PlatformChart(Testing.app(), 'app', { context: context('internal-ca'), layer: Layer.APPS });
    const certificate = new ServerCertificate(chart, 'Certificate', { secretName: 'app-tls', services: ['app'] });
    expect(() => new TlsSidecar(chart, 'Tls', { identity, certificate, listeners: [] })).toThrowError('app/app: a TLS sidecar needs at least one listener (its probes connect to it)');
    expect(() => tlsStreamConfig({ listeners: [], upstreams: [], certificateDir: '/c', caFile: '/ca', pidFile: '/p' })).toThrowError('tlsStreamConfig: expected at least one listener or upstream');
  });
});
