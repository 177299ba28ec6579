// The endpoint tier: one per upstream address, owning its connection pool
// (undici) and its in-flight count, and forwarding one attempt: request
// headers and body streamed up, response streamed back as it arrives,
// with backpressure both ways. An upstream that breaks off mid-response
// resets the downstream connection instead of ending it as if complete.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { createRequire } from "node:module";
import type { Dispatcher, Pool as PoolType } from "undici";
import type { Address } from "../../namer/namers/types.ts";
import type { BalancedEndpoint } from "../balancer/index.ts";
import type { FailureAccrual } from "../policy/index.ts";

// undici's own entry point loads all of undici (fetch, WebSocket, caches, mocks: some
// 13 MB of a router's resident memory); the router needs its connection pool only.
// The path is pinned by package-lock.json, and test/router/endpoint-pool.test.ts
// checks it still names undici's Pool.
const Pool = createRequire(import.meta.url)("undici/lib/dispatcher/pool.js") as typeof PoolType;

export interface EndpointOptions {
  /** Most connections to this endpoint (undefined: no limit). */
  readonly maxConnections?: number;
  /** Idle keep-alive connections are closed after this long (ms); keep it below the backend's own. */
  readonly keepAliveTimeoutMs: number;
  readonly connectTimeoutMs: number;
}

/** How an attempt ended, for the tiers above (classification, accrual, retries). */
export type AttemptOutcome =
  | { readonly kind: "response"; readonly status: number; readonly headers: Readonly<Record<string, string | string[] | undefined>> }
  | { readonly kind: "error"; readonly error: Error; readonly requestSent: boolean; readonly responseStarted: boolean };

/**
 * What the caller does with a response once its head arrives: deliver it
 * (headers to write downstream) or discard it (to retry elsewhere).
 */
export type ResponseDecision = { readonly deliver: true; readonly headers: string[] } | { readonly deliver: false };

export interface Attempt {
  readonly method: string;
  readonly path: string;
  readonly headers: string[];
  /** The body: the client's stream (not replayable), a buffer (replayable), or none. */
  readonly body: IncomingMessage | Buffer | null;
  readonly res: ServerResponse;
  /** Called with the response head; returns what to do with it. */
  onResponse(status: number, headers: Readonly<Record<string, string | string[] | undefined>>): ResponseDecision;
  /** Called once, when the attempt is over (delivered, discarded or failed). */
  onDone(outcome: AttemptOutcome): void;
}

/** An attempt under way, as the tier above holds it. */
export interface InFlight {
  /** Stops the attempt (its outcome: this error), unless it is already over. */
  abort(reason: Error): void;
}

/**
 * One attempt on the wire: undici's handler for it (request sent, response
 * head, body, end or error) and its handle. The endpoint's load lasts until
 * the response is fully through, not just its head.
 */
class Forward implements Dispatcher.DispatchHandler, InFlight {
  readonly #attempt: Attempt;
  readonly #unload: () => void;
  #controller: Dispatcher.DispatchController | undefined;
  #abortReason: Error | undefined;
  #done = false;
  #released = false;
  #delivering = false;
  #requestSent = false;
  #responseStarted = false;

  constructor(attempt: Attempt, unload: () => void) {
    this.#attempt = attempt;
    this.#unload = unload;
  }

  #release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#unload();
  }

  #finish(outcome: AttemptOutcome): void {
    if (this.#done) return;
    this.#done = true;
    if (!this.#delivering) this.#release();
    this.#attempt.onDone(outcome);
  }

  /** The dispatch itself threw: nothing was sent. */
  failed(error: Error): void {
    this.#finish({ kind: "error", error, requestSent: false, responseStarted: false });
  }

  abort(reason: Error): void {
    this.#abortReason = reason;
    const c = this.#controller;
    if (c !== undefined && !c.aborted) c.abort(reason);
    if (!this.#done) this.#finish({ kind: "error", error: reason, requestSent: this.#requestSent, responseStarted: this.#responseStarted });
    this.#release();
  }

  onRequestStart(c: Dispatcher.DispatchController): void {
    this.#controller = c;
    if (this.#abortReason !== undefined) c.abort(this.#abortReason);
  }

  onRequestSent(): void {
    this.#requestSent = true;
  }

  onResponseStart(c: Dispatcher.DispatchController, status: number, upstream: IncomingHttpHeaders): void {
    if (status < 200) return; // 1xx informational: the final head follows.
    this.#responseStarted = true;
    const headers = upstream as Record<string, string | string[] | undefined>;
    const decision = this.#attempt.onResponse(status, headers);
    if (!decision.deliver) {
      // Discarded (to be retried): settle the attempt first, then stop reading it
      // (undici reports the abort at once, and it must not count as a second outcome).
      this.#finish({ kind: "response", status, headers });
      c.abort(new Error("response discarded for a retry"));
      return;
    }
    this.#delivering = true;
    const res = this.#attempt.res;
    try {
      // Head and body (often one chunk, then the end) leave in one write.
      res.cork();
      res.writeHead(status, decision.headers);
      process.nextTick(uncork, res);
    } catch (e) {
      // Invalid upstream header values must not crash the router.
      c.abort(e as Error);
      return;
    }
    this.#finish({ kind: "response", status, headers });
  }

  onResponseData(c: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.#delivering) return;
    if (!this.#attempt.res.write(chunk)) {
      c.pause();
      this.#attempt.res.once("drain", () => c.resume());
    }
  }

  onResponseEnd(): void {
    this.#release();
    if (this.#delivering) this.#attempt.res.end();
  }

  onResponseError(_c: Dispatcher.DispatchController, error: Error): void {
    this.#release();
    if (this.#delivering) {
      // Headers are out: the only honest thing left is to reset the downstream connection.
      this.#attempt.res.destroy(error);
      return;
    }
    this.#finish({ kind: "error", error, requestSent: this.#requestSent, responseStarted: this.#responseStarted });
  }
}

function uncork(res: ServerResponse): void {
  res.uncork();
}

export class Endpoint implements BalancedEndpoint {
  readonly key: string;
  readonly address: Address;
  /** Whether this endpoint is taking traffic, from the responses it gave (circuit breaking). */
  readonly accrual: FailureAccrual;
  readonly #pool: PoolType;
  #pending = 0;
  #closed = false;

  constructor(address: Address, options: EndpointOptions, accrual: FailureAccrual) {
    this.address = address;
    this.accrual = accrual;
    const host = address.host.includes(":") ? `[${address.host}]` : address.host;
    this.key = `${host}:${address.port}`;
    this.#pool = new Pool(`http://${this.key}`, {
      ...(options.maxConnections === undefined ? {} : { connections: options.maxConnections }),
      keepAliveTimeout: options.keepAliveTimeoutMs,
      keepAliveMaxTimeout: options.keepAliveTimeoutMs,
      connectTimeout: options.connectTimeoutMs,
      // The router times requests itself (per attempt and in total); streamed bodies may be slow.
      headersTimeout: 0,
      bodyTimeout: 0,
      pipelining: 1,
    });
  }

  /** Requests in flight (the balancers' load). */
  get pending(): number {
    return this.#pending;
  }

  get weight(): number {
    const w = this.address.meta["weight"];
    return typeof w === "number" && w > 0 ? w : 1;
  }

  /** Set by the client around one pick: this endpoint already failed the request being retried. */
  excluded = false;

  available(now: number): boolean {
    return !this.excluded && this.accrual.available(now);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Forwards one attempt. Returns its handle, to abort it (timeouts, clients that leave). */
  send(attempt: Attempt): InFlight {
    this.#pending++;
    const forward = new Forward(attempt, this.#unload);
    try {
      this.#pool.dispatch(
        {
          method: attempt.method,
          path: attempt.path,
          headers: attempt.headers,
          body: attempt.body,
          // Not replayable on a new connection once sent; the router decides about retries itself.
          idempotent: false,
          blocking: true,
        },
        forward,
      );
    } catch (e) {
      forward.failed(e as Error);
    }
    return forward;
  }

  /** One request off this endpoint's load (shared by its attempts, made once). */
  readonly #unload = (): void => {
    this.#pending--;
  };

  /** Stops taking new work; in-flight requests finish (drained, not cut). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.close();
  }

  /** Cuts everything now (shutdown after the grace period). */
  async destroy(): Promise<void> {
    this.#closed = true;
    await this.#pool.destroy();
  }
}
