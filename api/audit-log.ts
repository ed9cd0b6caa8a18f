import fs from 'node:fs';
import path from 'node:path';
import type { AuditEntry, Principal } from '../core/contract/identity.js';

/**
 * Every state change with who made it, appended as JSON lines to `<data dir>/audit.jsonl`
 * (mode 0600); an entry's id is its line number, so pages are stable.
 */
export class AuditLog {
  constructor(private readonly file: string) {}

  static inDataDir(dataDir: string): AuditLog {
    return new AuditLog(path.join(dataDir, 'audit.jsonl'));
  }

  record(actor: Pick<Principal, 'name'>, action: string, target: string, details?: Record<string, unknown>): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const line = JSON.stringify({ at: new Date().toISOString(), actor: actor.name, action, target, ...(details ? { details } : {}) });
    fs.appendFileSync(this.file, `${line}\n`, { mode: 0o600 });
  }

  page(after: number, limit: number): { entries: AuditEntry[]; next_after?: number } {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch {
      return { entries: [] };
    }
    const lines = text.split('\n').filter(Boolean);
    const entries = lines.slice(after, after + limit).map((line, index) => ({ id: after + index + 1, ...(JSON.parse(line) as Omit<AuditEntry, 'id'>) }));
    return { entries, ...(after + limit < lines.length ? { next_after: after + limit } : {}) };
  }
}
