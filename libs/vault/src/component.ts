import { defineComponent } from '@ml-platform/core';
import { VAULT_IMAGE, VAULT_K8S_IMAGE } from './images';
import { vaultConfigSchema } from './vault';

/** HashiCorp Vault and its agent injector: its cluster.yaml section and images. The platform composition wires it. */
export const vaultComponent = defineComponent({
  key: 'vault',
  configSchema: vaultConfigSchema.optional(),
  images: [VAULT_IMAGE, VAULT_K8S_IMAGE],
  webUis: ['vault'],
});
