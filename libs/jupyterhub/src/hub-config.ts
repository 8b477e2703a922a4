// jupyterhub_config.py, generated: every setting is a literal traitlets assignment, so the file
// reads as data and the check (tools/jupyterhub-check) can load it with the real JupyterHub,
// KubeSpawner and OAuthenticator. Secrets are read from the environment at start, never written.
import { PythonExpression, pythonLiteral, PythonValue } from '@ml-platform/core';

/** One `c.<Class>.<trait> = <value>` line, with the reason it is there. */
export interface HubSetting {
  readonly section: string;
  readonly trait: string;
  readonly value: PythonValue;
  /** Why, where the value is not self-explanatory. */
  readonly why?: string;
}

/** The file's key in the hub's ConfigMap, and the name JupyterHub is started with. */
export const HUB_CONFIG_FILE = 'jupyterhub_config.py';

/** The file text: a header, the imports the expressions need, then the settings in order. */
export function renderHubConfig(settings: readonly HubSetting[], header: string): string {
  const seen = new Set<string>();
  const lines = [`# ${header}`, 'import os', '', 'c = get_config()  # noqa: F821 (JupyterHub provides it)', ''];
  for (const s of settings) {
    const key = `${s.section}.${s.trait}`;
    if (seen.has(key)) throw new Error(`jupyterhub_config.py sets c.${key} twice; set each trait once`);
    seen.add(key);
    if (s.why) lines.push(...s.why.split('\n').map((l) => `# ${l}`));
    lines.push(`c.${key} = ${pythonLiteral(s.value)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** A setting whose value is an environment variable the hub pod receives from a Secret. */
export function fromEnv(section: string, trait: string, variable: string, why?: string): HubSetting {
  return { section, trait, value: PythonExpression.env(variable), why };
}
