import crypto from 'node:crypto';

const alnum = (length: number): string => {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from(crypto.randomBytes(length), (byte) => chars[byte % chars.length]).join('');
};
const upper = (length: number): string => Array.from(crypto.randomBytes(length), (byte) => 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[byte % 32]).join('');

/** One fresh, random value of each key shape ao redacts, made at test time (none is a real key). */
export function keyShapes(): Record<string, string> {
  return {
    anthropic: `sk-ant-api03-${alnum(40)}-${alnum(20)}`,
    openai: `sk-${alnum(20)}7${alnum(27)}`,
    'openai project': `sk-proj-${alnum(30)}_${alnum(20)}`,
    'github classic': `ghp_${alnum(36)}`,
    'github oauth': `gho_${alnum(36)}`,
    'github fine-grained': `github_pat_11${upper(20)}_${alnum(59)}`,
    'aws access key id': `AKIA${upper(16)}`,
    bearer: `Bearer ${alnum(24)}.${alnum(30)}`,
    'pem private key': `-----BEGIN RSA PRIVATE KEY-----\n${alnum(64)}\n${alnum(64)}\n-----END RSA PRIVATE KEY-----`,
  };
}

/** What must not be left of a key once it is redacted: its body (for a bearer token, the token). */
export const keyBody = (key: string): string => (key.startsWith('Bearer ') ? key.slice('Bearer '.length) : key.includes('\n') ? key.split('\n')[1]! : key);
