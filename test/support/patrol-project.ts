import fs from 'node:fs/promises';
import path from 'node:path';
import { git } from '../../activities/git.js';

/** Two passing tests and one failing one, for `node --test --test-reporter=tap`. */
export const FAILING_TESTS = `import { test } from 'node:test';
import assert from 'node:assert/strict';
test('adds', () => assert.equal(1 + 1, 2));
test('multiplies', () => assert.equal(2 * 3, 6));
test('divides by zero politely', () => assert.equal(1 / 0, 0));
`;

export const PASSING_TESTS = `import { test } from 'node:test';
import assert from 'node:assert/strict';
test('subtracts', () => assert.equal(3 - 1, 2));
`;

/** A linter that finds one problem in unix format (path:line:col: message), and exits 1. */
export const LINT_SCRIPT = `console.log('src/app.js:3:5: Unexpected var, use let or const instead. [Error/no-var]');
process.exit(1);
`;

export const PATROL_CHECKS = {
  test: ['node', '--test', '--test-reporter=tap', 'test/math.test.mjs'],
  lint: ['node', 'lint.mjs'],
};

/** A git repository that a patrol finds failing: one failing test, one lint error. */
export async function makePatrolProject(dir: string): Promise<string> {
  await fs.mkdir(path.join(dir, 'test'), { recursive: true });
  await fs.writeFile(path.join(dir, 'test', 'math.test.mjs'), FAILING_TESTS);
  await fs.writeFile(path.join(dir, 'test', 'pass.test.mjs'), PASSING_TESTS);
  await fs.writeFile(path.join(dir, 'lint.mjs'), LINT_SCRIPT);
  await git(dir, ['init', '-q', '-b', 'main']);
  await git(dir, ['add', '-A']);
  await git(dir, ['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'a project with a failing test']);
  return dir;
}
