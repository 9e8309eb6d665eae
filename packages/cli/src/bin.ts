#!/usr/bin/env node
import { ShoalError } from '@shoal/core';
import { CommanderError } from 'commander';
import { EXIT } from './exit-codes.js';
import { buildProgram } from './program.js';

/**
 * `shoal`: parses the arguments (a typo gets "did you mean"), runs the command, and exits
 * with its code (exit-codes.ts). A configuration error is one line saying what to fix, with
 * no stack; anything unexpected shows its code and message.
 */
const program = buildProgram((code) => {
  process.exitCode = code;
});
try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // commander has printed the message (and the suggestion) already.
    process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  } else if (ShoalError.isInstance(error)) {
    process.stderr.write(`shoal: ${error.message}\n`);
    process.exitCode = error.code === 'CONFIG_INVALID' ? EXIT.usage : EXIT.internal;
  } else {
    process.stderr.write(`shoal: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = EXIT.internal;
  }
}
