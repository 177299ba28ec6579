// One watch on the namer: a kept-open HTTP GET whose response carries one
// document per line (empty lines are keep-alives). It reconnects with
// jittered backoff whenever the stream fails, ends, or goes silent for longer
// than the keep-alive timeout (a dead peer), and hands each document to its
// owner, who says whether it was a good one.
import type { Agent, ClientRequest, IncomingMessage } from "node:http";
import type { Logger } from "../../lib/log.ts";
import { forScheme } from "../../lib/node-http.ts";
import { backoffMs, type RetryPolicy } from "./backoff.ts";

export type WatchState = "connecting" | "streaming" | "backoff" | "closed";

export interface WatchHandlers {
  /** A non-empty line. Return true when it was a good document: that (like a keep-alive line) resets the backoff. */
  onDocument(line: string): boolean;
  /** The namer answered with a status other than 200 (the body, cut to 64 KiB). */
  onRefused?(status: number, body: string): void;
  /** The first good document or keep-alive after a failure (not the first ever). */
  onRecovered?(): void;
}

export interface WatchOptions {
  readonly url: URL;
  /** http.Agent or https.Agent, matching the URL. */
  readonly agent: Agent;
  readonly retry: RetryPolicy;
  readonly random: () => number;
  readonly logger: Logger;
  /** Connecting and getting the response head must take less than this (ms). */
  readonly connectTimeoutMs: number;
  /** A stream with no byte (document or keep-alive) for this long is dead (ms); 0 turns it off. */
  readonly keepAliveTimeoutMs: number;
  /** A longer line is garbage: the stream is dropped and reopened (bytes). */
  readonly maxDocumentBytes: number;
}

/** What a watch reports about itself (for admin pages and metrics). */
export interface WatchStatus {
  readonly state: WatchState;
  /** Failures since the last good document. */
  readonly failures: number;
  readonly lastError: string | undefined;
  /** Connections made that got a 200 (reconnects included). */
  readonly connections: number;
  /** Documents received, good and bad. */
  readonly documents: number;
  readonly rejectedDocuments: number;
}

const MAX_ERROR_BODY = 64 * 1024;
const NL = 0x0a;

export class NdjsonWatch {
  readonly #options: WatchOptions;
  readonly #handlers: WatchHandlers;
  #state: WatchState = "connecting";
  #request: ClientRequest | undefined;
  #timer: NodeJS.Timeout | undefined;
  #silence: NodeJS.Timeout | undefined;
  /** Bumped for every connection attempt; events of older attempts are ignored. */
  #generation = 0;
  #failures = 0;
  #lastError: string | undefined;
  #connections = 0;
  #documents = 0;
  #rejected = 0;

  constructor(options: WatchOptions, handlers: WatchHandlers) {
    this.#options = options;
    this.#handlers = handlers;
    this.#connect();
  }

  get status(): WatchStatus {
    return {
      state: this.#state,
      failures: this.#failures,
      lastError: this.#lastError,
      connections: this.#connections,
      documents: this.#documents,
      rejectedDocuments: this.#rejected,
    };
  }

  /** While waiting to reconnect, reconnect after `delayMs` instead, if that is sooner (another watch found the namer back). */
  retrySoon(delayMs: number): void {
    if (this.#state !== "backoff") return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#connect(), delayMs);
    this.#timer.unref();
  }

  close(): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    this.#generation++;
    clearTimeout(this.#timer);
    clearTimeout(this.#silence);
    this.#request?.destroy();
    this.#request = undefined;
  }

  #connect(): void {
    if (this.#state === "closed") return;
    const generation = ++this.#generation;
    const current = (): boolean => generation === this.#generation;
    this.#state = "connecting";
    const { url, agent, connectTimeoutMs } = this.#options;
    const request = forScheme(url.protocol).request(url, {
      agent,
      method: "GET",
      headers: { accept: "application/x-ndjson, application/json" },
    });
    this.#request = request;
    const connectTimer = setTimeout(() => {
      if (current()) this.#fail(generation, `no response within ${connectTimeoutMs} ms`);
    }, connectTimeoutMs);
    connectTimer.unref();
    request.on("socket", (socket) => {
      socket.setNoDelay(true);
      socket.setKeepAlive(true, 15_000);
    });
    request.on("error", (e) => {
      clearTimeout(connectTimer);
      if (current()) this.#fail(generation, e.message === "" ? String((e as NodeJS.ErrnoException).code ?? e) : e.message);
    });
    request.on("response", (response) => {
      clearTimeout(connectTimer);
      if (!current()) {
        response.destroy();
        return;
      }
      if (response.statusCode !== 200) this.#refused(generation, response);
      else this.#stream(generation, response);
    });
    request.end();
  }

  #refused(generation: number, response: IncomingMessage): void {
    const status = response.statusCode ?? 0;
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (): void => {
      if (generation !== this.#generation) return;
      const body = Buffer.concat(chunks).toString("utf8");
      this.#handlers.onRefused?.(status, body);
      this.#fail(generation, `the namer answered ${status}${body === "" ? "" : `: ${body.trim().slice(0, 300)}`}`);
    };
    response.on("data", (chunk: Buffer) => {
      if (size < MAX_ERROR_BODY) chunks.push(chunk.subarray(0, MAX_ERROR_BODY - size));
      size += chunk.length;
      if (size > MAX_ERROR_BODY) response.destroy();
    });
    response.on("end", finish);
    response.on("close", finish);
    response.on("error", () => undefined);
  }

  #stream(generation: number, response: IncomingMessage): void {
    this.#state = "streaming";
    this.#connections++;
    const current = (): boolean => generation === this.#generation;
    const { keepAliveTimeoutMs, maxDocumentBytes } = this.#options;
    const armSilence = (): void => {
      clearTimeout(this.#silence);
      if (keepAliveTimeoutMs <= 0) return;
      this.#silence = setTimeout(() => {
        if (current()) this.#fail(generation, `no document or keep-alive for ${keepAliveTimeoutMs} ms (dead peer?)`);
      }, keepAliveTimeoutMs);
      this.#silence.unref();
    };
    armSilence();
    let parts: Buffer[] = [];
    let partSize = 0;
    response.on("data", (chunk: Buffer) => {
      if (!current()) return;
      armSilence();
      let start = 0;
      for (let nl = chunk.indexOf(NL); nl >= 0; nl = chunk.indexOf(NL, start)) {
        const piece = chunk.subarray(start, nl);
        start = nl + 1;
        if (partSize + piece.length > maxDocumentBytes) {
          this.#fail(generation, `a document is longer than ${maxDocumentBytes} bytes`);
          return;
        }
        const line = (partSize === 0 ? piece : Buffer.concat([...parts, piece])).toString("utf8").trim();
        parts = [];
        partSize = 0;
        // An empty line is the namer's keep-alive: not a document, but proof the namer is there and well.
        if (line !== "") this.#document(line);
        else this.#healthy();
        if (!current()) return;
      }
      if (start < chunk.length) {
        partSize += chunk.length - start;
        if (partSize > maxDocumentBytes) {
          this.#fail(generation, `a document is longer than ${maxDocumentBytes} bytes`);
          return;
        }
        parts.push(chunk.subarray(start));
      }
    });
    response.on("end", () => {
      if (current()) this.#fail(generation, "the namer ended the stream");
    });
    response.on("close", () => {
      if (current()) this.#fail(generation, "the stream was cut");
    });
    response.on("error", (e) => {
      if (current()) this.#fail(generation, e.message);
    });
  }

  #document(line: string): void {
    this.#documents++;
    let good: boolean;
    try {
      good = this.#handlers.onDocument(line);
    } catch (e) {
      this.#options.logger.error({ err: e }, "a bind document handler failed");
      good = false;
    }
    if (!good) {
      this.#rejected++;
      return;
    }
    this.#healthy();
  }

  /** A good document or a keep-alive: the backoff starts over, and a watch that was failing says it recovered. */
  #healthy(): void {
    if (this.#failures === 0) return;
    this.#failures = 0;
    this.#lastError = undefined;
    this.#options.logger.info({ url: this.#options.url.href }, "namer watch recovered");
    this.#handlers.onRecovered?.();
  }

  #fail(generation: number, reason: string): void {
    if (generation !== this.#generation || this.#state === "closed") return;
    this.#generation++;
    clearTimeout(this.#silence);
    this.#request?.destroy();
    this.#request = undefined;
    const delay = backoffMs(this.#options.retry, this.#failures, this.#options.random);
    const log = { url: this.#options.url.href, reason, failures: this.#failures + 1, retryInMs: delay };
    // The first failure after a healthy stretch is worth a warning; the retries after it are not.
    if (this.#failures === 0) this.#options.logger.warn(log, "namer watch failed; keeping the last good value and reconnecting");
    else this.#options.logger.debug(log, "namer watch still failing");
    this.#failures++;
    this.#lastError = reason;
    this.#state = "backoff";
    this.#timer = setTimeout(() => this.#connect(), delay);
    this.#timer.unref();
  }
}
