import crypto from 'node:crypto';
import { deleteTrigger, listTriggerNames, loadTrigger, saveTrigger } from '../core/config/triggers.js';
import { ConfigConflictError, RunAlreadyExistsError, TriggerNotFoundError } from '../core/contract/errors.js';
import { GitRef } from '../core/contract/names.js';
import { CreateRunRequest } from '../core/contract/http.js';
import { Trigger, type Delivery, type TriggerRule, type TriggerView, type UpdateTriggerRequest } from '../core/contract/triggers.js';
import { triggerOrigin } from '../workflows/messages.js';
import type { ConfigLock } from './config-lock.js';
import { HttpError } from './errors.js';
import type { RunsService } from './runs-service.js';
import type { TriggerDeliveries } from './trigger-deliveries.js';

/** `sha256=<hex>` of the HMAC-SHA256 of the raw body under the secret, as GitHub computes it. */
export function signatureOf(secret: string, body: Buffer | string): string {
  return `sha256=${crypto.createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Whether `header` is the body's signature, compared in constant time (a wrong length is refused first, which leaks only the length). */
export function signatureMatches(secret: string, body: Buffer, header: string | undefined): boolean {
  if (!header) return false;
  const expected = Buffer.from(signatureOf(secret, body));
  const given = Buffer.from(header);
  return given.length === expected.length && crypto.timingSafeEqual(given, expected);
}

/**
 * The run a delivery starts has an id made from it: a redelivery (same delivery id) maps to the
 * same id, and Temporal refuses a second start of it. The trigger's name is hashed in so two
 * triggers' deliveries never collide and the id stays a valid run id (≤ 61 characters).
 */
export const triggerRunId = (trigger: string, deliveryId: string): string =>
  `t-${crypto.createHash('sha256').update(trigger).digest('hex').slice(0, 8)}-${deliveryId}`;

/** The value at a dotted path of the payload. */
function valueAt(payload: unknown, path: string): unknown {
  let current = payload;
  for (const key of path.split('.')) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, key)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

function matches(rule: TriggerRule, event: string, payload: unknown): boolean {
  if (rule.event !== event) return false;
  return Object.entries(rule.when).every(([path, wanted]) => {
    const value = valueAt(payload, path);
    return Array.isArray(wanted) ? wanted.includes(value as never) : value === wanted;
  });
}

const asText = (value: unknown): string => (value === undefined || value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value));

export interface DeliveryRequest {
  event: string;
  deliveryId: string;
  body: Buffer;
  payload: unknown;
}

/** Triggers: files under the config dir, managed like agents; each delivery is checked, mapped to a run and recorded. */
export class TriggersService {
  constructor(
    private readonly configDir: string,
    private readonly lock: ConfigLock,
    private readonly runs: RunsService,
    private readonly deliveries: TriggerDeliveries,
  ) {}

  async list(): Promise<Array<TriggerView | { name: string; error: string }>> {
    return Promise.all(
      (await listTriggerNames(this.configDir)).map((name) =>
        this.get(name).catch((error: unknown) => ({ name, error: error instanceof Error ? error.message : String(error) })),
      ),
    );
  }

  async get(name: string): Promise<TriggerView> {
    return viewOf(await loadTrigger(this.configDir, name));
  }

  create(trigger: Trigger): Promise<TriggerView> {
    return this.lock.run(async () => {
      const exists = await loadTrigger(this.configDir, trigger.name).then(
        () => true,
        (error: unknown) => !(error instanceof TriggerNotFoundError),
      );
      if (exists) throw new ConfigConflictError(`trigger "${trigger.name}" already exists; change it with PATCH /triggers/${trigger.name}`);
      return viewOf(await saveTrigger(this.configDir, trigger));
    });
  }

  update(name: string, changes: UpdateTriggerRequest): Promise<TriggerView> {
    return this.lock.run(async () => {
      const parsed = Trigger.safeParse({ ...(await loadTrigger(this.configDir, name)), ...changes, name });
      if (!parsed.success) throw parsed.error;
      return viewOf(await saveTrigger(this.configDir, parsed.data));
    });
  }

  delete(name: string): Promise<void> {
    return this.lock.run(() => deleteTrigger(this.configDir, name));
  }

  listDeliveries(name: string): Promise<Delivery[]> {
    return loadTrigger(this.configDir, name).then(() => this.deliveries.list(name));
  }

  /**
   * One webhook delivery: refused (401, nothing started or recorded) unless signed with the
   * trigger's secret; else the first matching rule's run is started under an id made from the
   * delivery id, so a redelivery starts nothing new. Recorded with what it did.
   */
  async deliver(name: string, request: DeliveryRequest, signature: string | undefined, checkHeaders: () => void): Promise<Delivery> {
    const trigger = await loadTrigger(this.configDir, name);
    if (!signatureMatches(trigger.secret, request.body, signature)) {
      throw new HttpError(401, signature ? 'the X-Hub-Signature-256 signature does not match the body' : 'the delivery is not signed: send X-Hub-Signature-256: sha256=<HMAC-SHA256 of the body>');
    }
    checkHeaders();
    const received = { delivery_id: request.deliveryId, event: request.event, received_at: new Date().toISOString() };
    const index = trigger.rules.findIndex((rule) => matches(rule, request.event, request.payload));
    if (index < 0) return this.record(name, { ...received, outcome: 'ignored', reason: `no rule matches this ${request.event} event` });
    const rule = trigger.rules[index]!;
    const runRequest = this.runRequestOf(rule, request.payload);
    const runId = triggerRunId(name, request.deliveryId);
    try {
      await this.runs.create(runRequest, `trigger ${name}`, { runId, origin: triggerOrigin(name) });
    } catch (error) {
      if (error instanceof RunAlreadyExistsError) return this.record(name, { ...received, outcome: 'duplicate', run_id: runId, rule: index, reason: 'a redelivery: the run was started by the first delivery' });
      throw error;
    }
    return this.record(name, { ...received, outcome: 'started', run_id: runId, rule: index });
  }

  /** The run a rule asks for, filled from the payload and checked as `POST /runs` checks its body (400 on a bad value). */
  private runRequestOf(rule: TriggerRule, payload: unknown): CreateRunRequest {
    const parameters = { ...rule.parameters };
    for (const [parameter, path] of Object.entries(rule.parameters_from)) {
      const value = valueAt(payload, path);
      if (value !== undefined) parameters[parameter] = value;
    }
    let baseRef: string | undefined;
    if (rule.base_ref_from) {
      const parsed = GitRef.safeParse(valueAt(payload, rule.base_ref_from));
      if (!parsed.success) throw new HttpError(400, `the payload's ${rule.base_ref_from} is not a git ref`);
      baseRef = parsed.data;
    }
    const prompt = rule.prompt_template?.replace(/\{([A-Za-z0-9_.]+)\}/g, (_match, path: string) => asText(valueAt(payload, path)));
    return CreateRunRequest.parse({
      agent: rule.agent,
      parameters,
      ...(prompt !== undefined ? { prompt } : {}),
      ...(rule.additional_demands ? { additional_demands: rule.additional_demands } : {}),
      ...(baseRef ? { base_ref: baseRef } : {}),
    });
  }

  private record(name: string, delivery: Delivery): Delivery {
    this.deliveries.record(name, delivery);
    return delivery;
  }
}

function viewOf({ secret: _secret, ...trigger }: Trigger): TriggerView {
  return { ...trigger, secret_set: true, url: `/triggers/${trigger.name}` };
}
