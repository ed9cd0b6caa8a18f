import crypto from 'node:crypto';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';

const { Payload: PayloadMessage } = proto.temporal.api.common.v1;

/** The `encoding` of an encrypted payload, as the Temporal UI and CLI show it. */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
/** Metadata naming the key a payload was encrypted with, so old payloads decode after a rotation. */
export const KEY_ID_METADATA = 'encryption-key-id';
const CIPHER = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
/** Key ids go into payload metadata and error messages: a plain charset. */
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

export interface PayloadKey {
  id: string;
  key: Buffer;
}

export class PayloadKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PayloadKeyError';
  }
}

/** One key as written in the environment: `<id>:<32 bytes in base64>`. */
export function parsePayloadKey(text: string): PayloadKey {
  const at = text.indexOf(':');
  const id = text.slice(0, at);
  if (at < 1 || !KEY_ID.test(id)) throw new PayloadKeyError('write a key as <id>:<base64 of 32 random bytes>, the id in letters, digits, ".", "_" or "-"');
  const key = Buffer.from(text.slice(at + 1), 'base64');
  if (key.length !== KEY_BYTES) throw new PayloadKeyError(`key ${id} is ${key.length} bytes; AES-256 needs ${KEY_BYTES} (e.g. openssl rand -base64 32)`);
  return { id, key };
}

/** The work's answer, or its error as a rejection (the codec interface is asynchronous). */
const settle = <T>(work: () => T): Promise<T> => new Promise((resolve) => resolve(work()));

const text = (bytes: Uint8Array | null | undefined): string | undefined => (bytes ? Buffer.from(bytes).toString('utf8') : undefined);

/**
 * Encrypts every payload ao sends to Temporal (workflow and activity inputs and results, queries,
 * signals, heartbeat and failure details) with AES-256-GCM under the current key, its id in the
 * payload's metadata (also bound as additional data, so it cannot be swapped). Decrypts with
 * whichever of the keys the payload names; payloads that are not encrypted pass as they are.
 * Without a current key it only decrypts: how encryption is turned off with old payloads kept.
 */
export class AesGcmPayloadCodec implements PayloadCodec {
  private readonly keys: Map<string, Buffer>;

  constructor(private readonly current: PayloadKey | undefined, decryptOnly: readonly PayloadKey[] = []) {
    this.keys = new Map([...decryptOnly, ...(current ? [current] : [])].map(({ id, key }) => [id, key]));
  }

  encode(payloads: Payload[]): Promise<Payload[]> {
    const current = this.current;
    if (!current) return Promise.resolve(payloads);
    return settle(() =>
      payloads.map((payload) => {
        const iv = crypto.randomBytes(IV_BYTES);
        const cipher = crypto.createCipheriv(CIPHER, current.key, iv);
        cipher.setAAD(Buffer.from(current.id));
        const plain = PayloadMessage.encode(payload).finish();
        const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
        return {
          metadata: { [METADATA_ENCODING_KEY]: Buffer.from(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: Buffer.from(current.id) },
          data,
        };
      }),
    );
  }

  decode(payloads: Payload[]): Promise<Payload[]> {
    return settle(() =>
      payloads.map((payload) => {
        if (text(payload.metadata?.[METADATA_ENCODING_KEY]) !== ENCRYPTED_ENCODING) return payload;
        const id = text(payload.metadata?.[KEY_ID_METADATA]) ?? '';
        const key = this.keys.get(id);
        if (!key) throw new PayloadKeyError(`a payload is encrypted with key "${id}", which this process does not have (add it to AO_PAYLOAD_DECRYPT_KEYS)`);
        const data = Buffer.from(payload.data ?? new Uint8Array());
        const decipher = crypto.createDecipheriv(CIPHER, key, data.subarray(0, IV_BYTES));
        decipher.setAAD(Buffer.from(id));
        decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
        const plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
        return PayloadMessage.decode(plain);
      }),
    );
  }
}
