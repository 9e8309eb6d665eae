import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Three projects; `pnpm test` runs them all (CI), `pnpm test:unit` and `pnpm test:soak` one each.
 * - unit: every test under packages/* that opens no socket and starts no process (test/setup/no-io.ts makes either
 *   throw there). The packages are read from their sources, so no build is needed.
 * - integration: the tests that start servers on 127.0.0.1 or child processes, the example plugin's, and the
 *   end-to-end tests in test/ (against the built packages).
 * - types: the type tests, `*.test-d.ts`.
 * - soak: the 20,000-call soaks (about two minutes).
 */
const integration = [
  'packages/core/test/*.e2e.test.ts',
  'packages/ai-sdk/test/*.e2e.test.ts',
  'packages/core/test/amount-forms.test.ts',
  'packages/core/test/budget-burst.test.ts',
  'packages/core/test/callback-forgery.test.ts',
  'packages/core/test/executor.test.ts',
  'packages/core/test/http-client.test.ts',
  'packages/core/test/journal.test.ts',
  'packages/core/test/left-jobs.test.ts',
  'packages/core/test/openai-compatible.test.ts',
  'packages/core/test/packed-calls.test.ts',
  'packages/core/test/rate-limited-polls.test.ts',
  'packages/core/test/shortapi.callback.test.ts',
  'packages/core/test/shortapi.emulator.test.ts',
  'packages/core/test/shutdown-no-store.test.ts',
  'packages/core/test/step-retry.test.ts',
  'packages/core/test/telemetry.polls.test.ts',
  'packages/store-sqlite/test/**/*.test.ts',
  'packages/bullmq/test/**/*.test.ts',
  'packages/cli/test/**/*.test.ts',
  'examples/**/*.test.ts',
  'test/**/*.test.ts',
];
const soak = ['test/soak.test.ts'];

/** `@shoal/<name>[/<subpath>]` → the package's source, from its package.json `exports` (dist/x.js is built from src/x.ts). */
function sourceAliases() {
  const aliases: { find: RegExp; replacement: string }[] = [];
  for (const dir of ['core', 'agents', 'store-sqlite', 'ai-sdk']) {
    const root = fileURLToPath(new URL(`./packages/${dir}/`, import.meta.url));
    const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { name: string; exports: Record<string, string | { default?: string }> };
    for (const [subpath, target] of Object.entries(pkg.exports)) {
      const built = typeof target === 'string' ? target : target.default;
      const match = built?.match(/^\.\/dist\/(.+)\.js$/);
      if (!match) continue;
      const specifier = `${pkg.name}${subpath.slice(1)}`.replace(/[/.]/g, (c) => `\\${c}`);
      aliases.push({ find: new RegExp(`^${specifier}$`), replacement: `${root}src/${match[1]}.ts` });
    }
  }
  return aliases;
}

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 30_000,
    // Tests start real servers on 127.0.0.1; two cores, so keep parallelism modest.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        resolve: { alias: sourceAliases() },
        test: {
          name: 'unit',
          include: ['packages/*/test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...integration],
          setupFiles: ['test/setup/no-io.ts'],
        },
      },
      // The type tests (`*.test-d.ts`, run by tsc: about 20 s here, so not in `unit`; `pnpm typecheck` checks them too).
      { extends: true, test: { name: 'types', include: [], typecheck: { enabled: true, only: true, include: ['packages/*/test/**/*.test-d.ts'] } } },
      { extends: true, test: { name: 'integration', include: integration, exclude: [...configDefaults.exclude, ...soak] } },
      { extends: true, test: { name: 'soak', include: soak } },
    ],
  },
});
