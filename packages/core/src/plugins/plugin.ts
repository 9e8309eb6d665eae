import { AGENT_NAME } from '../agent/define-agent.js';
import type { Agent, AgentMetadata } from '../agent/types.js';
import { ShoalConfigError } from '../errors.js';
import { rejectUnknownKeys } from '../util/options.js';

/** A package of agents. `setup` runs once when a registry takes the plugin (open clients, load data). */
export interface Plugin {
  /** Marks a value made by `definePlugin()`: registries take only these. */
  readonly kind: 'shoal.plugin';
  /** The plugin's npm-style name, e.g. `@acme/agents`. */
  readonly name: string;
  /** Semver of the plugin package. */
  readonly version: string;
  /** The plugin's agents (at least one). */
  readonly agents: readonly Agent[];
  /** Runs once when a registry takes the plugin; its agents become visible only once it succeeded. */
  readonly setup?: (context: PluginContext) => void | Promise<void>;
}

/** What a plugin's `setup` is given. */
export interface PluginContext {
  /** The registry taking the plugin. */
  readonly registry: Registry;
}

/** What `definePlugin()` takes. */
export interface PluginConfig {
  /** An npm-style name, such as `acme-agents` or `@acme/agents`. */
  readonly name: string;
  /** Semver of the plugin package. */
  readonly version: string;
  /** The plugin's agents, made by `defineAgent()` (at least one). */
  readonly agents: readonly Agent[];
  /** Runs once when a registry takes the plugin (open clients, load data); its agents become visible only once it succeeded. */
  readonly setup?: (context: PluginContext) => void | Promise<void>;
}

const PLUGIN_NAME = /^(@[a-z0-9][a-z0-9._-]*\/)?[a-z0-9][a-z0-9._-]*$/;
const SEMVER = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

/**
 * Packages agents as a plugin: checks the name (npm-style), the version (semver) and the agents, and freezes the result. `ShoalConfigError` when one is wrong.
 */
export function definePlugin(config: PluginConfig): Plugin {
  if (typeof config !== 'object' || config === null) throw new ShoalConfigError('definePlugin() takes one options object.');
  rejectUnknownKeys('definePlugin()', config, ['name', 'version', 'agents', 'setup'] satisfies (keyof PluginConfig)[]);
  const { name, version, agents, setup } = config;
  if (typeof name !== 'string' || !PLUGIN_NAME.test(name))
    throw new ShoalConfigError(`Plugin name ${JSON.stringify(name)} is not valid: use an npm-style name such as "acme-agents" or "@acme/agents".`);
  if (typeof version !== 'string' || !SEMVER.test(version))
    throw new ShoalConfigError(`Plugin \`${name}\`: version ${JSON.stringify(version)} is not semver (e.g. "1.2.0").`);
  if (!Array.isArray(agents) || agents.length === 0) throw new ShoalConfigError(`Plugin \`${name}\` has no agents: pass \`agents: [defineAgent({...})]\`.`);
  for (const agent of agents) {
    if ((agent as Agent | undefined)?.kind !== 'shoal.agent')
      throw new ShoalConfigError(`Plugin \`${name}\`: every entry of \`agents\` must come from defineAgent().`);
  }
  if (setup !== undefined && typeof setup !== 'function') throw new ShoalConfigError(`Plugin \`${name}\`: \`setup\` must be a function.`);
  return Object.freeze({ kind: 'shoal.plugin' as const, name, version, agents: Object.freeze([...agents]), ...(setup ? { setup } : {}) });
}

/** An entry of the catalogue: what a planner reads. */
export interface CatalogueEntry extends AgentMetadata {
  /** `name@version` of the plugin that brought it, or undefined for an agent added directly. */
  readonly plugin: string | undefined;
}

/** The agents a coordinator knows, by globally unique name, and the plugins that brought them. */
export interface Registry {
  /** Adds a plugin's agents and runs its setup. Rejects duplicate names, naming both owners. */
  use(plugin: Plugin): Promise<void>;
  /** Adds agents directly (no plugin). */
  add(...agents: Agent[]): void;
  /** The agent of that name, if any. */
  get(name: string): Agent | undefined;
  /** Whether an agent of that name is registered. */
  has(name: string): boolean;
  /** Every agent's name, description and input/output JSON Schemas, sorted by name. */
  list(): readonly CatalogueEntry[];
  /** The plugins taken, in the order they were taken. */
  readonly plugins: readonly Plugin[];
}

/** A registry of agents, optionally with `agents` added at once; add more with `add()` and `use(plugin)`. */
export function createRegistry(options: { readonly agents?: readonly Agent[] } = {}): Registry {
  if (typeof options !== 'object' || options === null) throw new ShoalConfigError('createRegistry() takes one options object: { agents? }.');
  rejectUnknownKeys('createRegistry()', options, ['agents']);
  const agents = new Map<string, { agent: Agent; owner: string | undefined }>();
  const plugins: Plugin[] = [];
  const describeOwner = (owner: string | undefined) => (owner ? `plugin ${owner}` : 'a direct add()');
  const check = (list: readonly Agent[], owner: string | undefined) => {
    const seen = new Set<string>();
    for (const agent of list) {
      if (agent?.kind !== 'shoal.agent') throw new ShoalConfigError(`Only agents made by defineAgent() can be registered (from ${describeOwner(owner)}).`);
      if (!AGENT_NAME.test(agent.name)) throw new ShoalConfigError(`Agent name ${JSON.stringify(agent.name)} is not valid.`);
      const existing = agents.get(agent.name);
      if (existing || seen.has(agent.name)) {
        throw new ShoalConfigError(
          `Agent name \`${agent.name}\` is registered twice: by ${describeOwner(existing ? existing.owner : owner)} and by ${describeOwner(owner)}. Names are global across plugins: rename one (e.g. prefix it with its plugin, "acme.${agent.name}").`,
        );
      }
      seen.add(agent.name);
    }
  };
  const registry: Registry = {
    async use(plugin) {
      if (plugin?.kind !== 'shoal.plugin') throw new ShoalConfigError('registry.use() takes a plugin made by definePlugin().');
      if (plugins.some((p) => p.name === plugin.name)) throw new ShoalConfigError(`Plugin \`${plugin.name}\` is already registered.`);
      const owner = `${plugin.name}@${plugin.version}`;
      check(plugin.agents, owner);
      // Agents become visible only once setup succeeded: a failed setup leaves the registry as it was.
      await plugin.setup?.({ registry });
      check(plugin.agents, owner);
      for (const agent of plugin.agents) agents.set(agent.name, { agent, owner });
      plugins.push(plugin);
    },
    add(...list) {
      check(list, undefined);
      for (const agent of list) agents.set(agent.name, { agent, owner: undefined });
    },
    get: (name) => agents.get(name)?.agent,
    has: (name) => agents.has(name),
    list: () =>
      [...agents.values()].map(({ agent, owner }) => ({ ...agent.metadata(), plugin: owner })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    get plugins() {
      return [...plugins];
    },
  };
  if (options.agents) registry.add(...options.agents);
  return registry;
}
