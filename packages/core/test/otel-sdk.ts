import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

/**
 * The OpenTelemetry SDK as the tests (and `pnpm bench telemetry`) use it: spans kept in
 * memory as each ends, and metrics read on demand. Here, beside core's devDependencies on
 * the SDK, so that the bench at the workspace root can use them too.
 */
export function memoryTracing(): { provider: BasicTracerProvider; spans: () => ReadableSpan[]; reset: () => void } {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  return { provider, spans: () => exporter.getFinishedSpans(), reset: () => exporter.reset() };
}

/** A reader that collects only when asked: no timer, nothing exported in the background. */
class OnDemandReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

export function memoryMetrics(): { provider: MeterProvider; collect: () => ReturnType<MetricReader['collect']> } {
  const reader = new OnDemandReader();
  const provider = new MeterProvider({ readers: [reader] });
  return { provider, collect: () => reader.collect() };
}
