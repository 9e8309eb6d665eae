/**
 * Setup of the `unit` test project: a unit test opens no socket and starts no process. Listening, connecting and the
 * child_process functions throw here, so a test that needs a server or a child fails at once with this message and
 * belongs in the `integration` project (vitest.config.ts lists those files).
 */
import childProcess from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';
import net from 'node:net';

function refuse(what: string): never {
  throw new Error(`${what} in a unit test: this file opens sockets or starts processes, so list it under \`integration\` in vitest.config.ts`);
}

net.Server.prototype.listen = function listen() {
  refuse('a server listening');
} as typeof net.Server.prototype.listen;
net.Socket.prototype.connect = function connect() {
  refuse('a socket connecting');
} as typeof net.Socket.prototype.connect;
for (const name of ['spawn', 'spawnSync', 'fork', 'exec', 'execSync', 'execFile', 'execFileSync'] as const) {
  Object.defineProperty(childProcess, name, { value: () => refuse(`child_process.${name}`), configurable: true, writable: true });
}
// `import { spawn } from 'node:child_process'` reads the ESM view of the module: bring it up to date.
syncBuiltinESMExports();
