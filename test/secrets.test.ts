import { describe, expect, it } from 'vitest';
import { REDACTED, Redactor, secretValues } from '../core/contract/secrets.js';
import { keyBody, keyShapes } from './support/key-shapes.js';

const streamed = (redactor: Redactor, chunks: string[]): string[] => {
  const stream = redactor.stream();
  return [...chunks.map((chunk) => stream.push(chunk)), stream.end()];
};

describe('redacting whole values', () => {
  it.each(Object.entries(keyShapes()))('redacts a %s wherever it stands in a text', (_name, key) => {
    const text = new Redactor().text(`before ${key} after`);
    expect(text).not.toContain(keyBody(key));
    expect(text).toMatch(/^before .*\[redacted\] after$/);
  });

  it('redacts project and service-account OpenAI keys that happen to hold no digit, whole and split across writes', () => {
    for (const key of ['sk-proj-KFCqmCpOarHIgnRPTAddmuuNpaOqsK_sQbDbTPcYDntPGnFhKOV', 'sk-svcacct-KFCqmCpOarHIgnRPTAddmuuNpaOqsK']) {
      expect(new Redactor().text(`key: ${key} end`)).toBe(`key: ${REDACTED} end`);
      expect(streamed(new Redactor(), [`key: ${key.slice(0, 5)}`, key.slice(5, 30), `${key.slice(30)} end`]).join('')).toBe(`key: ${REDACTED} end`);
    }
  });

  it('keeps the word Bearer and redacts only the token', () => {
    expect(new Redactor().text('Authorization: Bearer abc123def456ghi')).toBe(`Authorization: Bearer ${REDACTED}`);
  });

  it('leaves ordinary text alone: hyphenated words, task ids, certificates', () => {
    const text = 'disk-usage-report-for-all-machines task-12345678901234567890123 AKIAshort\n-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----';
    expect(new Redactor().text(text)).toBe(text);
  });

  it('redacts the values of secret-looking environment variables, raw and JSON-escaped', () => {
    const redactor = new Redactor(secretValues({ VENDOR_API_KEY: 'pa"ss\\word-123', HOME: '/root/somewhere', SHORT_TOKEN: 'abc' }));
    expect(redactor.text('key pa"ss\\word-123 in json {"k":"pa\\"ss\\\\word-123"} home /root/somewhere abc')).toBe(
      `key ${REDACTED} in json {"k":"${REDACTED}"} home /root/somewhere abc`,
    );
  });

  it('redacts a private key whose END line never came', () => {
    expect(new Redactor().text('key: -----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC')).toBe(`key: ${REDACTED}`);
  });

  it('redacts strings anywhere inside objects and arrays', () => {
    const { anthropic } = keyShapes();
    expect(new Redactor().value({ result: { items: [`k=${anthropic!}`, 3] }, ok: true })).toEqual({ result: { items: [`k=${REDACTED}`, 3] }, ok: true });
  });
});

describe('redacting a stream', () => {
  it('catches a secret printed in two writes', () => {
    const redactor = new Redactor(['hunter2-correct-horse']);
    const out = streamed(redactor, ['my secret is hunter2-corr', 'ect-horse, done\n']);
    expect(out.join('')).toBe(`my secret is ${REDACTED}, done\n`);
    expect(out[0]).toBe('my secret is ');
  });

  it.each(Object.entries(keyShapes()))('catches a %s split across two writes', (_name, key) => {
    const half = Math.floor(key.length / 2);
    const out = streamed(new Redactor(), [`x ${key.slice(0, half)}`, `${key.slice(half)} y\n`]).join('');
    expect(out).not.toContain(keyBody(key).slice(-8));
    expect(out).toContain(REDACTED);
    expect(out.endsWith(' y\n')).toBe(true);
  });

  it('catches a key that arrives one character at a time', () => {
    const { 'github classic': key } = keyShapes();
    const out = streamed(new Redactor(), [...`token ${key!} ok\n`]).join('');
    expect(out).toBe(`token ${REDACTED} ok\n`);
  });

  it('shows ordinary output at once, holding nothing back', () => {
    const stream = new Redactor(['hunter2-correct-horse']).stream();
    expect(stream.push('building…\n')).toBe('building…\n');
    expect(stream.push('step 1 of 3 done')).toBe('step 1 of 3 done');
  });

  it('lets go of a held-back tail at the end of the stream when it was no secret after all', () => {
    const out = streamed(new Redactor(['hunter2-correct-horse']), ['the word is hunter']);
    expect(out).toEqual(['the word is ', 'hunter']);
  });
});
