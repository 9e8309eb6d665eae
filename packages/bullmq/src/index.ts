/**
 * The public API of `@shoal/bullmq`: producers and workers of one shoal queue on Redis (BullMQ): one executor
 * across many worker processes, with one rate limit, and nothing paid twice.
 *
 * @module @shoal/bullmq
 */

export type { RedisConnection } from './connection.js';
export type { WorkerCloseOptions, WorkerCloseReport } from './hand-back.js';
export type { ProducerOptions } from './producer.js';
export { bullmqExecutor } from './producer.js';
export { PROTOCOL_VERSION } from './protocol.js';
export type { QueueStats } from './queue-stats.js';
export { queueStats } from './queue-stats.js';
export type { SharedLimitOptions } from './shared-limit.js';
export type { ShoalWorker, WorkerOptions } from './worker.js';
export { startWorker } from './worker.js';
