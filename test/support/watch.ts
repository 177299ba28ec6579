// Reading a watch stream (newline-delimited documents over a kept-open HTTP
// response) in tests: collect lines as they arrive and wait for the ones
// expected, with a time limit.
export class WatchStream {
  readonly lines: string[] = [];
  readonly #controller = new AbortController();
  #ended = false;
  #error: unknown;
  status = 0;
  contentType = "";

  private constructor() {}

  /** Opens `url` and starts collecting non-empty lines (empty ones are keep-alives). */
  static async open(url: string, headers: Record<string, string> = {}, options: { keepEmpty?: boolean } = {}): Promise<WatchStream> {
    const w = new WatchStream();
    const response = await fetch(url, { headers, signal: w.#controller.signal });
    w.status = response.status;
    w.contentType = response.headers.get("content-type") ?? "";
    if (response.body === null) throw new Error("no response body");
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    void (async () => {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let nl: number;
          while ((nl = buffer.indexOf("\n")) >= 0) {
            const line = buffer.slice(0, nl);
            buffer = buffer.slice(nl + 1);
            if (line !== "" || options.keepEmpty === true) w.lines.push(line);
          }
        }
      } catch (e) {
        w.#error = e;
      } finally {
        w.#ended = true;
      }
    })();
    return w;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Waits until at least `count` lines arrived; returns them. */
  async waitForCount(count: number, timeoutMs = 10_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length < count) {
      if (this.#ended) throw new Error(`stream ended after ${this.lines.length} lines (wanted ${count}): ${String(this.#error ?? "")}\n${this.lines.join("\n")}`);
      if (Date.now() > deadline) throw new Error(`timed out with ${this.lines.length} of ${count} lines:\n${this.lines.join("\n")}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.lines.slice();
  }

  /** Waits until some line satisfies `test`; returns it. */
  async waitFor(test: (line: string) => boolean, timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.find(test);
      if (found !== undefined) return found;
      if (this.#ended) throw new Error(`stream ended without the expected line:\n${this.lines.join("\n")}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for a line; got:\n${this.lines.join("\n")}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Waits for the server to end the stream. */
  async waitEnded(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#ended) {
      if (Date.now() > deadline) throw new Error("stream did not end");
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  close(): void {
    this.#controller.abort();
  }
}
