// Watch streams: a chunked HTTP response that stays open and carries one
// complete document per line (newline-delimited JSON, or dtab text), as
// namerd's `?watch=true` does. Slow readers never make memory grow: while the
// socket is backed up only the latest document is kept, because each document
// is a full state and the latest one supersedes the rest.
import type { FastifyReply, FastifyRequest } from "fastify";

export interface StreamOptions {
  readonly contentType: string;
  /** Write an empty line after this much silence (ms) so dead peers are noticed; 0 disables. */
  readonly keepAliveMs: number;
  /** Drop a document identical to the one before it (namerd does). */
  readonly dedupe?: boolean;
}

/** Every open stream, so a shutting-down server can end them before it closes. */
export class StreamRegistry {
  readonly #open = new Set<DocumentStream>();

  get size(): number {
    return this.#open.size;
  }

  add(stream: DocumentStream): void {
    this.#open.add(stream);
  }

  delete(stream: DocumentStream): void {
    this.#open.delete(stream);
  }

  closeAll(): void {
    for (const s of [...this.#open]) s.close();
  }
}

export class DocumentStream {
  readonly #reply: FastifyReply;
  readonly #options: StreamOptions;
  readonly #registry: StreamRegistry;
  readonly #cleanups: (() => void)[] = [];
  #last: string | undefined;
  #pending: string | undefined;
  #closed = false;
  #keepAlive: NodeJS.Timeout | undefined;

  constructor(request: FastifyRequest, reply: FastifyReply, registry: StreamRegistry, options: StreamOptions) {
    this.#reply = reply;
    this.#options = options;
    this.#registry = registry;
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      "content-type": options.contentType,
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
    });
    raw.flushHeaders();
    request.raw.socket.setKeepAlive(true, 30_000);
    request.raw.socket.setNoDelay(true);
    const onGone = (): void => this.close();
    raw.on("close", onGone);
    raw.on("error", onGone);
    raw.on("drain", () => this.#flushPending());
    registry.add(this);
    this.#armKeepAlive();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Runs `fn` when the stream closes (client gone, server shutting down). */
  onClose(fn: () => void): void {
    if (this.#closed) fn();
    else this.#cleanups.push(fn);
  }

  /** Sends one document (without its newline). */
  send(document: string): void {
    if (this.#closed) return;
    if (this.#options.dedupe !== false && document === (this.#pending ?? this.#last)) return;
    if (this.#reply.raw.writableNeedDrain) {
      this.#pending = document;
      return;
    }
    this.#write(document);
  }

  #write(document: string): void {
    this.#last = document;
    this.#reply.raw.write(document + "\n");
    this.#armKeepAlive();
  }

  #flushPending(): void {
    const pending = this.#pending;
    this.#pending = undefined;
    if (pending !== undefined && !this.#closed) this.#write(pending);
  }

  #armKeepAlive(): void {
    if (this.#keepAlive !== undefined) clearTimeout(this.#keepAlive);
    if (this.#options.keepAliveMs <= 0 || this.#closed) return;
    this.#keepAlive = setTimeout(() => {
      if (this.#closed) return;
      if (!this.#reply.raw.writableNeedDrain) this.#reply.raw.write("\n");
      this.#armKeepAlive();
    }, this.#options.keepAliveMs);
    this.#keepAlive.unref();
  }

  /** Ends the response (after writing `finalLine`, e.g. an error message, when given). */
  close(finalLine?: string): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#keepAlive !== undefined) clearTimeout(this.#keepAlive);
    this.#registry.delete(this);
    for (const fn of this.#cleanups.splice(0)) {
      try {
        fn();
      } catch {
        // A failing cleanup must not keep the others from running.
      }
    }
    const raw = this.#reply.raw;
    if (!raw.destroyed && !raw.writableEnded) raw.end(finalLine === undefined ? undefined : finalLine + "\n");
  }
}
