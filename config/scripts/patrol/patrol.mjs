#!/usr/bin/env node
// The patrol: runs each check (an argv, never a shell string) in the worktree and prints one JSON
// result on stdout: per check its exit code, counts and first failures, and an `alerts` list ao
// turns into `alert` events. Each check's own output goes to stderr, so it streams to the run's
// terminal. Exits 1 when any check failed, so the run ends `failed` with this result kept.
import { spawn } from 'node:child_process';
import { setTimeout, clearTimeout } from 'node:timers';
import { stripVTControlCharacters } from 'node:util';

const DEFAULT_CHECKS = { test: ['npm', 'test'], lint: ['npm', 'run', 'lint'] };
const MAX_LINE = 300;

const args = process.argv.slice(2);
const option = (name) => {
  const inline = args.find((arg) => arg.startsWith(`--${name}=`));
  if (inline) return inline.slice(name.length + 3);
  return args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : undefined;
};
const checks = option('checks') ? JSON.parse(option('checks')) : DEFAULT_CHECKS;
const maxFailures = Number(option('max_failures') ?? 5);
const timeoutMs = Number(option('check_timeout_seconds') ?? 300) * 1000;

/** Runs one argv, mirroring its output to stderr; resolves with its exit and output. */
function run(argv) {
  return new Promise((resolve) => {
    const started = Date.now();
    let output = '';
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], shell: false, env: { ...process.env, CI: 'true', FORCE_COLOR: '0', NO_COLOR: '1' } });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const take = (chunk) => {
      output += chunk.toString();
      process.stderr.write(chunk);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.once('error', (error) => {
      clearTimeout(timer);
      resolve({ exit_code: null, error: error.message, output, duration_ms: Date.now() - started });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ exit_code: code, ...(signal ? { signal } : {}), output, duration_ms: Date.now() - started });
    });
  });
}

const cut = (line) => (line.length > MAX_LINE ? `${line.slice(0, MAX_LINE)}…` : line);

/**
 * Counts and first failures from what the common tools print: TAP (`node --test`, tap, many
 * runners), the vitest/jest summary, ESLint's stylish and unix formats. A failed check whose
 * output says none of these counts as one failure, with its last lines as the failure.
 */
function interpret(output, exitCode) {
  const lines = output.split(/\r?\n/).map((line) => stripVTControlCharacters(line));
  const failures = [];
  const counts = {};
  const tapFailed = lines.filter((line) => /^\s*not ok \d+/.test(line));
  const tapPassed = lines.filter((line) => /^\s*ok \d+/.test(line) && !/# SKIP/i.test(line));
  if (tapFailed.length || tapPassed.length) {
    failures.push(...tapFailed.map((line) => line.trim().replace(/^not ok \d+\s*-?\s*/, '')));
    counts.failed = tapFailed.length;
    counts.passed = tapPassed.length;
  }
  const tapSummary = (name) => lines.map((line) => new RegExp(`^# ${name} (\\d+)$`).exec(line.trim())).find(Boolean);
  if (tapSummary('fail') && tapSummary('pass')) {
    counts.failed = Number(tapSummary('fail')[1]);
    counts.passed = Number(tapSummary('pass')[1]);
  }
  const suite = lines.map((line) => /^\s*Tests\s+(?:(\d+) failed)?\s*\|?\s*(?:(\d+) passed)?/.exec(line)).find((match) => match && (match[1] || match[2]));
  if (suite) {
    counts.failed = Number(suite[1] ?? 0);
    counts.passed = Number(suite[2] ?? 0);
    failures.push(...lines.filter((line) => /^\s*(FAIL|×|✗)\s/.test(line)).map((line) => line.trim()));
  }
  const eslint = lines.map((line) => /✖ (\d+) problems? \((\d+) errors?, (\d+) warnings?\)/.exec(line)).find(Boolean);
  if (eslint) {
    counts.errors = Number(eslint[2]);
    counts.warnings = Number(eslint[3]);
    counts.failed = counts.errors;
  }
  const located = lines.filter((line) => /^[^\s:][^:]*:\d+:\d+:\s/.test(line) || /^\s+\d+:\d+\s+error\s/.test(line));
  if (located.length && !tapFailed.length) {
    failures.push(...located.map((line) => line.trim()));
    counts.failed ??= located.length;
  }
  if (exitCode !== 0 && !counts.failed) {
    counts.failed = 1;
    if (!failures.length) failures.push(...lines.filter((line) => line.trim()).slice(-5));
  }
  return { counts: { failed: 0, ...counts }, first_failures: failures.slice(0, maxFailures).map(cut) };
}

const results = [];
for (const [name, argv] of Object.entries(checks)) {
  console.error(`\n── patrol: ${name}: ${JSON.stringify(argv)}`);
  const outcome = await run(argv);
  const passed = outcome.exit_code === 0;
  const found = outcome.error ? { counts: { failed: 1 }, first_failures: [cut(`could not start ${argv[0]}: ${outcome.error}`)] } : interpret(outcome.output, outcome.exit_code);
  results.push({ name, argv, passed, exit_code: outcome.exit_code, ...(outcome.signal ? { signal: outcome.signal } : {}), duration_ms: outcome.duration_ms, ...found });
}

const failedChecks = results.filter((check) => !check.passed);
const failures = failedChecks.reduce((sum, check) => sum + Math.max(1, check.counts.failed ?? 1), 0);
const alerts = failedChecks.map(
  (check) => `patrol: ${check.name} failed (${check.counts.failed} failure${check.counts.failed === 1 ? '' : 's'}, exit ${check.exit_code ?? check.signal ?? 'none'})${check.first_failures[0] ? `: ${check.first_failures[0]}` : ''}`,
);
const summary = failedChecks.length ? `${failedChecks.length} of ${results.length} checks failed: ${failedChecks.map((check) => check.name).join(', ')}` : `all ${results.length} checks passed`;
console.log(JSON.stringify({ passed: failedChecks.length === 0, summary, failed_checks: failedChecks.length, failures, checks: results, alerts, ...(failedChecks.length ? { error: summary } : {}) }));
process.exit(failedChecks.length ? 1 : 0);
