import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/**
 * What `npm install @shoal/core zod` puts on disk, computed offline from this checkout: the
 * files `npm pack` would ship for @shoal/core (its built dist), plus every package of its
 * production closure as installed in node_modules (dependencies and required peers, followed
 * through pnpm's links to the real folders; optional peers and devDependencies left out), plus
 * zod. Two figures: the bytes of the files, and the disk they take in 4 KiB blocks (as `du`
 * counts on ext4, a block per directory too), which is what a user sees and what the limit is on.
 */
const LIMIT = 12_000_000;
const BLOCK = 4096;
const root = fileURLToPath(new URL('..', import.meta.url));
const coreDir = join(root, 'packages/core');

interface Size {
  readonly bytes: number;
  readonly disk: number;
}

const blocks = (bytes: number) => Math.ceil(bytes / BLOCK) * BLOCK;

/** A folder as installed: its files, without a nested node_modules (pnpm keeps none inside; npm would hoist it apart). */
function folderSize(dir: string): Size {
  let bytes = 0;
  let disk = BLOCK;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      const inner = folderSize(path);
      bytes += inner.bytes;
      disk += inner.disk;
    } else {
      const size = statSync(path).size;
      bytes += size;
      disk += blocks(size);
    }
  }
  return { bytes, disk };
}

/** Where Node would find `name` from `dir`: the first node_modules/name up the tree, by its real path. */
function resolvePackage(name: string, dir: string): string {
  for (let at = dir; ; at = dirname(at)) {
    const candidate = join(at, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return realpathSync(candidate);
    if (dirname(at) === at) throw new Error(`${name} is not installed where ${dir} would find it: run pnpm install`);
  }
}

interface Manifest {
  readonly name: string;
  readonly dependencies?: Record<string, string>;
  readonly optionalDependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
  readonly peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}
const manifest = (dir: string) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;

/** What npm installs for a package besides itself: its dependencies and its peers that are not optional. */
function installs(pkg: Manifest): string[] {
  const peers = Object.keys(pkg.peerDependencies ?? {}).filter((name) => !pkg.peerDependenciesMeta?.[name]?.optional);
  return [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {}), ...peers];
}

/** The real folders of every package `names` pulls in from `dir`, by name (one version of each here). */
function closure(names: readonly string[], dir: string, found = new Map<string, string>()): Map<string, string> {
  for (const name of names) {
    if (found.has(name)) continue;
    const real = resolvePackage(name, dir);
    found.set(name, real);
    closure(installs(manifest(real)), real, found);
  }
  return found;
}

interface Packed {
  readonly files: { path: string; size: number }[];
  readonly unpackedSize: number;
}
let packing: Promise<Packed> | undefined;
/** What `npm pack` would put in @shoal/core's tarball (its `files`, the README, LICENSE and package.json), once. */
function pack(): Promise<Packed> {
  packing ??= promisify(execFile)('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: coreDir }).then(
    ({ stdout }) => (JSON.parse(stdout) as [Packed])[0],
  );
  return packing;
}

/** @shoal/core as installed from its tarball. */
async function packedCore(): Promise<Size & { files: number }> {
  const packed = await pack();
  // The folders the files are in (dist, dist/executor, ...), each a block.
  const dirs = new Set<string>();
  for (const { path } of packed.files) for (let at = dirname(path); at !== '.'; at = dirname(at)) dirs.add(at);
  const disk = BLOCK * (dirs.size + 1) + packed.files.reduce((sum, f) => sum + blocks(f.size), 0);
  return { bytes: packed.unpackedSize, disk, files: packed.files.length };
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(2)} MB`;

describe('the install size of @shoal/core (issue 14: under 12 MB with zod)', () => {
  it('npm install @shoal/core zod takes under 12 MB: printed, with what takes it', async () => {
    const core = await packedCore();
    const deps = closure([...installs(manifest(coreDir)), 'zod'], coreDir);
    const rows: [string, Size][] = [['@shoal/core', core], ...[...deps].map(([name, dir]): [string, Size] => [name, folderSize(dir)])];
    rows.sort((a, b) => b[1].disk - a[1].disk);
    const total = rows.reduce((sum, [, s]) => ({ bytes: sum.bytes + s.bytes, disk: sum.disk + s.disk }), { bytes: 0, disk: 0 });
    const tokenizer = folderSize(resolvePackage('gpt-tokenizer', coreDir));
    console.log(
      [
        `npm install @shoal/core zod: ${mb(total.disk)} on disk (${mb(total.bytes)} of files), limit ${mb(LIMIT)}`,
        ...rows.map(([name, s]) => `  ${name.padEnd(16)} ${mb(s.disk).padStart(9)} on disk, ${mb(s.bytes).padStart(9)} of files`),
        `  (@shoal/core ships ${core.files} files; the optional peer gpt-tokenizer, for exact token counts, would add ${mb(tokenizer.disk)})`,
      ].join('\n'),
    );
    // The closure is what core declares and nothing else: no optional peer, no devDependency.
    expect([...deps.keys()].sort()).toEqual(['eventemitter3', 'jsonrepair', 'nanoid', 'zod']);
    expect(total.disk).toBeLessThan(LIMIT);
    expect(total.bytes).toBeLessThan(total.disk);
  });

  it('ships only the built code: no sources, no source maps, nothing stale', async () => {
    const paths = (await pack()).files.map((f) => f.path);
    expect(paths.filter((p) => !/^dist\/.+\.(js|d\.ts)$/.test(p)).sort()).toEqual(['LICENSE', 'README.md', 'package.json']);
    // Every shipped module is built from a source of today (a deleted source leaves no file behind).
    for (const path of paths.filter((p) => p.endsWith('.js'))) {
      const source = path.replace(/^dist\//, 'src/').replace(/\.js$/, '.ts');
      expect(existsSync(join(coreDir, source)), `${path} has no ${source}`).toBe(true);
    }
  });
});
