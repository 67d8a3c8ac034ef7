// A small rule set that catches real defects, type-aware (typescript-eslint reads tsconfig.json):
// promises nobody awaits or handles, promises where a boolean or a void callback is expected,
// awaiting what is not a promise, names declared and never used, and type-only imports that
// would otherwise load a module at run time; a control character in a regular expression
// that is not an escape the author meant. Formatting is prettier's (npm run format:check).
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['dist/**', 'build/**', 'build-*/**', 'prebuilds/**', 'api-docs/**', 'coverage/**', '.cache/**', 'node_modules/**'] },
  {
    files: ['**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      'no-control-regex': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { prefer: 'type-imports', fixStyle: 'inline-type-imports', disallowTypeAnnotations: false },
      ],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
    },
  },
  // The tests match terminal escapes (ESC) on purpose: what a control character means is their subject.
  { files: ['test/**/*.ts'], rules: { 'no-control-regex': 'off' } },
);
