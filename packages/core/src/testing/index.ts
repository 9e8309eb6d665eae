export { startShortApiEmulator } from './emulator.js';
export type {
  EmulatorFaults,
  EmulatorJob,
  EmulatorOptions,
  EmulatorReply,
  EmulatorRule,
  EmulatorStats,
  LatencySpec,
  ShortApiEmulator,
} from './emulator.js';
export { simulate, findSchema, SIMULATOR_MODEL } from './simulator.js';
export { scriptedProvider } from './scripted-provider.js';
export type { ScriptedProvider, ScriptedReply, ScriptedRule } from './scripted-provider.js';
export { startOpenAICompatibleServer } from './openai-compatible-server.js';
export type { OpenAICompatibleServer, OpenAIServerOptions, OpenAIServerRule, RecordedChatRequest } from './openai-compatible-server.js';
export { simulateWithSchema } from './simulator.js';
export { testAgent } from './test-agent.js';
export { seededRandom, hashString } from '../util/random.js';
export { manualClock } from './manual-clock.js';
export type { ManualClock } from './manual-clock.js';
