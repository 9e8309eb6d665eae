// Are the types wrong? `pnpm attw` packs every published package (packages/*, not private; build first) and runs
// @arethetypeswrong/cli on each tarball with the ESM-only profile (node16 from ESM, and bundlers: shoal ships ESM only,
// so CommonJS `require` and node10 resolution are out of scope). Prints one line per package, attw's table for any
// package with a problem, and exits 1 naming them. test/attw.test.ts runs it in the suite (CI), after the build.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { publishedPackages } from './published-packages.mjs';

const run = promisify(execFile);
/** The attw command (the cli package's bin), run with this Node. */
const cliManifest = fileURLToPath(import.meta.resolve('@arethetypeswrong/cli/package.json'));
const attw = join(dirname(cliManifest), JSON.parse(readFileSync(cliManifest, 'utf8')).bin.attw);

/** One package: its tarball as `npm pack` makes it, checked. */
async function check({ dir, pkg }) {
  if (!existsSync(join(dir, 'dist'))) return { name: pkg.name, ok: false, output: `${pkg.name} has no dist: run \`pnpm build\` first.` };
  const out = mkdtempSync(join(tmpdir(), 'shoal-attw-'));
  try {
    const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', out], { cwd: dir });
    const tarball = join(out, JSON.parse(stdout)[0].filename);
    try {
      await run(process.execPath, [attw, tarball, '--profile', 'esm-only', '--no-color', '--no-emoji', '--format', 'table-flipped']);
      return { name: pkg.name, ok: true };
    } catch (error) {
      // attw exits 1 when it finds a problem, with its table on stdout.
      return { name: pkg.name, ok: false, output: `${error.stdout ?? ''}${error.stderr ?? ''}` || String(error) };
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** Two at a time (a machine of two cores). */
async function checkAll(packages) {
  const results = [];
  const queue = [...packages];
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) results.push(await check(next));
  };
  await Promise.all([worker(), worker()]);
  return results.sort((a, b) => a.name.localeCompare(b.name));
}

const results = await checkAll(publishedPackages());
for (const { name, ok, output } of results) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name} (attw --profile esm-only)`);
  if (!ok) console.log(output);
}
const failed = results.filter((r) => !r.ok);
if (failed.length > 0) {
  console.log(`attw found problems in ${failed.map((r) => r.name).join(', ')}: see each table above and the problem's page it links to.`);
  process.exit(1);
}
console.log(`attw: no problems in ${results.length} packages`);
