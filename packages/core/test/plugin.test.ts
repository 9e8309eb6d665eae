import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineAgent } from '../src/agent/define-agent.js';
import { createRegistry, definePlugin } from '../src/plugins/plugin.js';

const agent = (name: string) =>
  defineAgent({
    name,
    description: `The ${name} agent.`,
    input: z.object({ text: z.string() }),
    output: z.object({ ok: z.boolean() }),
    instructions: 'Do it.',
  });

describe('plugins and the registry', () => {
  it('lists every agent with its description and input/output JSON Schemas, sorted, with its plugin', async () => {
    const registry = createRegistry({ agents: [agent('zeta')] });
    await registry.use(definePlugin({ name: '@acme/agents', version: '1.2.0', agents: [agent('acme.alpha'), agent('acme.beta')] }));
    const list = registry.list();
    expect(list.map((e) => [e.name, e.plugin])).toEqual([
      ['acme.alpha', '@acme/agents@1.2.0'],
      ['acme.beta', '@acme/agents@1.2.0'],
      ['zeta', undefined],
    ]);
    expect(list[0]!.inputSchema).toMatchObject({ type: 'object', properties: { text: { type: 'string' } }, required: ['text'] });
    expect(list[0]!.outputSchema).toMatchObject({ properties: { ok: { type: 'boolean' } } });
    expect(list[0]!.description).toBe('The acme.alpha agent.');
    expect(registry.get('acme.beta')?.name).toBe('acme.beta');
    expect(registry.has('nope')).toBe(false);
  });

  it('rejects a duplicate name, naming both owners, and leaves the registry unchanged', async () => {
    const registry = createRegistry();
    await registry.use(definePlugin({ name: 'one', version: '1.0.0', agents: [agent('shared')] }));
    const error = await registry.use(definePlugin({ name: 'two', version: '2.0.0', agents: [agent('other'), agent('shared')] })).catch((e: unknown) => e);
    expect((error as Error).message).toBe(
      'Agent name `shared` is registered twice: by plugin one@1.0.0 and by plugin two@2.0.0. Names are global across plugins: rename one (e.g. prefix it with its plugin, "acme.shared").',
    );
    expect(registry.has('other')).toBe(false);
    expect(() => registry.add(agent('shared'))).toThrow(/registered twice/);
    expect(() => createRegistry({ agents: [agent('a'), agent('a')] })).toThrow(/registered twice/);
  });

  it('runs setup once, and registers nothing when setup fails', async () => {
    const registry = createRegistry();
    let setups = 0;
    await registry.use(definePlugin({ name: 'ok', version: '0.1.0', agents: [agent('x')], setup: () => void setups++ }));
    expect(setups).toBe(1);
    await expect(
      registry.use(
        definePlugin({
          name: 'broken',
          version: '0.1.0',
          agents: [agent('y')],
          setup: () => {
            throw new Error('no credentials');
          },
        }),
      ),
    ).rejects.toThrow('no credentials');
    expect(registry.has('y')).toBe(false);
  });

  it.each([
    [{ name: 'Bad Name', version: '1.0.0', agents: [agent('a')] }, /Plugin name "Bad Name" is not valid/],
    [{ name: 'p', version: 'one', agents: [agent('a')] }, /version "one" is not semver/],
    [{ name: 'p', version: '1.0.0', agents: [] }, /has no agents/],
    [{ name: 'p', version: '1.0.0', agents: [{ name: 'fake' }] }, /must come from defineAgent/],
  ])('definePlugin rejects %o', (config, message) => {
    expect(() => definePlugin(config as never)).toThrow(message);
  });
});
