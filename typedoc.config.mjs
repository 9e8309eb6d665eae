// The API reference site: `pnpm docs:api` (typedoc, then scripts/check-api-site.mjs) writes it to docs/api-site/
// (git-ignored); CI builds it (.ci/run). One module per public entry point of the published packages, read from their
// package.json `exports` (scripts/api-entry-points.mjs), each named by the `@module` tag atop its entry file;
// `@shoal/core/internal` stays out. The README is the site's index, and docs/ are its documents.
//
// TypeScript: typedoc drives TypeScript's JavaScript API, which TypeScript 5.x/6.0 have and TypeScript 7 (the native
// port) does not. typedoc takes `typescript` as a peer, so today it runs on the workspace's own pinned 5.9.3. If the
// workspace moves to TypeScript 7, keep a 5.9 (or 6.0) `typescript` for typedoc alone (see
// docs/decisions/2026-12-05-api-site.md); typedoc warns on a TypeScript it does not support, and that warning fails
// this build (treatWarningsAsErrors).
//
// It fails on any warning: an exported symbol or member without a doc comment (notDocumented, for every published package),
// a type the API uses but no entry point exports (notExported, checked by scripts/typedoc-exports-check.mjs), a {@link}
// that does not resolve (invalidLink) or that lands on something without a page of its own (rewrittenLink), and a
// relative link in the README or docs/ to a file that is not there (invalidPath) or to an anchor in another file that is not there
// (an anchor within the same page, `[x](#y)`, is not checked by typedoc).
import { fileURLToPath } from 'node:url';
import { apiEntryPoints, packageEntries } from './scripts/api-entry-points.mjs';

const root = fileURLToPath(new URL('.', import.meta.url));
const entries = apiEntryPoints();

/** @type {Partial<import('typedoc').TypeDocOptions>} */
const config = {
  name: 'shoal',
  entryPointStrategy: 'resolve',
  entryPoints: entries.map((entry) => entry.source),
  tsconfig: 'tsconfig.typedoc.json',
  // `pnpm typecheck` type-checks these sources; typedoc need not do it again (about 15% of its time).
  skipErrorChecking: true,
  // The siblings' `@shoal/*` imports resolve to their sources, as the entry points do (not to dist/), so that a type
  // from `@shoal/core` used by `@shoal/agents` is the one documented under `@shoal/core`, and no build is needed.
  compilerOptions: { paths: Object.fromEntries(packageEntries().map((entry) => [entry.name, [`${root}${entry.source}`]])) },
  out: 'docs/api-site',
  // No public repository address yet, so no source links (and git is not asked for a remote: a clone's origin may be
  // a local path, which typedoc warns about).
  disableSources: true,
  readme: 'README.md',
  projectDocuments: ['docs/*.md', 'docs/decisions/*.md'],
  excludeInternal: true,
  plugin: ['./scripts/typedoc-exports-check.mjs'],
  treatWarningsAsErrors: true,
  treatValidationWarningsAsErrors: true,
  validation: { notExported: true, notDocumented: true, invalidLink: true, rewrittenLink: true, invalidPath: true, unusedMergeModuleWith: true },
  packagesRequiringDocumentation: [...new Set(entries.map((entry) => entry.packageName))],
  // Types the API uses but no entry point exports (scripts/typedoc-exports-check.mjs reports any other). The site
  // names them without a page. Each is a choice to make: export it (a public API change), or keep it private.
  notExportedOnPurpose: [
    // Type-level helpers of `ExtractedFields`.
    'agents/src/extract/extract.ts:IsList',
    'agents/src/extract/extract.ts:Element',
    // The parts of `RunReportData` (the report's data), not exported by @shoal/cli.
    'cli/src/report/types.ts:ReportTotals',
    'cli/src/report/types.ts:TotalMismatch',
    'cli/src/report/types.ts:RecordIssues',
    'cli/src/report/types.ts:CostRow',
    'cli/src/report/types.ts:SlowCall',
    'cli/src/report/types.ts:FailedCall',
    'cli/src/report/types.ts:ChartData',
    // `Plan` is `z.output<typeof planSchema>`; the schema itself stays private (its doc comments show on `Plan`'s uses).
    'core/src/coordinator/plan.ts:planSchema',
    // The options of the error classes' constructors (applications catch shoal's errors; they do not make them).
    'core/src/errors/shoal-error.ts:ShoalErrorOptions',
    // `ShortApiProvider.schedule` and `.callbackStats`: the adaptive poll schedule and the callback receiver's counters.
    'core/src/providers/shortapi/poll-schedule.ts:PollSchedule',
    'core/src/providers/shortapi/callback-receiver.ts:CallbackReceiverStats',
    // The JSON Schema shape `findSchema` (`@shoal/core/testing`) returns.
    'core/src/testing/simulator.ts:Schema',
  ],
};

export default config;
