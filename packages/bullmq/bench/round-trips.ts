// For the bullmq bench rows (rows.ts): Redis's own counters, and this process's round trips to Redis.
import { createHash } from 'node:crypto';
import { Pipeline, Redis } from 'ioredis';
import { ONE_WRITE_PER_TICK } from '../src/connection.js';

export { Redis };

/** Redis's counters: commands run, reads of client sockets (one per request or pipeline that arrives), per command. */
export interface ServerCounters {
  readonly commands: number;
  readonly reads: number;
  readonly byCommand: Readonly<Record<string, number>>;
  readonly usedMemory: number;
}

export async function serverCounters(redis: Redis): Promise<ServerCounters> {
  const [stats, commandStats, memory] = await Promise.all([redis.info('stats'), redis.info('commandstats'), redis.info('memory')]);
  const field = (text: string, name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(text)?.[1] ?? 0);
  const byCommand: Record<string, number> = {};
  for (const [, name, calls] of commandStats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) byCommand[name!] = Number(calls);
  return {
    commands: field(stats, 'total_commands_processed'),
    reads: field(stats, 'total_reads_processed'),
    byCommand,
    usedMemory: field(memory, 'used_memory'),
  };
}

/** What happened between two readings, per call: every counter's difference divided by `calls`. */
export function perCall(before: ServerCounters, after: ServerCounters, calls: number) {
  const byCommand: Record<string, number> = {};
  for (const [name, n] of Object.entries(after.byCommand)) {
    const delta = n - (before.byCommand[name] ?? 0);
    if (delta > 0) byCommand[name] = delta / calls;
  }
  return { commands: (after.commands - before.commands) / calls, reads: (after.reads - before.reads) / calls, byCommand };
}

export interface RoundTrips {
  readonly total: number;
  /** By what went: a command's name (a script's own name), or `pipeline`/`multi` and the names of what it held. */
  readonly byName: Readonly<Record<string, number>>;
}

/**
 * Counts this process's round trips to Redis from now on, on every ioredis connection: a
 * command sent alone is one, a pipeline or a MULTI/EXEC is one, and so are the commands a
 * worker's connection sends in one tick (one write). Returns a reading.
 */
export function countRoundTrips(): () => RoundTrips {
  const scripts = new Map<string, string>();
  const byName = new Map<string, number>();
  let total = 0;
  const count = (name: string) => {
    total++;
    byName.set(name, (byName.get(name) ?? 0) + 1);
  };
  type Command = { name: string; args: unknown[] };
  const nameOf = (command: Command): string => {
    if (command.name === 'evalsha') return scripts.get(String(command.args[0])) ?? 'evalsha';
    if (command.name === 'eval') return scripts.get(createHash('sha1').update(String(command.args[0])).digest('hex')) ?? 'eval';
    return command.name;
  };
  const proto = Redis.prototype as unknown as {
    defineCommand(name: string, definition: { lua: string }): void;
    sendCommand(command: Command, stream?: unknown): unknown;
  };
  const define = proto.defineCommand;
  proto.defineCommand = function (name, definition) {
    scripts.set(createHash('sha1').update(definition.lua).digest('hex'), name.split(':')[0]!);
    return define.call(this, name, definition);
  };
  const send = proto.sendCommand;
  /** Connections whose commands of one tick leave in one write (connection.ts), with the names sent this tick. */
  const ticks = new Map<object, string[]>();
  proto.sendCommand = function (command, stream) {
    // A pipeline's commands are written with its stream: the pipeline is counted once, by exec().
    if (stream === undefined) {
      if ((this as unknown as Record<symbol, unknown>)[ONE_WRITE_PER_TICK]) {
        // One write per tick: counted once, by the names of what it held.
        let names = ticks.get(this);
        if (!names) {
          const held: string[] = [];
          ticks.set(this, (names = held));
          process.nextTick(() => {
            ticks.delete(this);
            const distinct = [...new Set(held)].sort();
            count(distinct.length === 1 ? distinct[0]! : `pipeline(${distinct.join('+')})`);
          });
        }
        names.push(nameOf(command));
      } else count(nameOf(command));
    }
    return send.call(this, command, stream);
  };
  const pipelines = new WeakSet<object>();
  const pipelineProto = Pipeline.prototype as unknown as { exec(this: { _queue: Command[]; isPipeline?: boolean }, ...args: unknown[]): unknown };
  const exec = pipelineProto.exec;
  pipelineProto.exec = function (...args) {
    if (!pipelines.has(this)) {
      pipelines.add(this);
      const names = [...new Set(this._queue.map(nameOf).filter((n) => n !== 'multi' && n !== 'exec'))].sort();
      const multi = this._queue.some((c) => c.name === 'multi');
      count(`${multi ? 'multi' : 'pipeline'}(${names.join('+')})`);
    }
    return exec.apply(this, args);
  };
  return () => ({ total, byName: Object.fromEntries(byName) });
}
