import { load } from 'js-yaml';
import { expect, test } from 'vitest';
import { parse } from 'yaml';
import { manifestYaml } from './render';

// Strings that some YAML parser reads as a number, boolean, null or date when written plain.
const LOOK_ALIKES = [
  '41e0368803', '1e400', '-2E+999', '1e3', '12', '012', '0x1f', '0o17', '0b101', '1_000', '+12', '.5', '-.5', '1.5e3',
  '.inf', '-.Inf', '.NaN', '1:20', 'yes', 'No', 'on', 'OFF', 'y', 'n', 'true', 'False', '~', 'null', 'Null', '', '2026-12-01',
];

test.each(LOOK_ALIKES)('the string %j reads back as that string in YAML 1.1 and 1.2', (value) => {
  const text = manifestYaml({ metadata: { annotations: { 'ml-platform.io/revision': value } } });
  for (const read of [parse(text, { version: '1.1' }), parse(text, { version: '1.2' }), load(text)]) {
    expect((read as { metadata: { annotations: Record<string, unknown> } }).metadata.annotations['ml-platform.io/revision']).toBe(value);
  }
});

test('ordinary strings and real numbers stay plain', () => {
  expect(manifestYaml({ name: 'mlflow', replicas: 2, ratio: 0.5, revision: 'a41e03688' })).toBe('name: mlflow\nreplicas: 2\nratio: 0.5\nrevision: a41e03688\n');
});
