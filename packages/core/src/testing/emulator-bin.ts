#!/usr/bin/env node
import { emulatorMain } from './emulator-main.js';

/** `shoal-emulator --port 8787 --latency 300-800 --seed 1 --rate-limit 0.05 ...`: prints its URL and key, runs until killed. */
const code = await emulatorMain(process.argv.slice(2));
if (code !== undefined) process.exitCode = code;
