import { createExecutor, handleShutdown, shortApi } from '@shoal/core';
import { sqliteStore } from '@shoal/store-sqlite';

const executor = createExecutor({ provider: shortApi(), store: sqliteStore('./run.db') });
handleShutdown(executor, { deadlineMs: 10_000 }); // SIGINT / SIGTERM: stop cleanly, exit 1 if work was left; rerun to finish it

// The same calls every time it is started: a rerun takes finished ones from the store and waits for created jobs by id.
const prompts = ['Summarise: the tide rises twice a day.', 'Summarise: currents carry heat north.'];
const answers = await Promise.all(prompts.map((prompt) => executor.complete({ prompt })));
console.log(answers.map((answer) => (answer.cached ? 'from the store' : `job ${answer.jobId}`)).join(', '));
console.log(executor.metrics().recovery); // { resumed, recreated, storeErrors }
await executor.close();
