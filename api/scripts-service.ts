import type { Client } from '@temporalio/client';
import { agentsUsingScript } from '../core/config/agents.js';
import { ConfigConflictError, ScriptNotFoundError } from '../core/contract/errors.js';
import { packScriptBundle } from '../core/config/script-bundle.js';
import { deleteScript, listScripts, loadScript, saveScript, scriptDir, type ScriptListing } from '../core/config/scripts.js';
import { ScriptDefinition, type Script } from '../core/contract/config-files.js';
import { type CreateScriptRequest, type UpdateScriptRequest } from '../core/contract/http.js';
import { RUNNER_WORKFLOW_TYPE, removeScriptsSignal, syncScriptsSignal } from '../workflows/messages.js';
import type { ConfigLock } from './config-lock.js';

/**
 * Scripts: files under the config dir, and every change signalled to every runner's workflow,
 * which installs or removes it on its runner. A runner that misses a signal (not registered yet,
 * or visibility lagging) still gets the script: it reconciles the whole list when it registers.
 */
export class ScriptsService {
  constructor(
    private readonly client: Client,
    private readonly configDir: string,
    private readonly lock: ConfigLock,
    private readonly log: (message: string) => void = console.error,
  ) {}

  list(): Promise<ScriptListing[]> {
    return listScripts(this.configDir);
  }

  get(name: string): Promise<Script> {
    return loadScript(this.configDir, name);
  }

  // Each change signals the runners before the lock is released, so signals reach them in the order of the changes.

  create(request: CreateScriptRequest): Promise<Script> {
    return this.lock.run(async () => {
      const exists = await loadScript(this.configDir, request.name).then(
        () => true,
        (error: unknown) => !(error instanceof ScriptNotFoundError),
      );
      if (exists) throw new ConfigConflictError(`script "${request.name}" already exists; change it with PATCH /scripts/${request.name}`);
      const { script_content: content, ...definition } = request;
      return this.announce(await saveScript(this.configDir, definition, content));
    });
  }

  /** Applies the given fields and removes the `cleared` ones (e.g. `parameters_schema`). */
  update(name: string, changes: UpdateScriptRequest, cleared: string[] = []): Promise<Script> {
    return this.lock.run(async () => {
      const current = await loadScript(this.configDir, name);
      const { script_content: content = current.script_content, ...definitionChanges } = changes;
      const { script_content: _content, version: _version, ...definition } = current;
      const merged: Record<string, unknown> = { ...definition, ...definitionChanges };
      for (const key of cleared) delete merged[key];
      return this.announce(await saveScript(this.configDir, ScriptDefinition.parse(merged), content));
    });
  }

  async delete(name: string): Promise<void> {
    await this.lock.run(async () => {
      const users = await agentsUsingScript(this.configDir, name);
      if (users.length) {
        throw new ConfigConflictError(`script "${name}" is used by agent(s) ${users.join(', ')}; change or delete them first`, { agents: users });
      }
      await deleteScript(this.configDir, name);
      await this.signalRunners((handle) => handle.signal(removeScriptsSignal, { names: [name] }));
    });
  }

  /** The script's bundle, with the version it was packed at. */
  async bundle(name: string): Promise<{ archive: Buffer; version: string }> {
    return this.lock.run(async () => {
      const script = await loadScript(this.configDir, name);
      return { archive: await packScriptBundle(scriptDir(this.configDir, name), script.script_file), version: script.version };
    });
  }

  private async announce(script: Script): Promise<Script> {
    await this.signalRunners((handle) => handle.signal(syncScriptsSignal, { scripts: [{ name: script.name, version: script.version }] }));
    return script;
  }

  /** Signals every running runner workflow, online or not: an offline runner catches up when it returns. */
  private async signalRunners(send: (handle: ReturnType<Client['workflow']['getHandle']>) => Promise<void>): Promise<void> {
    const query = `WorkflowType='${RUNNER_WORKFLOW_TYPE}' AND ExecutionStatus='Running'`;
    const sends: Array<Promise<void>> = [];
    for await (const execution of this.client.workflow.list({ query })) {
      sends.push(
        send(this.client.workflow.getHandle(execution.workflowId)).catch((error: unknown) => {
          // It reconciles when it next registers or within its reconcile interval.
          this.log(`could not signal ${execution.workflowId} about a script change: ${(error as Error).message}`);
        }),
      );
    }
    await Promise.all(sends);
  }
}
