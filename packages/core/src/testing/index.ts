/**
 * `@shoal/core/testing`: what tests and offline runs need: an emulator of the ShortAPI job protocol, an
 * OpenAI-compatible test server, a scripted provider, a manual clock, a deterministic simulator and `testAgent`.
 *
 * @module @shoal/core/testing
 */
export { hashString, seededRandom } from '../util/random.js';
export { startShortApiEmulator } from './emulator.js';
export { emulatorMain } from './emulator-main.js';
export type {
  EmulatorFaults,
  EmulatorJob,
  EmulatorOptions,
  EmulatorReply,
  EmulatorRule,
  EmulatorStats,
  LatencySpec,
  ShortApiEmulator,
} from './emulator-types.js';
export type { ManualClock } from './manual-clock.js';
export { manualClock } from './manual-clock.js';
export type { OpenAICompatibleServer, OpenAIServerOptions, OpenAIServerRule, RecordedChatRequest } from './openai-compatible-server.js';
export { startOpenAICompatibleServer } from './openai-compatible-server.js';
export type { ScriptedProvider, ScriptedProviderOptions, ScriptedReply, ScriptedRule } from './scripted-provider.js';
export { scriptedProvider } from './scripted-provider.js';
export { findSchema, SIMULATOR_MODEL, simulate, simulateWithSchema } from './simulator.js';
export { testAgent } from './test-agent.js';
