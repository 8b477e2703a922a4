import nx from '@nx/eslint-plugin';

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  { ignores: ['**/dist/**', 'dist-manifests/**', 'node_modules/**', '.nx/**', '.tools/**'] },
  {
    files: ['**/*.ts'],
    rules: {
      // Apps compose components; components use only core; core stands alone. A component that
      // imported another would hide wiring that belongs in the platform composition.
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: true,
          allow: [],
          depConstraints: [
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:platform', 'type:component', 'type:core', 'type:config'] },
            { sourceTag: 'type:tools', onlyDependOnLibsWithTags: ['type:platform', 'type:component', 'type:core'] },
            { sourceTag: 'type:platform', onlyDependOnLibsWithTags: ['type:component', 'type:core'] },
            { sourceTag: 'type:component', onlyDependOnLibsWithTags: ['type:core'] },
            { sourceTag: 'type:core', onlyDependOnLibsWithTags: [] },
            { sourceTag: 'type:config', onlyDependOnLibsWithTags: [] },
          ],
        },
      ],
    },
  },
];
