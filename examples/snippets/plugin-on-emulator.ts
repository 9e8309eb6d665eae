import { createExecutor, createRegistry, shortApi } from '@shoal/core';
import { startShortApiEmulator } from '@shoal/core/testing';
import { supportAgents } from '@shoal/example-support-agents';

const registry = createRegistry();
await registry.use(supportAgents); // runs setup(); refuses duplicate names
const emulator = await startShortApiEmulator();
const executor = createExecutor({ provider: shortApi({ apiKey: emulator.apiKey, baseURL: emulator.url }) });
const result = await registry.get('support.triage')!.run({ subject: 'Login loop', body: 'SSO sends me back to the sign-in page.' }, { executor });
console.log(registry.list().map(({ name, plugin }) => `${name} (${plugin})`));
console.log(result.output); // the simulator's answer: it fits the agent's output schema, and judges nothing
await executor.close();
await emulator.close();
