import { describe, expect, it } from 'vitest';
import { mergeDemands, rankRunners, type RunnerCandidate } from '../core/contract/matching.js';

const runner = (id: string, overrides: Partial<RunnerCandidate> = {}): RunnerCandidate => ({
  runner_id: id,
  hostname: 'host-a',
  project_dir: '/srv/app',
  executor_profile: 'echo',
  executor_type: 'echo',
  tags: [],
  require_matching_tags: false,
  capacity: 1,
  active_runs: 0,
  ...overrides,
});

describe('merging demands', () => {
  it('lets the first layer win for properties and unions tags', () => {
    const merged = mergeDemands({ hostname: 'a', tags: ['x'] }, { hostname: 'b', executor_type: 'codex', tags: ['y', 'x'] }, undefined, { tags: ['z'] });
    expect(merged).toEqual({ hostname: 'a', executor_type: 'codex', tags: ['x', 'y', 'z'] });
  });
});

describe('ranking runners', () => {
  it('says no runner is registered when the fleet is empty', () => {
    expect(rankRunners([], { tags: [] }).reason).toBe('no live runner is registered');
  });

  it('names every unmet demand when no runner matches', () => {
    const choice = rankRunners([runner('r1', { tags: ['cpu'] }), runner('r2', { hostname: 'host-b' })], { hostname: 'host-a', tags: ['gpu'] });
    expect(choice.reason).toBe('no live runner has tags [gpu]');
    const other = rankRunners([runner('r1')], { executor_type: 'codex', tags: [] });
    expect(other.reason).toBe('no live runner has executor_type codex');
    const apart = rankRunners([runner('r1', { tags: ['gpu'], hostname: 'host-b' }), runner('r2')], { hostname: 'host-a', tags: ['gpu'] });
    expect(apart.reason).toBe('no live runner meets all of: hostname host-a, tags [gpu]');
    const strict = rankRunners([runner('r1', { tags: ['gpu'], require_matching_tags: true })], { tags: [] });
    expect(strict.reason).toMatch(/require matching tags/);
  });

  it('orders eligible runners by free capacity, then id', () => {
    const choice = rankRunners(
      [runner('b', { capacity: 2, active_runs: 1 }), runner('c', { capacity: 3, active_runs: 1 }), runner('a', { capacity: 2, active_runs: 1 }), runner('full', { active_runs: 1 })],
      { tags: [] },
    );
    expect(choice.eligible.map((candidate) => candidate.runner_id)).toEqual(['c', 'a', 'b']);
  });

  it('reports full runners as at capacity', () => {
    expect(rankRunners([runner('full', { active_runs: 1 })], { tags: [] })).toMatchObject({ reason: 'all 1 matching runner(s) are at capacity', waiting: 'slot' });
    // Waiting for a runner that could take it at all is another wait: the no-runner timeout counts only that one.
    expect(rankRunners([], { tags: [] })).toMatchObject({ waiting: 'runner' });
    expect(rankRunners([runner('elsewhere')], { tags: ['gpu'] })).toMatchObject({ waiting: 'runner' });
  });

  it('sends a procedural run only where its script is installed at its version', () => {
    const need = { name: 'stats', version: 'v2' };
    const fleet = [runner('old', { scripts: { stats: 'v1' } }), runner('none'), runner('current', { scripts: { stats: 'v2' } })];
    expect(rankRunners(fleet, { tags: [] }, need).eligible.map((candidate) => candidate.runner_id)).toEqual(['current']);
    expect(rankRunners(fleet.slice(0, 2), { tags: [] }, need).reason).toBe('no matching runner has script stats at version v2 installed yet');
  });
});
