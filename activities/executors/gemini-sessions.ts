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
/** Gemini's session ids are UUIDs; anything else names no file of ours. */
const SESSION_ID = /^[0-9A-Za-z-]{8,}$/;
const MINUTE_MS = 60_000;

/** The minute as gemini writes it in a session file's name. */
const minuteOf = (at: Date): string => at.toISOString().slice(0, 16).replace(/:/g, '-');
/** The name of a session's file begun at `at`. */
export const sessionFileName = (at: Date, sessionId: string): string => `session-${minuteOf(at)}-${sessionId.slice(0, 8)}.jsonl`;

export async function keepSessionFileApart(home: string, sessionId: string, now = new Date()): Promise<void> {
  if (!SESSION_ID.test(sessionId)) return;
  const shortId = sessionId.slice(0, 8);
  const projects = path.join(home, '.gemini', 'tmp');
  const current = minuteOf(now);
  for (const project of await fs.readdir(projects).catch((): string[] => [])) {
    const chats = path.join(projects, project, 'chats');
    const files: string[] = await fs.readdir(chats).catch(() => []);
    for (const file of files) {
      const match = SESSION_FILE.exec(file);
      if (!match || match[2] !== shortId || match[1]! < current) continue;
      const earlier = (minutes: number): string => sessionFileName(new Date(now.getTime() - minutes * MINUTE_MS), sessionId);
      let back = 1;
      while (files.includes(earlier(back))) back += 1;
      await fs.rename(path.join(chats, file), path.join(chats, earlier(back)));
    }
  }
}
