export interface TerminalChunk {
  stream: 'stdout' | 'stderr';
  text: string;
}

/**
 * Terminal output on its way to a terminal: chunks wait here until a terminal is attached, then
 * go straight to it and are not kept. A long, chatty run costs the page the terminal's scrollback,
 * not an ever-growing list.
 */
export class TerminalFeed {
  private pending: TerminalChunk[] = [];
  private sink: ((chunk: TerminalChunk) => void) | undefined;

  push(chunk: TerminalChunk): void {
    if (this.sink) this.sink(chunk);
    else this.pending.push(chunk);
  }

  /** Sends what waited, then every new chunk, to `sink`; returns a function that detaches it. */
  attach(sink: (chunk: TerminalChunk) => void): () => void {
    this.sink = sink;
    for (const chunk of this.pending.splice(0)) sink(chunk);
    return () => {
      if (this.sink === sink) this.sink = undefined;
    };
  }
}
