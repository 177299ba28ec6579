// One request's journey through the logical tier, the router's one retry
// authority: deadline and total timeout, fault injection, the replayable
// body, then attempts — each picking a branch of the bound tree, a client
// and an endpoint — classified on their response: delivered, or discarded
// and retried within the service's budget (after its backoff); connections
// that failed before anything was written are requeued from the client's
// own budget whatever the method.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Dtab, Path } from "../../dtab/index.ts";
import type { Binding, BoundLeaf } from "../../namer/interpreter/interpreter.ts";
import type { ConcreteClient } from "../concrete/client.ts";
import type { AttemptOutcome, Endpoint, InFlight } from "../endpoint/endpoint.ts";
import { RouterError } from "../errors.ts";
import { forwardResponseHeaders } from "../http/edge.ts";
import { respondError } from "../http/respond.ts";
import { monotonicNow, type ServicePolicy } from "../policies.ts";
import type { ServiceStats } from "../telemetry/metrics.ts";
import { pickLeaf, type SplitSequence } from "./split.ts";
import {
  DEADLINE_HEADER,
  L5D_RETRYABLE,
  isExpired,
  isRequeueable,
  readDeadlineHeader,
  remainingMs,
  requestDeadline,
  showDeadline,
  successClassHeader,
  type Backoff,
  type Deadline,
  type FailureKind,
} from "../policy/index.ts";

/** What the exchange needs from its router. */
export interface ExchangeContext {
  /** The concrete client for a bound leaf (created on first use). */
  client(leaf: BoundLeaf): ConcreteClient;
  /** The current binding of the request's name (it may change between attempts). */
  binding(): Binding;
  /** For fault injection. */
  readonly random: () => number;
  /** The points that choose the branch of a weighted union, one per attempt (shared by the name's requests). */
  readonly split: SplitSequence;
  readonly clearContext: boolean;
  noRoute(what: string): RouterError;
  /** The logical name's statistics, and the server (ip:port) the request came in on. */
  readonly stats: ServiceStats;
  readonly server: string;
  /** Called once, when the request is answered (access log, span). */
  finished(result: ExchangeResult): void;
}

/** How a request ended, for the access log and its span. */
export interface ExchangeResult {
  readonly status: number;
  readonly success: boolean;
  readonly seconds: number;
  /** The last attempt's client (bound name), if an attempt got that far. */
  readonly client: string | undefined;
  readonly retries: number;
  /** The router's own error, when it answered instead of an upstream. */
  readonly error: string | undefined;
}

export interface ExchangeRequest {
  readonly name: Path;
  readonly path: string;
  readonly requestDtab: Dtab;
  /** Upstream request headers without the per-attempt ones (l5d-dst-client, l5d-dst-residual, deadline). */
  readonly headers: string[];
  /** Headers added to the response (l5d-dst-service, l5d-reqid). */
  readonly responseHeaders: string[];
  readonly policy: ServicePolicy;
}

/** The status metrics and the access log give a request whose client left before the answer (nginx's 499). */
export const CLIENT_CLOSED_REQUEST = 499;

/** Enough attempts to survive an outage within budget, never a runaway loop. */
const MAX_ATTEMPTS = 25;

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers["content-length"];
  return req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

/** Reads a body of known, small size fully, so attempts can send it again. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.destroy();
        reject(new RouterError("ROUTER_ERR_BAD_REQUEST", "the request body is longer than its Content-Length"));
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks, size)));
    req.on("error", reject);
  });
}

function failureKind(error: Error, requestSent: boolean, timedOut: boolean): FailureKind {
  if (timedOut) return "attempt-timeout";
  const text = `${(error as NodeJS.ErrnoException).code ?? ""} ${error.name} ${error.message}`;
  if (!requestSent && /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|EADDRNOTAVAIL|ConnectTimeout|UND_ERR_CONNECT/i.test(text)) return "connect";
  if (/HPE_|UND_ERR_INFO|protocol|parse/i.test(text)) return "protocol";
  return "connection-closed";
}

/** Response headers from upstream not passed on: to an untrusted client, any l5d- context. */
function responseDropUntrusted(lowerName: string): boolean {
  return lowerName.startsWith("l5d-");
}

/** To a trusted one, those this router sets itself (and upstream's retryable verdict, consumed here). */
function responseDropTrusted(lowerName: string): boolean {
  return lowerName.startsWith("l5d-dst-") || lowerName === "l5d-reqid" || lowerName === L5D_RETRYABLE;
}

class AttemptTimeout extends Error {
  override readonly name = "AttemptTimeout";
}

export class Exchange {
  readonly #ctx: ExchangeContext;
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  readonly #r: ExchangeRequest;
  readonly #method: string;
  #body: IncomingMessage | Buffer | null = null;
  #replayable = true;
  #deadline: Deadline | undefined;
  #totalTimer: NodeJS.Timeout | undefined;
  #backoff: Backoff | undefined;
  #attempts = 0;
  #retries = 0;
  #lastClient: string | undefined;
  /** The attempt under way, to abort when the client leaves or the deadline passes. */
  #inFlight: InFlight | undefined;
  #finished = false;
  #timedOut = false;
  readonly #started = monotonicNow();
  /** Endpoints that failed this request: retries go elsewhere when they can (made on the first failure). */
  #failed: Set<string> | undefined;

  constructor(ctx: ExchangeContext, req: IncomingMessage, res: ServerResponse, r: ExchangeRequest) {
    this.#ctx = ctx;
    this.#req = req;
    this.#res = res;
    this.#r = r;
    this.#method = req.method ?? "GET";
  }

  start(): void {
    const policy = this.#r.policy;
    const now = Date.now();
    this.#deadline = requestDeadline(now, this.#ctx.clearContext ? undefined : readDeadlineHeader(this.#req.headers[DEADLINE_HEADER]), policy.totalTimeoutMs);
    if (this.#deadline !== undefined && isExpired(this.#deadline, now)) {
      // Never send what nobody is waiting for any more.
      this.#fail(new RouterError("ROUTER_ERR_TIMEOUT", `${this.#r.name.show}: the request's deadline had already passed`));
      return;
    }
    policy.budget.deposit();
    // A response emits 'close' once, whether answered or cut short. Answered by
    // someone else (the listener refusing a malformed body) counts as cut short.
    this.#res.on("close", () => {
      if (this.#finished && this.#res.writableFinished) return;
      const unrecorded = !this.#finished;
      this.#finished = true;
      this.#inFlight?.abort(new Error("the client went away"));
      this.#clearTimers();
      // Counted like any other ending: what the listener answered, or 499 (nginx's code) when the client left first.
      if (unrecorded) this.#record(this.#res.writableFinished ? this.#res.statusCode : CLIENT_CLOSED_REQUEST, false, "the client closed the connection before the answer");
    });
    if (this.#deadline !== undefined) {
      this.#totalTimer = setTimeout(() => this.#timeout(), Math.max(0, remainingMs(this.#deadline, Date.now())));
    }
    const faults = policy.faults;
    if (faults?.abort !== undefined && this.#ctx.random() * 100 < faults.abort.percent) {
      this.#fail(new RouterError("ROUTER_ERR_INTERNAL", "fault injected"), faults.abort.status);
      return;
    }
    const delay = faults?.delay !== undefined && this.#ctx.random() * 100 < faults.delay.percent ? faults.delay.ms : 0;
    if (!hasBody(this.#req)) {
      this.#begin(delay);
      return;
    }
    const length = Number(this.#req.headers["content-length"]);
    // Only a body of known, small size can be sent again; chunked or large ones stream, once.
    if (this.#req.headers["transfer-encoding"] === undefined && Number.isFinite(length) && length <= policy.retryBufferBytes) {
      readBody(this.#req, length).then(
        (body) => {
          this.#body = body ?? null;
          this.#begin(delay);
        },
        (e: unknown) => this.#fail(e),
      );
      return;
    }
    this.#body = this.#req;
    this.#replayable = false;
    this.#begin(delay);
  }

  /** The first attempt, after the injected delay if there is one. */
  #begin(delay: number): void {
    if (delay > 0) setTimeout(() => this.#attempt(), delay);
    else this.#attempt();
  }

  #clearTimers(): void {
    if (this.#totalTimer !== undefined) clearTimeout(this.#totalTimer);
    this.#totalTimer = undefined;
  }

  #timeout(): void {
    if (this.#finished) return;
    this.#timedOut = true;
    const error = new RouterError("ROUTER_ERR_TIMEOUT", `${this.#r.name.show}: no response within the request's deadline (totalTimeoutMs or l5d-ctx-deadline)`);
    this.#fail(error);
    this.#inFlight?.abort(error);
  }

  #record(status: number, success: boolean, error?: string): void {
    const seconds = (monotonicNow() - this.#started) / 1000;
    this.#ctx.stats.done(status, success, seconds, this.#ctx.server);
    this.#ctx.finished({ status, success, seconds, client: this.#lastClient, retries: this.#retries, error });
  }

  #fail(e: unknown, status?: number): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#clearTimers();
    const error = e instanceof RouterError ? e : new RouterError("ROUTER_ERR_INTERNAL", "internal error", { cause: e });
    this.#record(status ?? error.status, false, error.message);
    if (status !== undefined && !this.#res.headersSent) {
      // An injected fault answers with the configured status, marked as injected.
      const body = `fault injected (${status})\n`;
      this.#res.writeHead(status, ["content-type", "text/plain", "content-length", String(Buffer.byteLength(body)), ...(this.#ctx.clearContext ? [] : ["l5d-err", "fault injected", ...this.#r.responseHeaders])]);
      this.#res.end(body);
      return;
    }
    respondError(this.#res, error, { clearContext: this.#ctx.clearContext, extraHeaders: this.#r.responseHeaders });
  }

  /** Whether a retryable failure may be retried: a replayable request, time left, and the budget's word. */
  #mayRetry(): boolean {
    if (!this.#replayable || this.#attempts >= MAX_ATTEMPTS || this.#finished) return false;
    if (this.#deadline !== undefined && remainingMs(this.#deadline, Date.now()) <= 0) return false;
    return this.#r.policy.budget.tryWithdraw();
  }

  #retryLater(): void {
    this.#retries++;
    this.#ctx.stats.retried();
    this.#backoff ??= this.#r.policy.newBackoff();
    const wait = this.#backoff.next();
    if (wait <= 0) queueMicrotask(() => this.#attempt());
    else setTimeout(() => this.#attempt(), wait);
  }

  /** One attempt; a requeue (nothing reached the last endpoint) does not earn requeue budget. */
  #attempt(requeue = false): void {
    if (this.#finished) return;
    this.#attempts++;
    const binding = this.#ctx.binding();
    if (binding.type === "failed") return this.#fail(new RouterError("ROUTER_ERR_BINDING_FAILED", `cannot bind ${this.#r.name.show}: ${binding.cause} [${binding.code}]`));
    if (binding.type === "pending") return this.#fail(new RouterError("ROUTER_ERR_BINDING_TIMEOUT", `no binding for ${this.#r.name.show} yet`));
    const leaf = pickLeaf(binding.tree, this.#ctx.split.next());
    if (leaf === "neg") return this.#fail(this.#ctx.noRoute("nothing (~)"));
    if (leaf === "fail") return this.#fail(this.#ctx.noRoute("a failure (!)"));
    if (leaf === "empty") return this.#fail(new RouterError("ROUTER_ERR_NO_ENDPOINTS", `${this.#r.name.show} binds to an empty set ($)`));
    const client = this.#ctx.client(leaf);
    this.#lastClient = client.name.show;
    // Every first attempt and retry earns the client's requeue budget its share (as Finagle's RequeueFilter).
    if (!requeue) client.policy.requeueBudget.deposit();
    const started = monotonicNow();
    const endpoint = client.pick(started, this.#failed);
    if (endpoint === undefined) {
      const why = client.endpoints.length === 0 ? `no endpoints (${client.state})` : "every endpoint is marked dead";
      return this.#fail(new RouterError("ROUTER_ERR_NO_ENDPOINTS", `${this.#r.name.show}: ${why} for ${client.name.show}`));
    }
    if (!client.acquire()) {
      return this.#fail(new RouterError("ROUTER_ERR_OVERLOADED", `${client.name.show}: ${client.policy.maxConcurrentRequests} requests already in flight`));
    }
    this.#send(client, endpoint, leaf, started);
  }

  #send(client: ConcreteClient, endpoint: Endpoint, leaf: BoundLeaf, started: number): void {
    const headers = [...this.#r.headers, "l5d-dst-client", client.name.show];
    if (!leaf.residual.isEmpty) headers.push("l5d-dst-residual", leaf.residual.show);
    if (this.#deadline !== undefined) headers.push(DEADLINE_HEADER, showDeadline(this.#deadline));
    const accrualAttempt = endpoint.accrual.onRequest(started);
    const policy = this.#r.policy;
    let timedOut = false;
    let attemptTimer: NodeJS.Timeout | undefined;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      client.release();
      if (attemptTimer !== undefined) clearTimeout(attemptTimer);
    };

    const inFlight = endpoint.send({
      method: this.#method,
      path: this.#r.path,
      headers,
      body: this.#body,
      res: this.#res,
      onResponse: (status, upstream) => {
        const now = monotonicNow();
        client.policy.balancer.observe(endpoint.key, now - started, now);
        const retryable = upstream[L5D_RETRYABLE];
        const verdict = policy.classifier({ method: this.#method, status, l5dRetryable: Array.isArray(retryable) ? retryable[0] : retryable, replayable: this.#replayable });
        client.stats.attempt(verdict === "success");
        if (verdict === "success") endpoint.accrual.recordSuccess(accrualAttempt, now);
        else {
          endpoint.accrual.recordFailure(accrualAttempt, now);
          (this.#failed ??= new Set()).add(endpoint.key);
        }
        if (this.#finished) return { deliver: false };
        if (verdict === "retryable-failure" && this.#mayRetry()) {
          release();
          this.#retryLater();
          return { deliver: false };
        }
        this.#finished = true;
        this.#clearTimers();
        this.#record(status, verdict === "success");
        const clearContext = this.#ctx.clearContext;
        const out = forwardResponseHeaders(upstream, clearContext ? responseDropUntrusted : responseDropTrusted);
        if (!clearContext) {
          for (const h of this.#r.responseHeaders) out.push(h);
          out.push("l5d-dst-client", client.name.show, "l5d-success-class", successClassHeader(verdict));
        }
        return { deliver: true, headers: out };
      },
      onDone: (outcome: AttemptOutcome) => {
        release();
        if (outcome.kind === "response") return;
        const now = monotonicNow();
        client.policy.balancer.observe(endpoint.key, now - started, now);
        if (this.#finished) {
          // Cut short by the total timeout: the endpoint was too slow. By a client that left: no verdict.
          if (this.#timedOut) endpoint.accrual.recordFailure(accrualAttempt, now);
          else endpoint.accrual.recordIgnored(accrualAttempt);
          return;
        }
        const kind = failureKind(outcome.error, outcome.requestSent, timedOut);
        client.stats.attempt(false);
        endpoint.accrual.recordFailure(accrualAttempt, now);
        (this.#failed ??= new Set()).add(endpoint.key);
        const untouched = this.#body !== this.#req || !this.#req.readableDidRead;
        if (isRequeueable(kind) && untouched && this.#attempts < MAX_ATTEMPTS && client.policy.requeueBudget.tryWithdraw()) {
          // Nothing reached the backend: send it elsewhere at once, whatever the method.
          this.#retries++;
          this.#ctx.stats.retried();
          this.#attempt(true);
          return;
        }
        const verdict = policy.classifier({ method: this.#method, error: kind, replayable: this.#replayable });
        if (verdict === "retryable-failure" && this.#mayRetry()) {
          this.#retryLater();
          return;
        }
        const cause = outcome.error;
        if (kind === "attempt-timeout") this.#fail(new RouterError("ROUTER_ERR_TIMEOUT", `${endpoint.key} did not answer ${this.#r.name.show} within requestAttemptTimeoutMs`, { cause }));
        else if (kind === "connect") this.#fail(new RouterError("ROUTER_ERR_CONNECT", `cannot connect to ${endpoint.key} for ${this.#r.name.show}: ${cause.message}`, { cause }));
        else this.#fail(new RouterError("ROUTER_ERR_UPSTREAM", `${endpoint.key} failed for ${this.#r.name.show}: ${cause.message}`, { cause }));
      },
    });
    this.#inFlight = inFlight;
    const attemptTimeout = client.policy.attemptTimeoutMs;
    if (attemptTimeout !== undefined) {
      attemptTimer = setTimeout(() => {
        timedOut = true;
        inFlight.abort(new AttemptTimeout(`no response within ${attemptTimeout} ms`));
      }, attemptTimeout);
    }
  }
}
