// One HTTP router (a `routers[]` entry): names each request, binds the name
// through its interpreter (cached per name and local dtab, kept live),
// picks a branch of the bound tree by weight, and hands the attempt to the
// concrete client of the chosen bound name. Requests and responses stream
// straight through; router-made errors go through respond.ts.
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Dtab, DtabError, type Path, readRequestDtab } from "../dtab/index.ts";
import type { Logger } from "../lib/log.ts";
import type { Binding, BoundLeaf, LiveValue } from "../namer/interpreter/interpreter.ts";
import { ConcreteClient, type ConcreteOptions } from "./concrete/client.ts";
import type { ServiceConfig } from "./config.ts";
import { RouterError } from "./errors.ts";
import { checkRequest, forwardRequestHeaders } from "./http/edge.ts";
import { newRequestId } from "./http/request-id.ts";
import { Exchange } from "./logical/exchange.ts";
import { SplitSequence } from "./logical/split.ts";
import { serviceParamsFor, servicePolicy, type ServicePolicy } from "./policies.ts";
import type { AccessLog } from "./telemetry/access-log.ts";
import type { RouterMetrics, ServiceStats } from "./telemetry/metrics.ts";
import { TRACE_HEADERS } from "./telemetry/trace-context.ts";
import type { HopSpan, Tracer } from "./telemetry/tracing.ts";
import { respondError, toRouterError } from "./http/respond.ts";
import type { Identifier } from "./identify/identifiers.ts";
import type { RouterInterpreter } from "./interpreter.ts";
import { transformedId } from "./transformers.ts";

export interface ServerContext {
  readonly label: string;
  /** The listener's ip:port, for per-server statistics. */
  readonly server: string;
  /** Drop the client's l5d-* context and answer errors without detail (untrusted clients). */
  readonly clearContext: boolean;
}

export interface HttpRouterOptions {
  readonly label: string;
  readonly identifier: Identifier;
  readonly interpreter: RouterInterpreter;
  /** Sent as the first part of every request's local dtab (remote interpreters only; the local one has it as its base). */
  readonly routerDtab: Dtab;
  /** The namespace shown in "no route" errors. */
  readonly namespace: string;
  readonly bindingTimeoutMs: number;
  /** Header fields a request may carry (more → 431). */
  readonly maxHeaders: number;
  /** Routers a request may already have passed (Via entries). */
  readonly maxCallDepth: number;
  /** How long unused bindings and clients are kept (ms). */
  readonly idleTtlMs: number;
  /** Logical names bound at once (bindingCache.paths); the least recently used goes first. */
  readonly maxLogicals: number;
  /** Concrete clients held at once (bindingCache.clients); the least recently used is drained first. */
  readonly maxClients: number;
  readonly client: ConcreteOptions;
  /** The router's `service` block: parameters by logical name. */
  readonly service: ServiceConfig;
  readonly metrics: RouterMetrics;
  /** One JSON line per request, when configured. */
  readonly accessLog?: AccessLog | undefined;
  /** Spans per hop (OTLP), when configured; without it trace headers pass through untouched. */
  readonly tracer?: Tracer | undefined;
  readonly logger: Logger;
  readonly random?: () => number;
}

/** One logical name in use: its live binding, its service policy (and retry budget), a promise for its first answer. */
interface Logical {
  readonly live: LiveValue<Binding>;
  readonly split: SplitSequence;
  readonly policy: ServicePolicy;
  readonly stats: ServiceStats;
  lastUsed: number;
  settled: Promise<void> | undefined;
}

/** Request headers not passed on from an untrusted client: any l5d- context, and Via (set anew). */
function requestDropUntrusted(lowerName: string): boolean {
  return lowerName.startsWith("l5d-") || lowerName === "via";
}

/** From a trusted one: those this router sets itself (the dtab travels on as l5d-ctx-dtab). */
function requestDropTrusted(lowerName: string): boolean {
  return (
    lowerName === "l5d-dtab" ||
    lowerName === "l5d-ctx-dtab" ||
    lowerName.startsWith("l5d-dst-") ||
    lowerName === "l5d-reqid" ||
    lowerName === "l5d-ctx-deadline" ||
    lowerName === "via"
  );
}

/** What a full cache of `capacity` drops at once: its least recently used tenth, at least one entry. */
function leastRecentlyUsed<T>(entries: Iterable<T>, lastUsed: (entry: T) => number, capacity: number): T[] {
  return [...entries].sort((a, b) => lastUsed(a) - lastUsed(b)).slice(0, Math.max(1, Math.ceil(capacity / 10)));
}

/** Where requests that never got a logical name are counted. */
export const UNNAMED = "(unidentified)";

export class HttpRouter {
  readonly label: string;
  #options: HttpRouterOptions;
  /** Logical names in use, by local dtab (as text) and then name: no key is built per request. */
  readonly #logicals = new Map<string, Map<string, Logical>>();
  #logicalCount = 0;
  readonly #clients = new Map<string, { client: ConcreteClient; lastUsed: number }>();
  readonly #random: () => number;
  /** This router's own Via token: seeing it again on a request means a loop. */
  readonly #viaToken: string;
  readonly #sweeper: NodeJS.Timeout;

  constructor(options: HttpRouterOptions) {
    this.label = options.label;
    this.#options = options;
    this.#random = options.random ?? Math.random;
    this.#viaToken = `meshd-${options.label}-${randomUUID().slice(0, 8)}`;
    this.#sweeper = setInterval(() => this.#sweep(), Math.max(1_000, Math.min(60_000, options.idleTtlMs / 2)));
    this.#sweeper.unref();
  }

  /** The concrete clients in use (for the admin's client_state.json and gauges). */
  get clients(): readonly ConcreteClient[] {
    return [...this.#clients.values()].map((e) => e.client);
  }

  /** The live bindings in use, by logical name and local dtab (for the admin). */
  get bindings(): readonly { readonly name: string; readonly local: string; readonly binding: Binding }[] {
    return [...this.#everyLogical()].map(([local, name, l]) => ({ name, local, binding: l.live.current() }));
  }

  get interpreter(): RouterInterpreter {
    return this.#options.interpreter;
  }

  get routerDtab(): Dtab {
    return this.#options.routerDtab;
  }

  /** Bindings and clients currently held (for the admin and tests). */
  get cached(): { logicals: number; clients: number } {
    let logicals = 0;
    for (const byName of this.#logicals.values()) logicals += byName.size;
    return { logicals, clients: this.#clients.size };
  }

  *#everyLogical(): Generator<[local: string, name: string, logical: Logical]> {
    for (const [local, byName] of this.#logicals) for (const [name, logical] of byName) yield [local, name, logical];
  }

  #closeLogicals(): void {
    for (const [, , logical] of this.#everyLogical()) logical.live.close();
    this.#logicals.clear();
    this.#logicalCount = 0;
  }

  #dropLogical(local: string, name: string): void {
    const byName = this.#logicals.get(local);
    const logical = byName?.get(name);
    if (byName === undefined || logical === undefined) return;
    byName.delete(name);
    if (byName.size === 0) this.#logicals.delete(local);
    this.#logicalCount--;
    // Requests still under way keep its last binding; the namer watch (if any) is given back.
    logical.live.close();
  }

  /**
   * Makes room for new logical names: the least recently used tenth goes, so
   * a flood of one-off names cannot grow the cache and costs one pass per
   * many new names rather than one per request.
   */
  #evictLogicals(): void {
    for (const [local, name] of leastRecentlyUsed(this.#everyLogical(), (e) => e[2].lastUsed, this.#options.maxLogicals)) this.#dropLogical(local, name);
  }

  handle(req: IncomingMessage, res: ServerResponse, server: ServerContext): void {
    const started = performance.now();
    try {
      this.#route(req, res, server, started);
    } catch (e) {
      this.#fail(req, res, e, server, started);
    }
  }

  /** Fails a request before it has a logical name (or while it waits for its binding). */
  #fail(req: IncomingMessage, res: ServerResponse, e: unknown, server: ServerContext, started: number, service?: Path): void {
    const error = toRouterError(e);
    this.#options.metrics.service(this.label, UNNAMED).done(error.status, false, 0, server.server);
    this.#options.accessLog?.write({
      rt: this.label,
      method: req.method ?? "",
      host: req.headers.host ?? "",
      path: req.url ?? "",
      service: service?.show,
      client: undefined,
      status: error.status,
      durationMs: performance.now() - started,
      reqid: undefined,
      retries: 0,
      server: server.server,
    });
    if (error.code === "ROUTER_ERR_INTERNAL") this.#options.logger.error({ err: e }, "request failed");
    respondError(res, error, { clearContext: server.clearContext });
  }

  #route(req: IncomingMessage, res: ServerResponse, server: ServerContext, started: number): void {
    const opts = this.#options;
    const target = checkRequest(req, opts.maxHeaders);
    const via = req.headers["via"];
    if (via !== undefined) {
      const hops = via.split(",");
      if (via.includes(this.#viaToken)) throw new RouterError("ROUTER_ERR_LOOP", `loop detected: the request already passed this router (${this.#viaToken})`);
      if (hops.length > opts.maxCallDepth) throw new RouterError("ROUTER_ERR_LOOP", `the request passed ${hops.length} routers, more than maxCallDepth ${opts.maxCallDepth}`);
    }
    let requestDtab = Dtab.empty;
    // Most requests carry no dtab headers: check the parsed header object before reading them.
    if (!server.clearContext && (req.headers["l5d-dtab"] !== undefined || req.headers["l5d-ctx-dtab"] !== undefined)) {
      try {
        requestDtab = readRequestDtab(req.headers);
      } catch (e) {
        if (e instanceof DtabError) throw new RouterError("ROUTER_ERR_BAD_DTAB_HEADER", e.message, { cause: e });
        throw e;
      }
    }
    const identified = opts.identifier({
      method: req.method ?? "GET",
      httpVersion: req.httpVersion,
      authority: target.authority,
      path: target.path,
      headers: req.headers,
    });
    if (typeof identified === "string") throw new RouterError("ROUTER_ERR_UNIDENTIFIED", `cannot identify the request: ${identified}`);
    const name = identified.name;
    const local = requestDtab.length === 0 ? opts.routerDtab : Dtab.concat(opts.routerDtab, requestDtab);
    const logical = this.#logical(name, local);
    const r = { name, path: identified.path, authority: target.authority, requestDtab, started };
    if (logical.live.current().type !== "pending") {
      this.#exchange(req, res, server, logical, r);
      return;
    }
    this.#whenBound(logical, name)
      .then(() => this.#exchange(req, res, server, logical, r))
      .catch((e: unknown) => this.#fail(req, res, e, server, started, name));
  }

  #logical(name: Path, local: Dtab): Logical {
    let byName = this.#logicals.get(local.show);
    if (byName === undefined) {
      byName = new Map();
      this.#logicals.set(local.show, byName);
    }
    let logical = byName.get(name.show);
    if (logical === undefined) {
      if (this.#logicalCount >= this.#options.maxLogicals) this.#evictLogicals();
      logical = {
        live: this.#options.interpreter.bind(name, local),
        split: new SplitSequence(this.#random),
        policy: servicePolicy(serviceParamsFor(this.#options.service, name), this.#random),
        stats: this.#options.metrics.service(this.label, name.show),
        lastUsed: 0,
        settled: undefined,
      };
      byName.set(name.show, logical);
      this.#logicalCount++;
    }
    logical.lastUsed = Date.now();
    return logical;
  }

  /** Resolves once the name has a binding (bound, negative or failed), or fails after bindingTimeoutMs. */
  #whenBound(logical: Logical, name: Path): Promise<void> {
    logical.settled ??= new Promise<void>((resolve) => {
      const unsubscribe = logical.live.subscribe((b) => {
        if (b.type === "pending") return;
        unsubscribe();
        resolve();
      });
    });
    const timeoutMs = this.#options.bindingTimeoutMs;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new RouterError("ROUTER_ERR_BINDING_TIMEOUT", `no binding for ${name.show} within ${timeoutMs} ms (is the namer reachable?)`)), timeoutMs);
      (logical.settled as Promise<void>).then(() => {
        clearTimeout(timer);
        resolve();
      }, reject);
    });
  }

  #noRoute(name: Path, requestDtab: Dtab, what: string): RouterError {
    const dtab = Dtab.concat(this.#options.routerDtab, requestDtab).show;
    return new RouterError(
      "ROUTER_ERR_NO_ROUTE",
      `no route to ${name.show}: it binds to ${what} (namespace ${this.#options.namespace}${dtab === "" ? "" : `, dtab ${dtab}`})`,
    );
  }

  #client(leaf: BoundLeaf): ConcreteClient {
    const name = transformedId(leaf.id, this.#options.client.transformers);
    const key = name.show;
    let entry = this.#clients.get(key);
    if (entry === undefined) {
      if (this.#clients.size >= this.#options.maxClients) this.#evictClients();
      entry = { client: new ConcreteClient(name, this.#options.client), lastUsed: 0 };
      this.#clients.set(key, entry);
    }
    entry.lastUsed = Date.now();
    entry.client.update(leaf.addr);
    return entry.client;
  }

  /** Drops a client; it drains (requests under way finish) and closes. */
  #dropClient(key: string, entry: { client: ConcreteClient }): void {
    this.#clients.delete(key);
    void entry.client.close();
  }

  /** Makes room for new clients: the least recently used tenth is dropped. */
  #evictClients(): void {
    for (const [key, entry] of leastRecentlyUsed(this.#clients, (e) => e[1].lastUsed, this.#options.maxClients)) this.#dropClient(key, entry);
  }

  #exchange(req: IncomingMessage, res: ServerResponse, server: ServerContext, logical: Logical, r: { name: Path; path: string; authority: string; requestDtab: Dtab; started: number }): void {
    const opts = this.#options;
    const incomingReqId = req.headers["l5d-reqid"];
    const reqId = typeof incomingReqId === "string" && incomingReqId !== "" && !server.clearContext ? incomingReqId : newRequestId();
    const span: HopSpan | undefined = opts.tracer?.start(req.headers, { router: this.label, method: req.method ?? "", host: r.authority, path: r.path, service: r.name.show });
    const dropContext = server.clearContext ? requestDropUntrusted : requestDropTrusted;
    // With tracing on, this hop's span replaces the caller's in the trace headers.
    const dropRequest = span === undefined ? dropContext : (h: string) => dropContext(h) || TRACE_HEADERS.has(h);
    const headers = forwardRequestHeaders(req, dropRequest);
    if (span !== undefined) headers.push(...span.headers);
    const accessLog = opts.accessLog;
    const priorVia = server.clearContext ? undefined : req.headers["via"];
    headers.push("host", r.authority, "via", `${priorVia === undefined ? "" : `${priorVia}, `}1.1 ${this.#viaToken}`, "l5d-dst-service", r.name.show, "l5d-reqid", reqId);
    // The request's dtab travels on as context, so the next router honours it too.
    if (r.requestDtab.length > 0) headers.push("l5d-ctx-dtab", r.requestDtab.show);
    new Exchange(
      {
        client: (leaf) => this.#client(leaf),
        binding: () => logical.live.current(),
        random: this.#random,
        split: logical.split,
        clearContext: server.clearContext,
        noRoute: (what) => this.#noRoute(r.name, r.requestDtab, what),
        stats: logical.stats,
        server: server.server,
        finished: (result) => {
          span?.end(result);
          accessLog?.write({
            rt: this.label,
            method: req.method ?? "",
            host: r.authority,
            path: req.url ?? "",
            service: r.name.show,
            client: result.client,
            status: result.status,
            durationMs: performance.now() - r.started,
            reqid: reqId,
            retries: result.retries,
            server: server.server,
            traceId: span?.traceId,
          });
        },
      },
      req,
      res,
      { name: r.name, path: r.path, requestDtab: r.requestDtab, headers, responseHeaders: ["l5d-dst-service", r.name.show, "l5d-reqid", reqId], policy: logical.policy },
    ).start();
  }

  #sweep(): void {
    const now = Date.now();
    const ttl = this.#options.idleTtlMs;
    for (const [local, name, logical] of [...this.#everyLogical()]) if (now - logical.lastUsed >= ttl) this.#dropLogical(local, name);
    for (const [key, entry] of this.#clients) if (now - entry.lastUsed >= ttl) this.#dropClient(key, entry);
  }

  /**
   * Takes a new configuration (SIGHUP reload) without dropping anything:
   * bindings are re-made from the new interpreter and dtab on next use, and
   * clients are rebuilt while the old ones drain their in-flight requests.
   */
  reconfigure(options: HttpRouterOptions): void {
    this.#options = options;
    this.#closeLogicals();
    const old = [...this.#clients.values()];
    this.#clients.clear();
    for (const entry of old) void entry.client.close();
  }

  /** Closes bindings and lets in-flight requests finish on their connections. */
  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    this.#closeLogicals();
    await Promise.allSettled([...this.#clients.values()].map((e) => e.client.close()));
    this.#clients.clear();
  }

  async destroy(): Promise<void> {
    clearInterval(this.#sweeper);
    await Promise.allSettled([...this.#clients.values()].map((e) => e.client.destroy()));
    this.#clients.clear();
  }
}
