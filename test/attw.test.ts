import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/**
 * `pnpm attw` in the suite (CI runs it here, after the build `pnpm test` does): every published package's tarball,
 * checked by @arethetypeswrong/cli with the ESM-only profile. About 30 s for the six packages on two cores.
 */
describe('are the types wrong (attw, ESM-only profile)', () => {
  it('finds no problem in any published package', { timeout: 300_000 }, async () => {
    const root = fileURLToPath(new URL('..', import.meta.url));
    const outcome = await promisify(execFile)(process.execPath, ['scripts/attw.mjs'], { cwd: root, maxBuffer: 16 * 1024 * 1024 }).then(
      ({ stdout }) => ({ ok: true, stdout }),
      (error: { stdout?: string; stderr?: string; message: string }) => ({ ok: false, stdout: `${error.stdout ?? ''}${error.stderr ?? error.message}` }),
    );
    console.log(outcome.stdout.trim());
    // On a failure the message is attw's own table for each package with a problem.
    expect(outcome.ok, outcome.stdout).toBe(true);
    expect(outcome.stdout).toMatch(/^attw: no problems in \d+ packages$/m);
  });
});
