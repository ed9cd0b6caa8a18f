import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../core/config/paths.js';
import type { RunSummary, RunView } from '../core/contract/http.js';
import { connectWorker } from '../core/temporal/connection.js';
import { findTemporalServer, type TemporalServerBinaries } from '../temporal-config/server-binaries.js';
import { SERVER_DYNAMIC_CONFIG, type ServerTls } from '../temporal-config/server-config.js';
import { startTemporalServer, type TemporalServer, type TemporalServerOptions } from '../temporal-config/server.js';
import { workflowMetadataQuery } from '@temporalio/workflow';
import { runWorkflowId, runnerWorkflowId } from '../workflows/messages.js';
import { makeCertificates, type TestCertificates } from './support/certificates.js';
import { HOSTILE_SCRIPT, expectContained, parseHostileReport } from './support/hostile-agent.js';
import { startPostgres } from './support/postgres.js';
import { TestStack, eventually, uniqueTag } from './support/stack.js';
import { testTime } from './support/time.js';

// The production topology without Docker: the real Temporal server (built from module source by
// `npm run temporal:install-server`) on PostgreSQL, with mTLS, and ao's real processes against it.
// It starts its own server and PostgreSQL (it restarts the server); the shared dev server is not used.

let binaries: TemporalServerBinaries;
let certificates: TestCertificates;
let postgres: Awaited<ReturnType<typeof startPostgres>> | undefined;
let server: TemporalServer | undefined;
let serverOptions: TemporalServerOptions;
let stack: TestStack | undefined;
let certDir: string | undefined;

beforeAll(async () => {
  binaries = await findTemporalServer({ install: false });
  certDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ao-mtls-'));
  certificates = await makeCertificates(certDir);
  postgres = await startPostgres();
  const tls: ServerTls = {
    cert: certificates.server.cert,
    key: certificates.server.key,
    serverName: certificates.serverName,
    ca: certificates.ca,
    workerCert: certificates.worker.cert,
    workerKey: certificates.worker.key,
  };
  serverOptions = { binaries, databaseUrl: postgres.url, tls, log: (line) => console.log(line) };
  server = await startTemporalServer(serverOptions);
  stack = await TestStack.create({
    temporalAddress: server.address,
    temporalTls: { cert: certificates.client.cert, key: certificates.client.key, ca: certificates.ca, serverName: certificates.serverName },
    // Run events go to the same PostgreSQL, as the compose file's API does.
    apiEnv: { AO_DISPATCH_TIMEOUT_SECONDS: '3', DATABASE_URL: postgres.url },
  });
});

afterAll(async () => {
  await stack?.stop();
  await server?.stop();
  await postgres?.stop();
  if (certDir) await fs.rm(certDir, { recursive: true, force: true });
});

const started = (): TestStack => stack!;
const reasons = (run: RunView): string => run.history.map((change) => change.reason).join('\n');

describe('the Temporal server on PostgreSQL with mTLS', () => {
  it('refuses a client that presents no certificate, and one that speaks plaintext', async () => {
    const address = server!.address;
    const [ca, crt, key] = await Promise.all([certificates.ca, certificates.client.cert, certificates.client.key].map((file) => fs.readFile(file)));
    const serverNameOverride = certificates.serverName;
    // The same connection with the client certificate gets in: the certificate is what the server refuses without.
    const admitted = await connectWorker({ address, namespace: 'default', tls: { serverRootCACertificate: ca, clientCertPair: { crt: crt!, key: key! }, serverNameOverride } });
    await admitted.close();
    // TLS 1.3 asks for the client certificate after the handshake: the refusal reads as an alert or a closed stream.
    await expect(connectWorker({ address, namespace: 'default', tls: { serverRootCACertificate: ca!, serverNameOverride } })).rejects.toThrow(
      /CertificateRequired|connection closed|broken pipe|transport error/i,
    );
    await expect(connectWorker({ address, namespace: 'default' })).rejects.toThrow(/transport error|connection closed|broken pipe/i);
  });

  it('answers the README\'s example queries on PostgreSQL visibility', async () => {
    const readme = await fs.readFile(path.join(repoRoot, 'README.md'), 'utf8');
    const queries = [...readme.matchAll(/temporal workflow (?:list|count) -q '([^']+)'/g)].map((match) => match[1]!);
    expect(queries.length).toBeGreaterThan(4);
    for (const query of queries) {
      const { count } = await started().client.workflow.count(query);
      expect(count, query).toBeGreaterThanOrEqual(0);
    }
  });

  it('accepts its dynamic config: every key known, every value of the right type', async () => {
    const { stdout } = await promisify(execFile)(binaries.server, ['validate-dynamic-config', SERVER_DYNAMIC_CONFIG]);
    expect(stdout).not.toMatch(/error|warning/);
  });
});

describe('runs on the production topology', () => {
  it('leaves a hostile agent nothing to reach: not even the Temporal frontend, which wants a certificate', async () => {
    const tag = uniqueTag('prod-hostile');
    await started().addScriptAgent({ name: 'hostile', script_file: 'hostile.mjs', script_content: HOSTILE_SCRIPT });
    await started().startRunner({ profile: 'procedural', tags: [tag] });
    const other = await started().assignedRun();
    const targets = {
      api_url: started().apiUrl,
      files: [path.join(started().root, 'runner-token'), path.join(started().root, 'data', 'tokens.json')],
      dirs: [path.join(started().root, 'data')],
      other_run_id: other,
      temporal_address: server!.address,
      temporal_tls: true,
    };
    const { body: run } = await started().api<RunView>('POST', '/runs?wait=true', { body: { agent: 'hostile', parameters: { targets }, additional_demands: { tags: [tag] } } });
    expect(run.status, JSON.stringify(run.error)).toBe('completed');
    expectContained(parseHostileReport((run.result as { stdout: string }).stdout), 'procedural on mTLS', targets, { temporalOpen: false });
  });

  it('completes a run, and its workflow says in the Temporal UI what ran where', async () => {
    const tag = uniqueTag('prod-run');
    const { runnerId } = await started().startRunner({ tags: [tag] });
    const { body: run } = await started().api<RunView>('POST', '/runs?wait=true', {
      body: { agent: 'echo', prompt: 'summarise the *release* notes\nand more', additional_demands: { tags: [tag] } },
    });
    expect(run.status).toBe('completed');
    expect(run.runner_id).toBe(runnerId);

    const handle = started().client.workflow.getHandle(runWorkflowId(run.id));
    const description = await handle.describe();
    expect(run.temporal_ui_url).toBe(`http://127.0.0.1:8233/namespaces/${started().namespace}/workflows/${run.workflow_id}/${description.runId}/history`);
    expect(await description.staticSummary()).toBe('echo: “summarise the \\*release\\* notes…”');
    expect(await description.staticDetails()).toContain('**agent** echo');
    const { events } = await handle.fetchHistory();
    // Activities and local activities (resolving and picking run as one in the run's own workflow task: a marker) both say what they did.
    const summaries = (events ?? [])
      .filter((event) => (event.activityTaskScheduledEventAttributes || event.markerRecordedEventAttributes) && event.userMetadata?.summary)
      .map((event) => defaultPayloadConverter.fromPayload<string>(event.userMetadata!.summary!));
    expect(summaries).toContain('resolve agent echo (its demands, timeout and script), then pick a live runner that meets the demands and reserve a slot on it');
    expect(summaries).toContain(`run echo on runner ${runnerId} (profile echo, ${os.hostname()})`);

    const runner = await started().client.workflow.getHandle(runnerWorkflowId(runnerId)).describe();
    expect(await runner.staticSummary()).toBe(`runner ${runnerId}: echo on ${os.hostname()}`);
  });

  it('shows a run stopped on request as completed with its stopped state, not as a failure', async () => {
    const tag = uniqueTag('prod-stop');
    await started().startRunner({ tags: [tag] });
    const id = await started().postRun({ agent: 'echo', parameters: { sleep_ms: 120_000 }, additional_demands: { tags: [tag] } });
    const running = await started().waitForRun(id, (run) => run.status === 'running');
    const handle = started().client.workflow.getHandle(runWorkflowId(id));
    // The UI's "current details" of an open run: its status, why, and where.
    const { currentDetails } = await handle.query(workflowMetadataQuery);
    expect(currentDetails).toMatch(/^\*\*running\*\* — executor started/);
    expect(currentDetails).toContain(`runner ${running.runner_id}`);

    const { body: stopped } = await started().api<RunView>('POST', `/runs/${id}/stop?wait=true`, { body: { reason: 'not needed any more' } });
    expect(stopped.status).toBe('stopped');
    expect(stopped.error?.type).toBe('STOPPED');
    expect((await handle.describe()).status.name).toBe('COMPLETED');
    await expect(handle.result()).resolves.toMatchObject({ status: 'stopped', error: { type: 'STOPPED' } });
  });

  it('hands a run to another runner when its runner is killed with -9 and does not come back', async () => {
    const tag = uniqueTag('prod-gone');
    const doomed = await started().startRunner({ tags: [tag] });
    const id = await started().postRun({ agent: 'echo', parameters: { sleep_ms: 4_000 }, additional_demands: { tags: [tag] } });
    await started().waitForRun(id, (run) => run.status === 'running');
    await doomed.process.stop('SIGKILL');
    const survivor = await started().startRunner({ tags: [tag] });
    const run = await started().waitForRun(id, undefined, testTime(120_000));
    expect(run.status).toBe('completed');
    expect(run.runner_id).toBe(survivor.runnerId);
    expect(reasons(run)).toContain(`runner ${doomed.runnerId}`);
  });

  it('lists runs by status and agent through the search attributes of PostgreSQL visibility', async () => {
    const tag = uniqueTag('prod-list');
    await started().startRunner({ tags: [tag] });
    const { body: done } = await started().api<RunView>('POST', '/runs?wait=true', { body: { agent: 'echo', additional_demands: { tags: [tag] } } });
    const pending = await started().postRun({ agent: 'echo', additional_demands: { tags: [uniqueTag('nobody')] } });
    await started().api('POST', `/runs/${pending}/stop?wait=true`);

    // Visibility is written after the workflow task: eventually consistent.
    const listed = async (query: string): Promise<string[]> => {
      const { status, body } = await started().api<{ runs: RunSummary[] }>('GET', `/runs?${query}`);
      if (status !== 200) throw new Error(`GET /runs?${query} answered ${status}`);
      return body.runs.map((run) => run.id);
    };
    await eventually(async () => {
      expect(await listed(`status=completed&agent=echo&tag=${tag}`)).toEqual([done.id]);
      const stopped = await listed('status=stopped&agent=echo');
      expect(stopped).toContain(pending);
      expect(stopped).not.toContain(done.id);
    });
  });

  it('finishes a run when the Temporal server restarts in the middle of it', async () => {
    const tag = uniqueTag('prod-restart');
    await started().startRunner({ tags: [tag] });
    const id = await started().postRun({ agent: 'echo', parameters: { sleep_ms: 6_000 }, additional_demands: { tags: [tag] } });
    await started().waitForRun(id, (run) => run.status === 'running');

    const { ports } = server!;
    await server!.stop();
    server = await startTemporalServer({ ...serverOptions, ports });

    const run = await started().waitForRun(id, undefined, testTime(120_000));
    expect(run.status).toBe('completed');
    expect(run.result).toMatchObject({ echo: { parameters: { sleep_ms: 6_000 } } });
  });
});
