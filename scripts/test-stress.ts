import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from '../core/config/paths.js';

/**
 * `npm run test:stress [-- vitest args]`: the whole suite (or the files given) while `stress-ng --cpu 2`
 * keeps every core busy, to show that no test depends on how fast the machine is. The tests' time
 * budgets are scaled (AO_TEST_TIME_SCALE, 4 unless set), never their premises. stress-ng stops when
 * the suite ends, fails or is interrupted; the exit code is the suite's. Not part of CI.
 */
const CPU_HOGS = '2';
const DEFAULT_TIME_SCALE = '4';
/** A backstop: a stress-ng left behind (this script killed with SIGKILL) ends by itself. */
const STRESS_LIMIT = '3h';

if (spawnSync('stress-ng', ['--version'], { stdio: 'ignore' }).error) {
  console.error('test:stress needs stress-ng: install the Debian package stress-ng (apt-get install stress-ng)');
  process.exit(1);
}

// Its own process group, so it is stopped as a whole (stress-ng forks one worker per hog).
const stress = spawn('stress-ng', ['--cpu', CPU_HOGS, '--timeout', STRESS_LIMIT, '--quiet'], { detached: true, stdio: 'ignore' });
console.log(`test:stress: stress-ng --cpu ${CPU_HOGS} (pid ${stress.pid}) beside the suite, AO_TEST_TIME_SCALE=${process.env.AO_TEST_TIME_SCALE ?? DEFAULT_TIME_SCALE}`);

const suite: ChildProcess = spawn(path.join(repoRoot, 'node_modules', '.bin', 'vitest'), ['run', ...process.argv.slice(2)], {
  cwd: repoRoot,
  stdio: 'inherit',
  env: { ...process.env, AO_TEST_TIME_SCALE: process.env.AO_TEST_TIME_SCALE ?? DEFAULT_TIME_SCALE },
});

let stopped = false;
function stopStress(): void {
  if (stopped) return;
  stopped = true;
  try {
    process.kill(-stress.pid!, 'SIGTERM');
  } catch {
    // Already gone.
  }
}

// Ctrl-C reaches vitest by itself (same terminal process group): let it end its run, then end stress-ng.
process.on('SIGINT', () => undefined);
// A SIGTERM or SIGHUP is sent to this process alone: pass it on.
for (const signal of ['SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    if (suite.exitCode === null && suite.signalCode === null) suite.kill(signal);
  });
}
process.on('exit', stopStress);

stress.once('exit', (code, signal) => {
  if (!stopped) console.error(`test:stress: stress-ng ended early (${signal ?? `exit code ${code}`}); the suite goes on uncontended`);
});

suite.once('error', (error) => {
  console.error(`test:stress: could not start vitest: ${error.message}`);
  stopStress();
  process.exit(1);
});
suite.once('exit', (code, signal) => {
  const wasRunning = stress.exitCode === null && stress.signalCode === null;
  stopStress();
  console.log(`test:stress: stress-ng ${wasRunning ? 'stopped' : 'had already ended'}; suite ${signal ? `ended by ${signal}` : `exited with ${code}`}`);
  process.exit(code ?? 1);
});
