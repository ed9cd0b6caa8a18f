import fs from 'node:fs';
import path from 'node:path';
import { Name } from '../core/contract/names.js';
import type { Delivery } from '../core/contract/triggers.js';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../core/config/private-files.js';

/** How many deliveries `GET /triggers/:name/deliveries` shows, newest first. */
const LISTED = 200;

/**
 * Each trigger's signed deliveries and what they started, as JSON lines under
 * `<data dir>/triggers/<name>.jsonl` (mode 0600). Unsigned requests are not kept: anyone can send those.
 */
export class TriggerDeliveries {
  constructor(private readonly dir: string) {}

  static inDataDir(dataDir: string): TriggerDeliveries {
    return new TriggerDeliveries(path.join(dataDir, 'triggers'));
  }

  record(trigger: string, delivery: Delivery): void {
    fs.mkdirSync(this.dir, { recursive: true, mode: PRIVATE_DIR_MODE });
    fs.appendFileSync(this.file(trigger), `${JSON.stringify(delivery)}\n`, { mode: PRIVATE_FILE_MODE });
  }

  list(trigger: string): Delivery[] {
    let text: string;
    try {
      text = fs.readFileSync(this.file(trigger), 'utf8');
    } catch {
      return [];
    }
    return text.split('\n').filter(Boolean).slice(-LISTED).reverse().map((line) => JSON.parse(line) as Delivery);
  }

  private file(trigger: string): string {
    return path.join(this.dir, `${Name.parse(trigger)}.jsonl`);
  }
}
