import { trace } from '@opentelemetry/api';
import { BasicTracerProvider, ConsoleSpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { createCoordinator, createExecutor, defineAgent, shortApi } from '@shoal/core';
import { openTelemetry } from '@shoal/core/otel';
import { z } from 'zod';

// Your SDK first (here the smallest one: each span printed as it ends).
const tracing = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new ConsoleSpanExporter())] });
trace.setGlobalTracerProvider(tracing);

const headline = defineAgent({
  name: 'headline',
  description: 'Writes a headline for a news item.',
  input: z.object({ item: z.string().min(1) }),
  output: z.object({ headline: z.string().max(80) }),
  instructions: 'Write a short headline for the news item.',
});
const agents = [headline];
const executor = createExecutor({ provider: shortApi() });

const otel = openTelemetry(); // the global providers; { recordContent: true } adds each agent call's input
otel.instrument(executor); // the executor's own calls (agent.run, complete) and its metrics
const coordinator = createCoordinator({ executor, agents, telemetry: otel });

const run = await coordinator.run('Harbour reopens after the storm');
console.log(`trace ${run.trace.spans.length} spans:`, run.output);
coordinator.close();
await executor.close();
await tracing.shutdown();
