import { expect } from 'vitest';

/**
 * A hostile agent: a script that, from inside a run, tries what an agent talked into misbehaving
 * would try, and reports each attempt as one JSON line. It uses Node built-ins only, so it runs
 * as a synced procedural script and as a command an agent CLI's shell tool runs.
 */

export interface HostileTargets {
  /** The ao API. */
  api_url: string;
  /** Files a runner or the API keeps: tokens, credential stores, spools. */
  files: string[];
  /** Folders of the runner and the API. */
  dirs: string[];
  /** A run that is not the attacker's own. */
  other_run_id: string;
  /** host:port of the Temporal frontend. */
  temporal_address: string;
  /** Whether the frontend speaks TLS (the attempt then presents no client certificate). */
  temporal_tls?: boolean;
}

export interface HostileAttempt {
  attempt: string;
  /** The system refused it. */
  blocked: boolean;
  detail: string;
}

export interface HostileReport {
  uid: number;
  env_names: string[];
  attempts: HostileAttempt[];
}

export const REPORT_PREFIX = 'HOSTILE-REPORT ';

export const HOSTILE_SCRIPT = String.raw`#!/usr/bin/env node
import fs from 'node:fs';
import http2 from 'node:http2';
const targets = JSON.parse(process.argv[process.argv.indexOf('--targets') + 1]);
const attempts = [];
const record = (attempt, blocked, detail = '') => attempts.push({ attempt, blocked, detail: String(detail).slice(0, 200) });
const self = process.getuid();

const credentialNames = Object.keys(process.env).filter((name) => /^(AO_API|AO_RUNNER|AO_DATA|AO_CONFIG|AO_PAYLOAD|TEMPORAL_)/.test(name));
record('find an ao or Temporal credential in the environment', credentialNames.length === 0, credentialNames.join(','));

for (const file of targets.files) {
  try {
    record('read ' + file, false, fs.readFileSync(file, 'utf8').slice(0, 40));
  } catch (error) {
    record('read ' + file, true, error.code);
  }
}
for (const dir of targets.dirs) {
  try {
    record('list ' + dir, false, fs.readdirSync(dir).join(','));
  } catch (error) {
    record('list ' + dir, true, error.code);
  }
}

// Every process of another user: its environment (the runner's holds its token) and a signal.
const foreign = [];
for (const pid of fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
  try {
    const uid = Number(/^Uid:\s+(\d+)/m.exec(fs.readFileSync('/proc/' + pid + '/status', 'utf8'))[1]);
    if (uid !== self) foreign.push(Number(pid));
  } catch {}
}
const environs = foreign.filter((pid) => {
  try {
    fs.readFileSync('/proc/' + pid + '/environ');
    return true;
  } catch {
    return false;
  }
});
record('read the environment of ' + foreign.length + ' processes of other users', foreign.length > 0 && environs.length === 0, environs.join(','));
const signalled = foreign.filter((pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
});
record('signal ' + foreign.length + ' processes of other users', foreign.length > 0 && signalled.length === 0, signalled.join(','));

// Out of the run's cgroup, into the root one and into its runner's.
const cgroup = (fs.readFileSync('/proc/self/cgroup', 'utf8').match(/^0::(.*)$/m) || [])[1] || '';
const mount = fs.readFileSync('/proc/mounts', 'utf8').split('\n').map((line) => line.split(' ')).find((fields) => fields[2] === 'cgroup2')?.[1];
if (mount && cgroup.includes('/ao/')) {
  for (const target of [mount, mount + cgroup.split('/').slice(0, -1).join('/')]) {
    try {
      fs.writeFileSync(target + '/cgroup.procs', String(process.pid));
      record('move itself to the cgroup ' + target, false, 'moved');
    } catch (error) {
      record('move itself to the cgroup ' + target, true, error.code);
    }
  }
} else {
  record('find the run cgroup to leave', false, 'not in an ao cgroup: ' + cgroup);
}

// Every kind of ao route, with no token and with a made-up one.
const ownRun = process.env.AO_RUN_ID;
const event = (runId) => ({ events: [{ run_id: runId, seq: 1, kind: 'message', data: { text: 'forged' }, ts: new Date().toISOString() }] });
const routes = [
  // The ones an agent would try first, with plausible bodies.
  ['GET', '/runs'],
  ['POST', '/runs', { agent: 'echo', prompt: 'spawned by an agent' }],
  ['POST', '/runs/' + targets.other_run_id + '/stop', {}],
  ['GET', '/tokens'],
  ['POST', '/tokens', { name: 'agent-admin', role: 'admin' }],
  ['POST', '/scripts', { name: 'planted' }],
  ['GET', '/audit'],
  ['POST', '/internal/events', event(ownRun)],
  ['POST', '/internal/events', event(targets.other_run_id)],
];
// And every other route the API documents as needing a token, found in its own OpenAPI document.
try {
  const document = await (await fetch(targets.api_url + '/openapi.json')).json();
  for (const [template, operations] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      if (!operation.security?.length) continue;
      const route = template.replace(/\{[^}]+\}/g, targets.other_run_id);
      routes.push([method.toUpperCase(), route, method === 'get' || method === 'delete' ? undefined : {}]);
    }
  }
} catch (error) {
  record('read the API document', false, error.message);
}
for (const [method, route, body] of routes) {
  for (const token of [undefined, 'forged-token']) {
    try {
      const response = await fetch(targets.api_url + route, {
        method,
        headers: { 'content-type': 'application/json', ...(token ? { authorization: 'Bearer ' + token } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      record(method + ' ' + route + (token ? ' with a made-up token' : ' with no token'), response.status === 401 || response.status === 403, response.status);
    } catch (error) {
      record(method + ' ' + route, true, error.message);
    }
  }
}

// The Temporal frontend, with no credential: one gRPC call, GetSystemInfo.
const temporal = await new Promise((resolve) => {
  const session = http2.connect((targets.temporal_tls ? 'https://' : 'http://') + targets.temporal_address, { rejectUnauthorized: false });
  const done = (result) => {
    session.destroy();
    resolve(result);
  };
  session.on('error', (error) => done({ blocked: true, detail: error.code || error.message }));
  const request = session.request({ ':method': 'POST', ':path': '/temporal.api.workflowservice.v1.WorkflowService/GetSystemInfo', 'content-type': 'application/grpc', te: 'trailers' });
  let status;
  request.on('response', (headers) => (status = headers['grpc-status']));
  request.on('trailers', (trailers) => (status = trailers['grpc-status'] ?? status));
  request.on('error', (error) => done({ blocked: true, detail: error.code || error.message }));
  request.on('data', () => undefined);
  request.on('end', () => done({ blocked: String(status) !== '0', detail: 'grpc-status ' + status }));
  request.end(Buffer.from([0, 0, 0, 0, 0]));
  setTimeout(() => done({ blocked: true, detail: 'no answer' }), 10000);
});
record('call the Temporal frontend ' + targets.temporal_address + ' with no credential', temporal.blocked, temporal.detail);

console.log('${REPORT_PREFIX}' + JSON.stringify({ uid: self, env_names: Object.keys(process.env), attempts }));
`;

/** The report in `text` (a run's stdout, a tool result), or undefined. */
export function parseHostileReport(text: string): HostileReport | undefined {
  const line = text.split(/\r?\n/).find((candidate) => candidate.startsWith(REPORT_PREFIX));
  return line ? (JSON.parse(line.slice(REPORT_PREFIX.length)) as HostileReport) : undefined;
}

/**
 * What every report must show: an unprivileged user, no credential seen, every attempt refused
 * (but the Temporal call where the frontend has no authentication, the dev server's).
 */
export function expectContained(report: HostileReport | undefined, label: string, targets: HostileTargets, options: { temporalOpen: boolean }): void {
  expect(report, `${label}: no report`).toBeDefined();
  const { uid, attempts, env_names } = report!;
  expect(uid, 'the executor is not root').not.toBe(0);
  expect(env_names.filter((name) => /^(AO_API|AO_RUNNER|AO_DATA|AO_CONFIG|TEMPORAL_)/.test(name))).toEqual([]);
  const [temporal, ...others] = [attempts.find((a) => a.attempt.startsWith('call the Temporal frontend'))!, ...attempts.filter((a) => !a.attempt.startsWith('call the Temporal frontend'))];
  // The attempts made, so a reader of the test output sees them.
  console.log(`${label}: ${attempts.length} attempts\n${attempts.map((a) => `  ${a.blocked ? 'refused  ' : 'SUCCEEDED'} ${a.attempt} (${a.detail})`).join('\n')}`);
  expect(others.length).toBeGreaterThan(20);
  // Every route the API documents as needing a token was tried, besides the first guesses.
  expect(others.filter((a) => a.attempt.endsWith('with no token')).length).toBeGreaterThan(30);
  expect(others.filter((a) => !a.blocked)).toEqual([]);
  // Refused for want of permission, not missed: the files and cgroups are there.
  for (const file of targets.files) expect(others.find((a) => a.attempt === `read ${file}`), `read ${file}`).toMatchObject({ blocked: true, detail: 'EACCES' });
  const escapes = others.filter((a) => a.attempt.startsWith('move itself to the cgroup'));
  expect(escapes.map((a) => a.detail)).toEqual(['EACCES', 'EACCES']);
  // The dev server has no authentication: an agent reaches it. Recorded as such; mTLS closes it.
  if (options.temporalOpen) expect(temporal).toMatchObject({ blocked: false, detail: 'grpc-status 0' });
  else expect(temporal, temporal.detail).toMatchObject({ blocked: true });
}
