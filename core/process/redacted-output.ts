import { Redactor, secretValues } from '../contract/secrets.js';

/**
 * Redacts everything this process prints, as a stream per output: its own log lines, errors it
 * prints on the way out, and what libraries print (the Temporal SDK's log included). The last line
 * of defence, installed first thing by every ao entry point; values are also redacted where they
 * are made. Returns the redactor: the process's environment secrets and the key shapes.
 */
export function redactProcessOutput(env: NodeJS.ProcessEnv = process.env): Redactor {
  const redactor = new Redactor(secretValues(env));
  for (const stream of [process.stdout, process.stderr]) {
    const filter = redactor.stream();
    const write = stream.write.bind(stream) as (chunk: string, callback?: (error?: Error | null) => void) => boolean;
    stream.write = ((chunk: string | Uint8Array, encoding?: BufferEncoding | ((error?: Error | null) => void), callback?: (error?: Error | null) => void) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString(typeof encoding === 'string' ? encoding : 'utf8');
      return write(filter.push(text), typeof encoding === 'function' ? encoding : callback);
    });
    // What was held back (an output that ended in the middle of what looked like a key) goes out at exit.
    process.once('exit', () => {
      const rest = filter.end();
      if (rest) write(rest);
    });
  }
  return redactor;
}
