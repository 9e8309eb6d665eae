/**
 * Using a plugin: a package of agents (examples/plugins/support-agents) registered by
 * name, listed with its schemas, and run like any agent: triage for a batch of tickets,
 * four per model call.
 *
 *   npx -y pnpm@12.4.2 example:plugin
 */
import { createRegistry, type Executor } from '@shoal/core';
import { supportAgents, type triage } from '@shoal/example-support-agents';
import { isMain, runAlone } from './shared/backend.js';

export async function pluginExample(executor: Executor) {
  const registry = createRegistry();
  await registry.use(supportAgents);
  console.log(
    `\nPlugin ${supportAgents.name}@${supportAgents.version}: ${registry
      .list()
      .map((a) => a.name)
      .join(', ')}`,
  );
  for (const entry of registry.list())
    console.log(`  ${entry.name}: ${entry.description} (input fields: ${Object.keys((entry.inputSchema.properties ?? {}) as object).join(', ')})`);
  const tickets = [
    { subject: 'Charged twice', body: 'My card was charged twice for March.', customerTier: 'pro' as const },
    { subject: 'Outage', body: 'Nothing loads since 9:00, all our users are blocked.', customerTier: 'enterprise' as const },
    { subject: 'Feature', body: 'Could reports be scheduled weekly?' },
    { subject: 'Login', body: 'Password reset mail never arrives.' },
  ];
  const agent = registry.get('support.triage') as typeof triage;
  const result = await agent.runMany(tickets, { executor, pack: 4 });
  result.items.forEach((item, i) => {
    console.log(
      `  ${tickets[i]!.subject.padEnd(14)} ${item.ok ? `${item.output.queue}/${item.output.priority}${item.output.needsHuman ? ', needs a human' : ''} (${item.output.area})` : `failed: ${item.error.message}`}`,
    );
  });
  console.log(`  ${result.calls} calls (${result.packedCalls} packed) for ${tickets.length} tickets, $${result.costUsd.toFixed(6)}`);
  return result;
}

if (isMain(import.meta.url)) await runAlone(pluginExample);
