/**
 * `@shoal/core/otel`: shoal's spans and metrics through OpenTelemetry. The only module of core that loads
 * `@opentelemetry/api` (an optional peer dependency); `@shoal/core` itself never does.
 *
 * @module @shoal/core/otel
 */
export type { OpenTelemetryOptions, ShoalOpenTelemetry } from './open-telemetry.js';
export { openTelemetry } from './open-telemetry.js';
