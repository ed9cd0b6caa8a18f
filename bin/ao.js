#!/usr/bin/env node
// The `ao` command: runs cli/main.ts through tsx (a runtime dependency), so it needs no build step.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
