import { ShoalConfigError } from '@shoal/core';
import { Command, Option } from 'commander';
import { integer, labelList, nonNegativeNumber, positiveInteger, positiveNumber, usd } from './arguments.js';
import { classifyUnits, extractUnits, rankUnits } from './commands/ready-made.js';
import { agentUnits } from './commands/run.js';
import { type ExecuteOptions, execute, type PlanUnits } from './execute.js';
import { inputFormat, readItems } from './items.js';
import { readObjectSchema } from './json-schema.js';
import { loadAgent } from './load-agent.js';

const DEFAULT_JOB_SECONDS = 2;

/** The options of every command that runs model calls over an input file. */
interface RunFlags {
  input: string;
  output: string;
  format?: 'jsonl' | 'csv';
  concurrency: number;
  priority?: number;
  budget?: number;
  store?: string;
  record?: string;
  dryRun?: boolean;
  outputTokens?: number;
  jobSeconds: number;
  shutdownSeconds: number;
  progressSeconds: number;
}

function withRunOptions(command: Command): Command {
  return command
    .requiredOption('-i, --input <file>', 'the items: JSONL (one JSON value a line) or CSV with a header (by extension, or --format)')
    .option('-o, --output <file>', 'where the results go, one JSON line per item in input order: {"id","ok","output"|"error"}', '-')
    .addOption(new Option('--format <format>', 'the input format, when the extension does not say').choices(['jsonl', 'csv']))
    .option('-c, --concurrency <n>', 'model calls at once', positiveInteger, 16)
    .option('-p, --priority <n>', 'queue priority of these calls (higher first)', integer)
    .option('-b, --budget <usd>', 'stop starting calls once this many US dollars are spent', usd)
    .option('-s, --store <file>', 'SQLite file of results and job ids: a rerun resumes and pays for nothing twice')
    .option('-r, --record <file>', 'write the run record (JSONL) for `shoal report`')
    .option('--dry-run', 'send nothing: print the calls, tokens, USD and time the run would take')
    .option('--output-tokens <n>', 'dry run: expected output tokens per call, instead of the estimate from the output schema', positiveInteger)
    .option('--job-seconds <s>', 'dry run: seconds a model job takes, for the time estimate', positiveNumber, DEFAULT_JOB_SECONDS)
    .option('--shutdown-seconds <s>', 'after Ctrl-C, how long calls in flight may take to finish', nonNegativeNumber, 10)
    .option('--progress-seconds <s>', 'seconds between progress lines when not on a terminal', nonNegativeNumber, 5);
}

async function runOver(flags: RunFlags, plan: PlanUnits): Promise<number> {
  if (!flags.dryRun && (flags.outputTokens !== undefined || flags.jobSeconds !== DEFAULT_JOB_SECONDS)) {
    throw new ShoalConfigError('--output-tokens and --job-seconds shape the estimate of --dry-run: add --dry-run, or leave them out.');
  }
  const items = await readItems(flags.input, inputFormat(flags.input, flags.format));
  if (items.length === 0) throw new ShoalConfigError(`${flags.input} has no items: give one JSON value a line (JSONL), or a CSV header and rows.`);
  const options: ExecuteOptions = {
    output: flags.output,
    concurrency: flags.concurrency,
    jobSeconds: flags.jobSeconds,
    shutdownSeconds: flags.shutdownSeconds,
    progressSeconds: flags.progressSeconds,
    ...(flags.budget === undefined ? {} : { budget: flags.budget }),
    ...(flags.store === undefined ? {} : { store: flags.store }),
    ...(flags.record === undefined ? {} : { record: flags.record }),
    ...(flags.dryRun ? { dryRun: true } : {}),
    ...(flags.outputTokens === undefined ? {} : { outputTokens: flags.outputTokens }),
  };
  return execute(items, options, plan);
}

/** The `shoal` program. `setExitCode` receives each command's exit code. */
export function buildProgram(setExitCode: (code: number) => void): Command {
  const program = new Command('shoal')
    .description('Run shoal agents over files of items, estimate their cost first, and report on a run.')
    .showSuggestionAfterError(true)
    .showHelpAfterError('(run with --help for the options)')
    .exitOverride();

  withRunOptions(
    program
      .command('run')
      .description('run an agent (a module whose default export is a defineAgent() agent) over every item')
      .argument('<agent-module>', '.ts or .js file'),
  )
    .option('--pack <k>', 'inputs per model call (runMany packing)', positiveInteger, 1)
    .action(async (modulePath: string, flags: RunFlags & { pack: number }) => {
      const agent = await loadAgent(modulePath);
      const priority = flags.priority;
      setExitCode(
        await runOver(flags, (executor, items) => agentUnits(agent, items, executor, { pack: flags.pack, ...(priority === undefined ? {} : { priority }) })),
      );
    });

  withRunOptions(program.command('classify').description('label every item with one of the labels (shoal.classify)'))
    .requiredOption('-l, --labels <labels>', 'the labels, comma separated: --labels billing,bug,account', labelList)
    .option('--multi-label', 'every label that applies, not exactly one')
    .option('--instructions <text>', 'extra guidance for the model')
    .option('--field <name>', 'the field holding the text (a JSON string line needs none)', 'text')
    .option('--pack <k>', 'items per model call', positiveInteger, 20)
    .action(async (flags: RunFlags & { labels: [string, ...string[]]; multiLabel?: boolean; instructions?: string; field: string; pack: number }) => {
      setExitCode(
        await runOver(flags, (executor, items) =>
          classifyUnits(items, executor, {
            labels: flags.labels,
            multiLabel: flags.multiLabel === true,
            field: flags.field,
            pack: flags.pack,
            ...(flags.instructions ? { instructions: flags.instructions } : {}),
            ...(flags.priority === undefined ? {} : { priority: flags.priority }),
          }),
        ),
      );
    });

  withRunOptions(program.command('rank').description('rank every item for a query (shoal.rank); each gets its rank, or null outside the top K'))
    .requiredOption('-q, --query <text>', 'what the items are ranked for')
    .option('-k, --top-k <n>', 'how many of the best to rank', positiveInteger, 10)
    .addOption(new Option('--strategy <name>', 'ranking strategy').choices(['tournament', 'sliding-window', 'setwise', 'pointwise']).default('tournament'))
    .option('--field <name>', 'the field holding the text', 'text')
    .action(async (flags: RunFlags & { query: string; topK: number; strategy: 'tournament'; field: string }) => {
      setExitCode(
        await runOver(flags, (executor, items) =>
          rankUnits(items, executor, {
            query: flags.query,
            topK: flags.topK,
            strategy: flags.strategy,
            field: flags.field,
            ...(flags.priority === undefined ? {} : { priority: flags.priority }),
          }),
        ),
      );
    });

  withRunOptions(program.command('extract').description('extract the fields of a JSON Schema from every document, with evidence (shoal.extract)'))
    .requiredOption('--schema <file>', 'JSON Schema of an object: the fields to extract')
    .option('--field <name>', 'the field holding the document text', 'text')
    .action(async (flags: RunFlags & { schema: string; field: string }) => {
      const schema = await readObjectSchema(flags.schema);
      setExitCode(
        await runOver(flags, (executor, items) =>
          extractUnits(items, executor, { schema, field: flags.field, ...(flags.priority === undefined ? {} : { priority: flags.priority }) }),
        ),
      );
    });

  program
    .command('report')
    .description('write a self-contained HTML report of a run record (from --record or recordRun())')
    .argument('<record>', 'the run record, a .jsonl file')
    .requiredOption('-o, --output <file>', 'the HTML file to write')
    .action(async (record: string, flags: { output: string }) => {
      const { writeReport } = await import('./report/index.js');
      const written = await writeReport(record, flags.output);
      process.stderr.write(
        `Wrote ${flags.output}: ${written.calls} calls, ${(written.bytes / 1024).toFixed(0)} KB. Open it in a browser (it needs no network).\n`,
      );
      setExitCode(0);
    });

  program
    .command('emulator')
    .description('start the ShortAPI emulator on 127.0.0.1 (the same as the shoal-emulator bin; --help lists its options)')
    .helpOption(false)
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .argument('[options...]')
    .action(async (args: string[]) => {
      const { emulatorMain } = await import('@shoal/core/testing');
      const code = await emulatorMain(args, 'shoal emulator');
      if (code !== undefined) setExitCode(code);
    });

  return program;
}
