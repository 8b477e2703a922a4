import { containerImage } from '@ml-platform/core';

export const VAULT_IMAGE = containerImage('vault', {
  registry: 'docker.io',
  repository: 'hashicorp/vault',
  tag: '2.0.4',
  note: 'Vault server and the injected agent (vault-helm 0.34.1 default, tested by HashiCorp). Digest not pinned: not verifiable offline.',
});

export const VAULT_K8S_IMAGE = containerImage('vault-k8s', {
  registry: 'docker.io',
  repository: 'hashicorp/vault-k8s',
  tag: '1.7.6',
  note: 'Vault agent injector (mutating webhook), vault-helm 0.34.1 default. Digest not pinned: not verifiable offline.',
});
