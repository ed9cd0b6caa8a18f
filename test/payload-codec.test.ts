import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { JSONPayload } from '@temporalio/common/lib/proto-utils.js';
import { InvalidEnvironmentError, parseEnv } from '../core/config/env.js';
import type { RunView } from '../core/contract/http.js';
import { TemporalEnv, temporalSettingsFromEnv } from '../core/temporal/connection.js';
import { AesGcmPayloadCodec, ENCRYPTED_ENCODING, KEY_ID_METADATA, parsePayloadKey } from '../core/temporal/payload-codec.js';
import { runWorkflowId } from '../workflows/messages.js';
import { TestStack, uniqueTag } from './support/stack.js';

const newKey = (id: string): string => `${id}:${crypto.randomBytes(32).toString('base64')}`;
const utf8 = (base64: string | null | undefined): string => Buffer.from(base64 ?? '', 'base64').toString('utf8');
const jsonPayload = (value: unknown) => ({ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(JSON.stringify(value)) });

describe('the payload codec', () => {
  const first = parsePayloadKey(newKey('k1'));
  const second = parsePayloadKey(newKey('k2'));

  it('encrypts a payload so its bytes hold none of the value, and decrypts it back', async () => {
    const codec = new AesGcmPayloadCodec(first);
    const [encrypted] = await codec.encode([jsonPayload({ prompt: 'a prompt nobody else reads' })]);
    expect(Buffer.from(encrypted!.metadata!.encoding!).toString()).toBe(ENCRYPTED_ENCODING);
    expect(Buffer.from(encrypted!.metadata![KEY_ID_METADATA]!).toString()).toBe('k1');
    expect(Buffer.from(encrypted!.data!).toString('latin1')).not.toContain('prompt');
    const [decrypted] = await codec.decode([encrypted!]);
    expect(JSON.parse(Buffer.from(decrypted!.data!).toString())).toEqual({ prompt: 'a prompt nobody else reads' });
  });

  it('decrypts payloads of a rotated-out key, encrypts with the new one, and passes plain payloads through', async () => {
    const [old] = await new AesGcmPayloadCodec(first).encode([jsonPayload('old')]);
    const rotated = new AesGcmPayloadCodec(second, [first]);
    const [fresh] = await rotated.encode([jsonPayload('new')]);
    expect(Buffer.from(fresh!.metadata![KEY_ID_METADATA]!).toString()).toBe('k2');
    const decoded = await rotated.decode([old!, fresh!, jsonPayload('plain')]);
    expect(decoded.map((payload) => JSON.parse(Buffer.from(payload.data!).toString()) as unknown)).toEqual(['old', 'new', 'plain']);
  });

  it('refuses a payload of a key it lacks, naming the key, and one that was tampered with', async () => {
    const [encrypted] = await new AesGcmPayloadCodec(first).encode([jsonPayload('x')]);
    await expect(new AesGcmPayloadCodec(second).decode([encrypted!])).rejects.toThrow(/key "k1", which this process does not have/);
    const tampered = { ...encrypted!, data: Buffer.from(encrypted!.data!).fill(0, 20, 21) };
    await expect(new AesGcmPayloadCodec(first).decode([tampered])).rejects.toThrow();
  });

  it('stops a process at start on a malformed key, naming the variable', () => {
    const parse = (env: NodeJS.ProcessEnv) => temporalSettingsFromEnv(parseEnv(TemporalEnv, env, 'the api'));
    expect(() => parse({ AO_PAYLOAD_KEY: 'k1:c2hvcnQ=' })).toThrow(InvalidEnvironmentError);
    expect(() => parse({ AO_PAYLOAD_KEY: 'k1:c2hvcnQ=' })).toThrow(/AO_PAYLOAD_KEY: key k1 is 5 bytes; AES-256 needs 32/);
    expect(() => parse({ AO_PAYLOAD_KEY: 'no-id-here' })).toThrow(/AO_PAYLOAD_KEY: write a key as <id>:<base64/);
    expect(parse({ AO_PAYLOAD_KEY: newKey('k1'), AO_PAYLOAD_DECRYPT_KEYS: `${newKey('k0')},${newKey('old')}` }).payloadCodec).toBeInstanceOf(AesGcmPayloadCodec);
  });
});

describe('a stack with AO_PAYLOAD_KEY set', () => {
  const firstKey = newKey('first');
  let stack: TestStack;
  let run: RunView;
  const prompt = `a prompt only the codec can read ${crypto.randomBytes(6).toString('hex')}`;

  beforeAll(async () => {
    stack = await TestStack.create({ env: { AO_PAYLOAD_KEY: firstKey } });
    const tag = uniqueTag('sealed');
    await stack.startRunner({ tags: [tag] });
    run = await stack.waitForRun(await stack.postRun({ agent: 'echo', prompt, parameters: { message: 'sealed parameter' }, additional_demands: { tags: [tag] } }));
  });
  afterAll(async () => {
    await stack?.stop();
  });

  /** The run's history as Temporal stores it, read by a client without the codec. */
  const rawHistory = async () => JSON.parse(JSON.stringify(await stack.client.workflow.getHandle(runWorkflowId(run.id)).fetchHistory())) as { events: Array<Record<string, { input?: { payloads: JSONPayload[] } }>> };
  const startInput = async (): Promise<JSONPayload> => (await rawHistory()).events[0]!.workflowExecutionStartedEventAttributes!.input!.payloads[0]!;

  it('stores the run’s input and result as ciphertext in the history, and the API still shows them', async () => {
    expect(run.status).toBe('completed');
    expect(run.result).toMatchObject({ echo: { prompt, parameters: { message: 'sealed parameter' } } });
    expect(run.parameters).toEqual({ message: 'sealed parameter' });
    const input = await startInput();
    expect(utf8(input.metadata?.encoding)).toBe(ENCRYPTED_ENCODING);
    expect(utf8(input.metadata?.[KEY_ID_METADATA])).toBe('first');
    const everything = JSON.stringify(await rawHistory(), (key, value: unknown) => (key === 'data' && typeof value === 'string' ? utf8(value) : value));
    expect(everything).not.toContain(prompt);
    expect(everything).not.toContain('sealed parameter');
  });

  it('decodes a stored payload through POST /codec/decode for a caller with the token, and refuses one without', async () => {
    const input = await startInput();
    const decoded = await stack.api<{ payloads: JSONPayload[] }>('POST', '/codec/decode', { body: { payloads: [input] } });
    expect(decoded.status).toBe(200);
    expect(utf8(decoded.body.payloads[0]!.metadata?.encoding)).toBe('json/plain');
    expect(JSON.parse(utf8(decoded.body.payloads[0]!.data))).toMatchObject({ run_id: run.id, prompt });
    const refused = await stack.api('POST', '/codec/decode', { body: { payloads: [input] }, token: null });
    expect(refused.status).toBe(401);
    expect((await stack.api('POST', '/codec/encode', { body: { payloads: [] }, token: 'not-the-token-of-this-api' })).status).toBe(401);
  });

  it('lets the Temporal CLI show the run decoded through the endpoint, with the token as its codec auth', async () => {
    const { stdout } = await promisify(execFile)(inject('temporalCli'), [
      'workflow', 'show', '--workflow-id', runWorkflowId(run.id), '--address', inject('temporalAddress'), '--namespace', stack.namespace,
      '--codec-endpoint', `${stack.apiUrl}/codec`, '--codec-auth', `Bearer ${stack.token}`, '--output', 'json',
    ]);
    // The CLI prints the decoded payloads in proto JSON: their data in base64.
    const shown = JSON.stringify(JSON.parse(stdout), (key, value: unknown) => (key === 'data' && typeof value === 'string' ? utf8(value) : value));
    expect(shown).toContain(prompt);
  });

  it('answers the Temporal UI’s CORS preflight without a token, and only for the UI’s origin', async () => {
    const preflight = (origin: string) =>
      fetch(`${stack.apiUrl}/codec/decode`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,x-namespace' } });
    const ui = await preflight('http://127.0.0.1:8233');
    expect(ui.status).toBe(204);
    expect(ui.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:8233');
    expect(ui.headers.get('access-control-allow-headers')).toContain('authorization');
    expect((await preflight('http://elsewhere.example')).headers.get('access-control-allow-origin')).toBeNull();
  });

  it('still shows and decodes the old run after the key is rotated, and encrypts with the new key', async () => {
    const rotated = await stack.startApi({ AO_PAYLOAD_KEY: newKey('second'), AO_PAYLOAD_DECRYPT_KEYS: firstKey });
    const { body: old } = await stack.api<RunView>('GET', `/runs/${run.id}`, { baseUrl: rotated });
    expect(old.result).toMatchObject({ echo: { prompt } });
    const decoded = await stack.api<{ payloads: JSONPayload[] }>('POST', '/codec/decode', { baseUrl: rotated, body: { payloads: [await startInput()] } });
    expect(JSON.parse(utf8(decoded.body.payloads[0]!.data))).toMatchObject({ prompt });
    const plain = { metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: Buffer.from('"x"').toString('base64') };
    const encoded = await stack.api<{ payloads: JSONPayload[] }>('POST', '/codec/encode', { baseUrl: rotated, body: { payloads: [plain] } });
    expect(utf8(encoded.body.payloads[0]!.metadata?.[KEY_ID_METADATA])).toBe('second');
    // An API that lacks the old key says which one it lacks.
    const lacking = await stack.startApi({ AO_PAYLOAD_KEY: newKey('third') });
    const refused = await stack.api<{ error: string }>('POST', '/codec/decode', { baseUrl: lacking, body: { payloads: [await startInput()] } });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatch(/key "first"/);
  });
});
