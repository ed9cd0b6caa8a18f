import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * Works around a gemini CLI 0.61 bug in `session/load`: before it reads the session, the CLI
 * starts a fresh recording of the same session id in `session-<UTC minute>-<first 8 of the id>.jsonl`,
 * and when that is the name of the session's own file (a follow-up run in the minute the session
 * began) it appends an empty history to it, so the load finds nothing ("No previous sessions
 * found"). The session's file is renamed to an earlier minute first: gemini finds sessions by the
 * id inside the file, not by its name.
 */

const SESSION_FILE = /^session-(\d{4}-\d{2}-\d{2}T\d{2}-\d{2})-(.+)\.jsonl$/;
const MINUTE_MS = 60_000;

/** The minute as gemini writes it in a session file's name. */
const minuteOf = (at: Date): string => at.toISOString().slice(0, 16).replace(/:/g, '-');

export async function keepSessionFileApart(home: string, sessionId: string, now = new Date()): Promise<void> {
  const shortId = sessionId.slice(0, 8);
  const projects = path.join(home, '.gemini', 'tmp');
  const current = minuteOf(now);
  for (const project of await fs.readdir(projects).catch((): string[] => [])) {
    const chats = path.join(projects, project, 'chats');
    const files: string[] = await fs.readdir(chats).catch(() => []);
    for (const file of files) {
      const match = SESSION_FILE.exec(file);
      if (!match || match[2] !== shortId || match[1]! < current) continue;
      let back = 1;
      while (files.includes(`session-${minuteOf(new Date(now.getTime() - back * MINUTE_MS))}-${shortId}.jsonl`)) back += 1;
      await fs.rename(path.join(chats, file), path.join(chats, `session-${minuteOf(new Date(now.getTime() - back * MINUTE_MS))}-${shortId}.jsonl`));
    }
  }
}
