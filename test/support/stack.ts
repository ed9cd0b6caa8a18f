import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@temporalio/client';
import { inject } from 'vitest';
import { isFinalRunStatus } from '../../core/contract/run-status.js';
import type { RunView } from '../../core/contract/http.js';
import { repoRoot } from '../../core/config/paths.js';
import { TemporalEnv, connectTemporal, temporalSettingsFromEnv } from '../../core/temporal/connection.js';
import { ensureNamespace } from '../../temporal-config/namespace.js';
import { CredentialStore, localRunnerToken } from '../../api/credentials.js';
import { startTsProcess, type TestProcess } from './process.js';
import { testTime } from './time.js';

export interface RunnerOptions {
  profile?: string;
  tags?: string[];
  requireMatchingTags?: boolean;
  capacity?: number;
  projectDir?: string;
  /** The runner's data dir (its event spool); a restarted runner passes the one it had. */
  dataDir?: string;
  extraArgs?: string[];
  env?: NodeJS.ProcessEnv;
}

export interface StackOptions {
  /** Reaches every process of the stack (e.g. AO_PAYLOAD_KEY); `apiEnv` the API processes only. */
  env?: NodeJS.ProcessEnv;
  /** Applied to every API process of the stack (e.g. DATABASE_URL). */
  apiEnv?: NodeJS.ProcessEnv;
  /** Another Temporal server than the shared dev server. */
  temporalAddress?: string;
  /** A client certificate for a Temporal server with mTLS; every process of the stack, and the test's client, present it. */
  temporalTls?: { cert: string; key: string; ca: string; serverName?: string };
  /** The workflow bundle the control worker runs; tests get the global setup's. */
  workflowBundle?: string;
}

/**
 * A whole ao system for one test file (or one recording of histories), in its own Temporal
 * namespace on the shared dev server: the control worker, the API and any number of runners,
 * each a real process.
 */
export class TestStack {
  readonly processes: TestProcess[] = [];
  apiUrl = '';
  /** The bootstrap admin token of the stack's API. */
  readonly token = crypto.randomBytes(18).toString('base64url');
  /** The runner credential every runner of the stack posts events with. */
  runnerToken = '';
  /** This stack's own config dir (agents, scripts), a copy of the checkout's. */
  get configDir(): string {
    return this.env.AO_CONFIG_DIR!;
  }

  private constructor(
    readonly namespace: string,
    readonly client: Client,
    readonly root: string,
    private readonly env: NodeJS.ProcessEnv,
    /** Applied to every API process of this stack (e.g. DATABASE_URL). */
    private readonly apiEnv: NodeJS.ProcessEnv,
    private readonly workflowBundle: string,
  ) {}

  /** Outside vitest (the history recorder) `temporalAddress` and `workflowBundle` must be given; tests get the global setup's. */
  static async create(options: StackOptions = {}): Promise<TestStack> {
    const address = options.temporalAddress ?? inject('temporalAddress');
    const namespace = `ao-test-${crypto.randomBytes(4).toString('hex')}`;
    const tlsEnv = options.temporalTls
      ? {
          TEMPORAL_TLS_CERT: options.temporalTls.cert,
          TEMPORAL_TLS_KEY: options.temporalTls.key,
          TEMPORAL_TLS_CA: options.temporalTls.ca,
          ...(options.temporalTls.serverName ? { TEMPORAL_TLS_SERVER_NAME: options.temporalTls.serverName } : {}),
        }
      : {};
    // The test's own client reaches Temporal the way every process of the stack does: through ao's TEMPORAL_* settings.
    const connection = await connectTemporal(temporalSettingsFromEnv(TemporalEnv.parse({ TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: namespace, ...tlsEnv })));
    await ensureNamespace(connection, namespace, 1);
    const client = new Client({ connection, namespace });
    await waitForNamespace(client);
    const root = await fs.mkdtemp(path.join(os.tmpdir(), `${namespace}-`));
    // Each stack edits its own copy of the shipped agents and scripts, never the checkout's.
    const configDir = path.join(root, 'config');
    await fs.cp(path.join(repoRoot, 'config'), configDir, { recursive: true });
    const env = { ...options.env, TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: namespace, ...tlsEnv, AO_DATA_DIR: path.join(root, 'data'), AO_CONFIG_DIR: configDir };
    const stack = new TestStack(namespace, client, root, env, options.apiEnv ?? {}, options.workflowBundle ?? inject('workflowBundle'));
    await stack.startControl();
    await stack.startApi();
    stack.runnerToken = localRunnerToken(CredentialStore.inDataDir(env.AO_DATA_DIR, stack.token), path.join(root, 'runner-token'), 'test-runners');
    return stack;
  }

  async startControl(): Promise<TestProcess> {
    const control = startTsProcess('control', 'workers/control.ts', [], { ...this.env, AO_WORKFLOW_BUNDLE: this.workflowBundle });
    this.processes.push(control);
    await control.waitFor(/control worker polling/);
    return control;
  }

  /** Starts an API process; the first one becomes the stack's default `apiUrl`. */
  async startApi(extraEnv: NodeJS.ProcessEnv = {}): Promise<string> {
    const api = startTsProcess('api', 'api/server.ts', [], {
      ...this.env,
      AO_API_PORT: '0',
      AO_API_TOKEN: this.token,
      AO_TEMPORAL_UI_URL: 'http://127.0.0.1:8233',
      ...this.apiEnv,
      ...extraEnv,
    });
    this.processes.push(api);
    const [, url] = await api.waitFor(/api listening on (http:\/\/\S+)/);
    this.apiUrl ||= url!;
    return url!;
  }

  /** The tag of the runner `assignedRun` uses, started on first use. */
  private eventRunnerTag: Promise<string> | undefined;

  /**
   * The id of a finished echo run that a runner of this stack executed: the stack's runner
   * credential may post events for it (the API accepts events only for runs assigned to the poster).
   */
  async assignedRun(): Promise<string> {
    const tag = await (this.eventRunnerTag ??= (async () => {
      const runnerTag = uniqueTag('events');
      await this.startRunner({ tags: [runnerTag] });
      return runnerTag;
    })());
    const id = await this.postRun({ agent: 'echo', prompt: 'a run to post events for', additional_demands: { tags: [tag] } });
    const run = await this.waitForRun(id);
    if (run.status !== 'completed') throw new Error(`run ${id} ended ${run.status}`);
    return id;
  }

  /** Creates a script and a procedural agent of the same name that runs it; throws unless both are created. */
  async addScriptAgent(script: { name: string; script_file: string; script_content: string; parameters_schema?: Record<string, unknown> }): Promise<void> {
    const created = await this.api('POST', '/scripts', { body: script });
    if (created.status !== 201) throw new Error(`script ${script.name}: POST /scripts answered ${created.status}: ${JSON.stringify(created.body)}`);
    const agent = await this.api('POST', '/agents', { body: { name: script.name, type: 'procedural', script: script.name } });
    if (agent.status !== 201) throw new Error(`agent ${script.name}: POST /agents answered ${agent.status}: ${JSON.stringify(agent.body)}`);
  }

  /** Starts a runner process and waits until it has registered. */
  async startRunner(options: RunnerOptions = {}): Promise<{ process: TestProcess; runnerId: string; projectDir: string; dataDir: string }> {
    const projectDir = options.projectDir ?? (await fs.mkdtemp(path.join(this.root, 'project-')));
    const dataDir = options.dataDir ?? (await fs.mkdtemp(path.join(this.root, 'runner-data-')));
    const args = [
      '--profile', options.profile ?? 'echo',
      '--project-dir', projectDir,
      ...(options.tags?.length ? ['--tags', options.tags.join(',')] : []),
      ...(options.requireMatchingTags ? ['--require-matching-tags'] : []),
      ...(options.capacity ? ['--capacity', String(options.capacity)] : []),
      '--drain-seconds', '5',
      '--api-url', this.apiUrl,
      '--data-dir', dataDir,
      ...(options.extraArgs ?? []),
    ];
    const runner = this.spawnRunner(args, { AO_API_TOKEN: this.runnerToken, ...options.env });
    const [, runnerId] = await runner.waitFor(/runner (\S+) registered/);
    return { process: runner, runnerId: runnerId!, projectDir, dataDir };
  }

  /** Starts a runner process without waiting, for tests of its refusals. */
  spawnRunner(args: string[], env: NodeJS.ProcessEnv = {}): TestProcess {
    const runner = startTsProcess('runner', 'workers/runner.ts', args, { ...this.env, ...env });
    this.processes.push(runner);
    return runner;
  }

  /** Calls the API with the stack's token (unless `token: null`). */
  async api<T = unknown>(
    method: string,
    route: string,
    options: { body?: unknown; token?: string | null; rawBody?: string; baseUrl?: string } = {},
  ) {
    const headers: Record<string, string> = {};
    const token = options.token === undefined ? this.token : options.token;
    if (token) headers.authorization = `Bearer ${token}`;
    if (options.body !== undefined || options.rawBody !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${options.baseUrl ?? this.apiUrl}${route}`, {
      method,
      headers,
      body: options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
  }

  /** Polls the run until `until` holds (default: it has ended), and returns it. */
  async waitForRun(id: string, until: (run: RunView) => boolean = (run) => isFinalRunStatus(run.status), timeoutMs = testTime(60_000)): Promise<RunView> {
    return eventually(async () => {
      const { status, body } = await this.api<RunView>('GET', `/runs/${id}`);
      if (status !== 200) throw new Error(`GET /runs/${id} answered ${status}`);
      if (!until(body)) throw new Error(`run ${id} is ${body.status} (${body.pending_reason ?? 'no reason'})`);
      return body;
    }, timeoutMs);
  }

  /** Posts a run and returns its id. */
  async postRun(body: Record<string, unknown>): Promise<string> {
    const { status, body: created } = await this.api<{ id: string }>('POST', '/runs', { body });
    if (status !== 201) throw new Error(`POST /runs answered ${status}: ${JSON.stringify(created)}`);
    return created.id;
  }

  async stop(): Promise<void> {
    await Promise.all(this.processes.map((process) => process.stop()));
    await this.client.connection.close();
    await fs.rm(this.root, { recursive: true, force: true });
  }
}

/** A tag no other test uses, so a test reaches only its own runners. */
export const uniqueTag = (label: string): string => `${label}-${crypto.randomBytes(3).toString('hex')}`;

/** A new namespace takes a moment to reach every service of the server. */
async function waitForNamespace(client: Client): Promise<void> {
  await eventually(async () => {
    await client.workflow.count("AoRunStatus='pending'");
  }, testTime(30_000));
}

/** Retries `check` until it stops throwing; for state that other processes change. */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = testTime(30_000), intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}
