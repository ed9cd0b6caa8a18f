import type { z } from 'zod';

export class InvalidEnvironmentError extends Error {
  constructor(readonly processName: string, readonly problems: string[]) {
    super(`invalid environment for ${processName}:\n  ${problems.join('\n  ')}`);
    this.name = 'InvalidEnvironmentError';
  }
}

/** Parses a process's environment once at start; every problem names its variable. */
export function parseEnv<T extends z.ZodType>(schema: T, env: NodeJS.ProcessEnv, processName: string): z.infer<T> {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  throw new InvalidEnvironmentError(
    processName,
    parsed.error.issues.map((issue) => `${issue.path.map(String).join('.') || '(environment)'}: ${issue.message}`),
  );
}
