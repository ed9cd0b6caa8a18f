import { z } from 'zod';
import { ExecutorType } from './executor-profile.js';
import { Name, Tag } from './names.js';

/** What a run asks of the runner that executes it (design §3). */
export const Demands = z
  .object({
    hostname: z.string().min(1).optional(),
    project_dir: z.string().min(1).optional(),
    executor_profile: Name.optional(),
    executor_type: ExecutorType.optional(),
    tags: z.array(Tag).default([]),
  })
  .strict();
export type Demands = z.infer<typeof Demands>;
