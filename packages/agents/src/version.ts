import { createRequire } from 'node:module';

/** This package's version, read from its package.json (the one place it is written): `../package.json` from `src/` and from `dist/` alike. */
export const AGENTS_PACKAGE_VERSION: string = (createRequire(import.meta.url)('../package.json') as { readonly version: string }).version;
