import { access } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Agent, ShoalConfigError } from '@shoal/core';

/**
 * The agent a module exports by default (`export default defineAgent({...})`), TypeScript
 * (loaded through tsx) or JavaScript. A module without one is refused with what it does
 * export, so a named export is easy to fix.
 */
export async function loadAgent(path: string): Promise<Agent> {
  const absolute = resolve(path);
  try {
    await access(absolute);
  } catch {
    throw new ShoalConfigError(
      `Cannot read the agent module ${path}: no such file. Give the path of a .ts or .js file whose default export is a defineAgent() agent.`,
    );
  }
  const url = pathToFileURL(absolute).href;
  const typescript = ['.ts', '.mts', '.cts', '.tsx'].includes(extname(absolute).toLowerCase());
  let module: Record<string, unknown>;
  try {
    module = typescript ? ((await (await import('tsx/esm/api')).tsImport(url, import.meta.url)) as Record<string, unknown>) : await import(url);
  } catch (error) {
    throw new ShoalConfigError(`Loading the agent module ${path} failed: ${(error as Error).message}`);
  }
  if (isAgent(module.default)) return module.default;
  const named = Object.entries(module).filter(([, value]) => isAgent(value));
  const hint = named.length > 0 ? ` It exports ${named.map(([name]) => `\`${name}\``).join(', ')}: add \`export default ${named[0]![0]};\`.` : '';
  throw new ShoalConfigError(`${path} has no agent as its default export: \`shoal run\` needs \`export default defineAgent({ ... })\`.${hint}`);
}

function isAgent(value: unknown): value is Agent {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'shoal.agent';
}
