import { z } from 'zod';
import { Demands } from './demands.js';
import { Name } from './names.js';

/** Webhook triggers: a signed forge event (GitHub's format) starts a run, mapped by a trigger definition. */

/** The header GitHub signs a delivery with: `sha256=<hex HMAC-SHA256 of the raw body>`. */
export const SIGNATURE_HEADER = 'x-hub-signature-256';
export const EVENT_HEADER = 'x-github-event';
export const DELIVERY_HEADER = 'x-github-delivery';
/** The largest webhook body a trigger reads (413 above it); GitHub's own payloads stay far below. */
export const MAX_TRIGGER_BODY_BYTES = 1024 * 1024;

export const EventName = z.string().regex(/^[a-z_]{1,64}$/, 'a GitHub event name such as push or pull_request');
/** GitHub's delivery ids are GUIDs; letters, digits and `-` keep them valid inside a run id. */
export const DeliveryId = z.string().regex(/^[A-Za-z0-9-]{1,50}$/, 'a delivery id of 1 to 50 letters, digits or "-"');

/** A dotted path into the payload: `pull_request.head.sha`. */
export const PayloadPath = z.string().regex(/^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+){0,15}$/, 'a dotted path into the payload, e.g. pull_request.head.sha');

const ConditionValue = z.union([z.string().max(500), z.number(), z.boolean()]);

/**
 * One mapping: when an event of this type whose payload matches `when` arrives, start a run of
 * `agent`. The first rule that matches wins; an event no rule matches starts nothing.
 */
export const TriggerRule = z
  .object({
    event: EventName,
    /** Payload path → the value it must have, or one of a list (`{"action": ["opened", "synchronize"]}`). */
    when: z.record(PayloadPath, z.union([ConditionValue, z.array(ConditionValue).min(1).max(50)])).default({}),
    agent: Name,
    parameters: z.record(z.string(), z.unknown()).default({}),
    /** Parameter → payload path whose value it takes (`{"sha": "after"}`). */
    parameters_from: z.record(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/), PayloadPath).default({}),
    /** The prompt, with `{payload.path}` replaced by the payload's values: `Review PR #{number}: {pull_request.title}`. */
    prompt_template: z.string().max(20_000).optional(),
    additional_demands: Demands.partial().strict().optional(),
    /** The payload path of the commit the run starts from (`after` for a push, `pull_request.head.sha` for a pull request). */
    base_ref_from: PayloadPath.optional(),
  })
  .strict();
export type TriggerRule = z.infer<typeof TriggerRule>;

/** The shared secret GitHub signs with: write-only, never answered, redacted wherever it could show. */
export const TriggerSecret = z.string().min(16, 'the secret must be at least 16 characters').max(256);

export const TriggerFields = z.object({
  name: Name,
  description: z.string().max(2000).optional(),
  secret: TriggerSecret,
  rules: z.array(TriggerRule).min(1).max(50),
});

/** `config/triggers/<name>.json` (mode 0600: it holds the secret) and `POST /triggers` body. */
export const Trigger = TriggerFields.strict().meta({ id: 'Trigger' });
export type Trigger = z.infer<typeof Trigger>;
export const CreateTriggerRequest = Trigger;

/** `PATCH /triggers/:name`: any field but the name (a new `secret` replaces the old one). */
export const UpdateTriggerRequest = TriggerFields.omit({ name: true }).partial().strict().meta({ id: 'UpdateTriggerRequest' });
export type UpdateTriggerRequest = z.infer<typeof UpdateTriggerRequest>;

/** A trigger as the API shows it: everything but its secret. */
export const TriggerView = TriggerFields.omit({ secret: true }).extend({ secret_set: z.literal(true), url: z.string() }).meta({ id: 'TriggerView' });
export type TriggerView = z.infer<typeof TriggerView>;
export const TriggerList = z.object({ triggers: z.array(z.union([TriggerView, z.object({ name: z.string(), error: z.string() })])) }).meta({ id: 'TriggerList' });

/** What a delivery did: started a run, was a redelivery of one that had (`duplicate`), or matched no rule. */
export const DELIVERY_OUTCOMES = ['started', 'duplicate', 'ignored'] as const;
export const Delivery = z
  .object({
    delivery_id: z.string(),
    event: z.string(),
    received_at: z.string(),
    outcome: z.enum(DELIVERY_OUTCOMES),
    run_id: z.string().optional(),
    /** The index of the rule that matched. */
    rule: z.number().int().optional(),
    reason: z.string().optional(),
  })
  .meta({ id: 'Delivery' });
export type Delivery = z.infer<typeof Delivery>;
export const DeliveryList = z.object({ deliveries: z.array(Delivery) }).meta({ id: 'DeliveryList' });

/** A webhook body: a JSON object (GitHub sends `application/json` when the hook is set so). */
export const WebhookPayload = z.record(z.string(), z.unknown()).meta({ id: 'WebhookPayload' });
