#!/usr/bin/env node
// The echo executor: reads its invocation as JSON on stdin and answers with it.
// It speaks the executor contract every `command` in a profile must speak (see README),
// so it is both a fleet check and the reference implementation of that contract.
// Parameters: `sleep_ms` waits before answering, `exit_code` fails with that code.
import { setTimeout as sleep } from 'node:timers/promises';

let input = '';
for await (const chunk of process.stdin) input += chunk;
const invocation = JSON.parse(input);
const parameters = invocation.parameters ?? {};

process.stdout.write(`echo executor: run ${invocation.run_id} for agent ${invocation.agent?.name}\n`);
if (Number.isInteger(parameters.sleep_ms) && parameters.sleep_ms > 0) await sleep(parameters.sleep_ms);

if (Number.isInteger(parameters.exit_code) && parameters.exit_code !== 0) {
  process.stderr.write(`echo executor: failing with exit code ${parameters.exit_code} as asked\n`);
  process.exit(parameters.exit_code);
}

const result = {
  status: 'completed',
  result_data: {
    echo: { prompt: invocation.prompt ?? null, parameters },
    agent: invocation.agent?.name,
    executor_type: invocation.executor_type,
    executor_config: invocation.executor_config,
    workspace_dir: invocation.workspace_dir,
    schema_version: invocation.schema_version,
  },
};
process.stdout.write(`${JSON.stringify(result)}\n`);
