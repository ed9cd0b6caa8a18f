/**
 * Where `secret` occurs in a recorded history's JSON, as a path, or undefined. Payloads are base64
 * there, so every string is searched both as it is and decoded.
 */
export function findSecret(value: unknown, secret: string, at = '$'): string | undefined {
  if (typeof value === 'string') {
    return value.includes(secret) || Buffer.from(value, 'base64').toString('utf8').includes(secret) ? at : undefined;
  }
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = findSecret(item, secret, `${at}[${index}]`);
      if (found) return found;
    }
  } else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const found = findSecret(item, secret, `${at}.${key}`);
      if (found) return found;
    }
  }
  return undefined;
}
