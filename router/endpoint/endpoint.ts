// The endpoint tier: one per upstream address, owning its connection pool
// (undici) and its in-flight count, and forwarding one attempt: request
// headers and body streamed up, response streamed back as it arrives,
// with backpressure both ways. An upstream that breaks off mid-response
// resets the downstream connection instead of ending it as if complete.
import type { IncomingMessage, ServerResponse } from "node:http";
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

  /** Forwards one attempt. Returns an abort function (for timeouts and clients that leave). */
  send(attempt: Attempt): (reason: Error) => void {
    this.#pending++;
    const res = attempt.res;
    let controller: Dispatcher.DispatchController | undefined;
    let abortReason: Error | undefined;
    let done = false;
    let released = false;
    let delivering = false;
    let requestSent = false;
    let responseStarted = false;
    // The load this endpoint carries lasts until the response is fully through, not just its head.
    const release = (): void => {
      if (released) return;
      released = true;
      this.#pending--;
    };
    const finish = (outcome: AttemptOutcome): void => {
      if (done) return;
      done = true;
      if (!delivering) release();
      attempt.onDone(outcome);
    };
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart: (c) => {
        controller = c;
        if (abortReason !== undefined) c.abort(abortReason);
      },
      onRequestSent: () => {
        requestSent = true;
      },
      onResponseStart: (c, status, headers) => {
        if (status < 200) return; // 1xx informational: the final head follows.
        responseStarted = true;
        const decision = attempt.onResponse(status, headers as Record<string, string | string[] | undefined>);
        if (!decision.deliver) {
          // Discarded (to be retried): settle the attempt first, then stop reading it
          // (undici reports the abort at once, and it must not count as a second outcome).
          finish({ kind: "response", status, headers: headers as Record<string, string | string[] | undefined> });
          c.abort(new Error("response discarded for a retry"));
          return;
        }
        delivering = true;
        try {
          // Head and body (often one chunk, then the end) leave in one write.
          res.cork();
          res.writeHead(status, decision.headers);
          process.nextTick(() => res.uncork());
        } catch (e) {
          // Invalid upstream header values must not crash the router.
          c.abort(e as Error);
          return;
        }
        finish({ kind: "response", status, headers: headers as Record<string, string | string[] | undefined> });
      },
      onResponseData: (c, chunk) => {
        if (!delivering) return;
        if (!res.write(chunk)) {
          c.pause();
          res.once("drain", () => c.resume());
        }
      },
      onResponseEnd: () => {
        release();
        if (delivering) res.end();
      },
      onResponseError: (_c, error) => {
        release();
        if (delivering) {
          // Headers are out: the only honest thing left is to reset the downstream connection.
          res.destroy(error);
          return;
        }
        finish({ kind: "error", error, requestSent, responseStarted });
      },
    };
    const body = attempt.body;
    try {
      this.#pool.dispatch(
        {
          method: attempt.method,
          path: attempt.path,
          headers: attempt.headers,
          body,
          // Not replayable on a new connection once sent; the router decides about retries itself.
          idempotent: false,
          blocking: true,
        },
        handler,
      );
    } catch (e) {
      finish({ kind: "error", error: e as Error, requestSent: false, responseStarted: false });
    }
    return (reason: Error) => {
      abortReason = reason;
      if (controller !== undefined && !controller.aborted) controller.abort(reason);
      if (!done) finish({ kind: "error", error: reason, requestSent, responseStarted });
      release();
    };
  }

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
