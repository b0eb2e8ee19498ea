import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Folders of src/host with a front door (index.ts). */
const SUBSYSTEMS = [
  'access',
  'api',
  'approvals',
  'channels',
  'containers',
  'delivery',
  'gateway',
  'metrics',
  'scheduling',
  'sessions',
];

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', 'dist/', 'container/agent-runner/dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.name='execSync']", message: 'Never block the event loop.' },
      ],
    },
  },
  // Front doors (docs/architecture.md): another subsystem is reached only through its index.ts.
  {
    files: ['src/host/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: `^(\\./|(\\.\\./)+)(${SUBSYSTEMS.join('|')})/(?!index\\.ts$)`,
              message: "Import another subsystem through its index.ts, e.g. '../sessions/index.ts'.",
            },
          ],
        },
      ],
    },
  },
  // Floors: the runner and src/shared never import the host or the central database; src/db never the host.
  {
    files: ['container/agent-runner/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '/src/(host|db)/',
              message: 'The runner shares code with the host only through src/shared/.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/shared/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^\\.\\./(host|db)/',
              message: 'src/shared/ imports neither the host nor the database layer.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/db/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^\\.\\./host/', message: 'The database layer does not import the host.' }] },
      ],
    },
  },
  {
    // Functions of a readable size: a longer one is split by meaning (tests and scripts may run long).
    files: ['src/**/*.ts', 'container/agent-runner/src/**/*.ts'],
    rules: {
      'max-lines-per-function': [
        'error',
        { max: 100, skipBlankLines: true, skipComments: true, IIFEs: true },
      ],
    },
  },
);
