import { z } from 'zod';

/** Identifiers users and ao give things, each pattern defined once. */

/** A user-given name that may become a folder name: no separators, no dot-dot, a sane charset. */
export const Name = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'use letters, digits, ".", "_" or "-", starting with a letter or digit')
  .refine((name) => !name.includes('..'), 'must not contain ".."');
export type Name = z.infer<typeof Name>;

export const Tag = z.string().min(1).max(64).regex(/^[A-Za-z0-9._:/-]+$/, 'tags use letters, digits and . _ : / -');

export const SessionId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'use letters, digits, ".", "_" or "-"');

/** Run ids are letters, digits and dashes: safe as file names, branch names and workflow id suffixes. */
const RUN_ID_PATTERN = /^[A-Za-z0-9-]{1,64}$/;
export const RunId = z.string().regex(RUN_ID_PATTERN, 'not a run id');
export const isRunId = (value: string): boolean => RUN_ID_PATTERN.test(value);

/** Runner ids are `<host>.<profile>.<hash>`; profile names may carry capitals and underscores. */
export const RunnerId = z.string().regex(/^[A-Za-z0-9._-]{1,160}$/, 'not a runner id');

/** A git ref a run may name: a branch, tag or commit, never an option. */
export const GitRef = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._/@^~-]{0,199}$/, 'not a git ref');
