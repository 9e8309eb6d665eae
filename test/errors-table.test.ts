import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE } from '../packages/core/src/errors/catalogue.js';
import { END, errorsTable, README, START, withErrorsTable } from '../scripts/errors-table.js';

describe('the README errors table', () => {
  it('is the one generated from the catalogue (run `pnpm docs:errors` when this fails)', () => {
    const readme = readFileSync(README, 'utf8');
    expect(withErrorsTable(readme) === readme, 'README.md is out of date: run `pnpm docs:errors`').toBe(true);
  });

  it('has a row per code with its class and fault', () => {
    const table = errorsTable();
    expect(table.split('\n')).toHaveLength(2 + Object.keys(ERROR_CATALOGUE).length);
    expect(table).toContain('| `InternalError` | `INTERNAL` | `shoal` | no |');
    expect(table).toContain("| `RetriesExhaustedError` | `RETRIES_EXHAUSTED` | its last error's | no |");
  });

  it('replaces only what lies between the markers, and refuses a README without them', () => {
    const stale = `# title\n\n${START}\n| old | table |\n${END}\n\n## Next\n`;
    const fresh = withErrorsTable(stale);
    expect(fresh).not.toContain('| old | table |');
    expect(fresh.startsWith(`# title\n\n${START}\n| class | code | fault |`)).toBe(true);
    expect(fresh.endsWith(`\n${END}\n\n## Next\n`)).toBe(true);
    expect(withErrorsTable(fresh)).toBe(fresh);
    expect(() => withErrorsTable('# no markers')).toThrow(/no errors table markers/);
  });
});
