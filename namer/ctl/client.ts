// The namer API client namerctl drives: one method per operation on dtabs,
// names and the registry, each request bounded by a timeout (a watch only
// until its headers arrive), every failure turned into a typed error
// (ApiError with the namer's code, UnreachableError naming the URL).
import { z } from "zod";
import { Dtab, DtabError } from "../../dtab/index.ts";
import { addrSchema, check, delegateSchema, instanceSchema, instancesSchema, type AddrJson, type DelegateJson, type Instance } from "./answers.ts";
import { ApiError, CtlError, UnreachableError, UsageError } from "./errors.ts";

/** Sent on writes so history and audit name the operator, not just the token. Mirrors namer/api/auth.ts. */
export const USER_HEADER = "x-meshd-user";

/** The namer API's namespace rule (namer/api/dtabs.ts), checked here too so a name like ".." never becomes a URL path. */
const NAMESPACE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** A namespace's dtab as read, with the version to send back in If-Match. */
export interface NamespaceDtab {
  readonly namespace: string;
  readonly version: string;
  readonly dtab: Dtab;
}

const historyEntrySchema = z.object({
  version: z.string(),
  action: z.string(),
  dtab: z.string(),
  at: z.string(),
  actor: z.string(),
  source: z.string(),
  previousVersion: z.string().optional(),
  restoredVersion: z.string().optional(),
});

/** One kept version of a namespace, as GET /api/1/dtabs/<ns>/history returns it (newest first). */
export type HistoryEntry = Readonly<z.infer<typeof historyEntrySchema>>;

const rollbackSchema = z.object({ namespace: z.string(), version: z.string(), restoredVersion: z.string() });

export type RollbackResult = Readonly<z.infer<typeof rollbackSchema>>;

export interface NamerClientOptions {
  /** The namer's base URL; a path prefix is kept (the API lives at <base>/api/1/…). */
  readonly baseUrl: string;
  /** Bearer token for writes; sent on every request but never shown. */
  readonly token?: string;
  /** Operator name for the x-meshd-user header on writes. */
  readonly user?: string;
  /** Per-request limit, headers and body included, in milliseconds. */
  readonly timeoutMs: number;
  /** For tests: a fetch to use instead of the global one. */
  readonly fetch?: typeof fetch;
}

/** Checks a --namer / NAMERCTL_BASE_URL value: http(s), a host, no credentials, no query. */
export function parseBaseUrl(raw: string): URL {
  // Whatever sits before an "@" may be a password: it never reaches a message.
  const redacted = raw.replace(/^([^/]*\/\/)?[^/@]*@/, "$1…@");
  const shown = JSON.stringify(redacted);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`the namer URL ${shown} is not a URL: give one like http://namer:4180`);
  }
  if (url.username !== "" || url.password !== "") {
    throw new UsageError("the namer URL must not hold credentials: pass the write token with --token or NAMERCTL_TOKEN");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    const hint = raw.includes("//") ? "" : ` (did you mean ${JSON.stringify(`http://${redacted}`)}?)`;
    throw new UsageError(`the namer URL must start with http:// or https://, got ${shown}${hint}`);
  }
  if (url.search !== "" || url.hash !== "") {
    throw new UsageError(`the namer URL must not have a query or fragment, got ${shown}`);
  }
  return url;
}

/** The registry's service-name rule (namer/registry/instances.ts), minus "." and "..", which a URL would swallow. */
const SERVICE = /^[A-Za-z0-9_:.$%-]{1,253}$/;

export function isServiceName(service: string): boolean {
  return SERVICE.test(service) && service !== "." && service !== "..";
}

function checkService(service: string): string {
  if (!isServiceName(service)) throw new CtlError(`invalid service name ${JSON.stringify(service.slice(0, 140))}: use 1–253 letters, digits and _ : . $ % -`);
  return service;
}

/** What `register` sends: the server picks the TTL when none is given. */
export interface RegistrationInput {
  readonly host: string;
  readonly port: number;
  /** Seconds until the instance expires unless it registers again. */
  readonly ttlSeconds?: number;
  readonly meta?: Readonly<Record<string, string | number>>;
}

/** `?path=…&dtab=…` for the name API; the path goes as typed, for the namer to check. */
function nameQuery(path: string, dtab: string | undefined): string {
  return `path=${encodeURIComponent(path)}${dtab === undefined || dtab === "" ? "" : `&dtab=${encodeURIComponent(dtab)}`}`;
}

export function checkNamespace(ns: string): string {
  if (!NAMESPACE.test(ns)) {
    throw new CtlError(`invalid namespace name ${JSON.stringify(ns.slice(0, 140))}: use 1–128 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  }
  return ns;
}

/** An ETag as a version: the namer sends the bare decimal, but quotes and W/ are tolerated. */
function versionOf(response: Response, what: string): string {
  const etag = response.headers.get("etag");
  const version = etag?.trim().replace(/^W\//, "").replace(/^"(.*)"$/, "$1");
  if (version === undefined || version === "") throw new CtlError(`${what}: the namer's answer has no ETag (version); is this a meshd namer?`);
  return version;
}

function describeFailure(e: unknown, timeoutMs: number): string {
  if (e instanceof Error && (e.name === "TimeoutError" || e.name === "AbortError")) return `no answer within ${timeoutMs} ms (set --timeout to wait longer)`;
  // fetch wraps socket errors: TypeError("fetch failed", { cause: Error with code ECONNREFUSED, … }).
  const cause = e instanceof Error && e.cause instanceof Error ? e.cause : e;
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case "ECONNREFUSED":
      return "connection refused (is the namer running? set --namer or NAMERCTL_BASE_URL)";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "the host name does not resolve";
    case "ECONNRESET":
    case "UND_ERR_SOCKET":
      return "the connection was reset";
    default:
      return cause instanceof Error ? cause.message : String(cause);
  }
}

export class NamerClient {
  readonly #base: URL;
  readonly #token: string | undefined;
  readonly #user: string | undefined;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;

  constructor(options: NamerClientOptions) {
    this.#base = parseBaseUrl(options.baseUrl);
    this.#token = options.token === "" ? undefined : options.token;
    this.#user = options.user === "" ? undefined : options.user;
    this.#timeoutMs = options.timeoutMs;
    this.#fetch = options.fetch ?? fetch;
  }

  /** The base URL as shown in messages. */
  get baseUrl(): string {
    return this.#base.toString();
  }

  async list(): Promise<readonly string[]> {
    const { body } = await this.#json("GET", "dtabs", z.array(z.string()));
    return body;
  }

  /** The namespace's dtab and version; ApiError NAMER_ERR_NOT_FOUND when it does not exist. */
  async get(ns: string): Promise<NamespaceDtab> {
    const response = await this.#request("GET", `dtabs/${checkNamespace(ns)}`);
    const body = await this.#readJson(response, `GET ${ns}`);
    let dtab: Dtab;
    try {
      dtab = Dtab.fromJSON(body);
    } catch (e) {
      if (e instanceof DtabError) throw new CtlError(`the namer sent a dtab for ${ns} that does not parse: ${e.message}`, { cause: e });
      throw e;
    }
    return { namespace: ns, version: versionOf(response, `GET ${ns}`), dtab };
  }

  /** Like get, but undefined when the namespace does not exist. */
  async find(ns: string): Promise<NamespaceDtab | undefined> {
    try {
      return await this.get(ns);
    } catch (e) {
      if (e instanceof ApiError && e.isNotFound) return undefined;
      throw e;
    }
  }

  /** Creates the namespace; returns its version. ApiError 409 when it exists. */
  async create(ns: string, dtab: Dtab): Promise<string> {
    const response = await this.#request("POST", `dtabs/${checkNamespace(ns)}`, { json: dtab.toJSON(), write: true });
    return versionOf(response, `create ${ns}`);
  }

  /** Compare-and-set: replaces the dtab only if the namespace is still at `ifMatch`; returns the new version. */
  async update(ns: string, dtab: Dtab, ifMatch: string): Promise<string> {
    const response = await this.#request("PUT", `dtabs/${checkNamespace(ns)}`, { json: dtab.toJSON(), ifMatch, write: true });
    return versionOf(response, `update ${ns}`);
  }

  /** Deletes the namespace if it is still at `ifMatch`; returns the version the delete recorded. */
  async delete(ns: string, ifMatch: string): Promise<string> {
    const response = await this.#request("DELETE", `dtabs/${checkNamespace(ns)}`, { ifMatch, write: true });
    return versionOf(response, `delete ${ns}`);
  }

  async history(ns: string, limit?: number): Promise<readonly HistoryEntry[]> {
    const query = limit === undefined ? "" : `?limit=${limit}`;
    const { body } = await this.#json("GET", `dtabs/${checkNamespace(ns)}/history${query}`, z.array(historyEntrySchema));
    return body;
  }

  /** Restores the dtab of `version` as a new version; with `ifMatch`, only if the namespace is still there. */
  async rollback(ns: string, version: string, ifMatch?: string): Promise<RollbackResult> {
    const path = `dtabs/${checkNamespace(ns)}/rollback?version=${encodeURIComponent(version)}`;
    const { body } = await this.#json("POST", path, rollbackSchema, { write: true, ...(ifMatch === undefined ? {} : { ifMatch }) });
    return body;
  }

  /** The bound tree of `path` in `ns` (through ns's dtab and the local `dtab`), in namerd's bind JSON. */
  async bind(ns: string, path: string, dtab?: string): Promise<DelegateJson> {
    return await this.#checked("GET", `bind/${checkNamespace(ns)}?${nameQuery(path, dtab)}`, delegateSchema);
  }

  /** Every change of the bound tree, until `signal` aborts (then it just returns). */
  async *watchBind(ns: string, path: string, dtab: string | undefined, signal: AbortSignal): AsyncGenerator<DelegateJson> {
    yield* this.#watch(`bind/${checkNamespace(ns)}?${nameQuery(path, dtab)}`, delegateSchema, signal);
  }

  /** The addresses `path` resolves to, as a router would pick them: the first alternate with addresses, a union branch by weight. */
  async resolve(ns: string, path: string, dtab?: string): Promise<AddrJson> {
    // A namer still waiting on discovery when its wait runs out answers null: that is "pending".
    const addr = await this.#checked<AddrJson | null>("GET", `resolve/${checkNamespace(ns)}?${nameQuery(path, dtab)}`, addrSchema.nullable());
    return addr ?? { type: "pending" };
  }

  async *watchResolve(ns: string, path: string, dtab: string | undefined, signal: AbortSignal): AsyncGenerator<AddrJson> {
    yield* this.#watch(`resolve/${checkNamespace(ns)}?${nameQuery(path, dtab)}`, addrSchema, signal);
  }

  /** How `path` delegates, every branch expanded; `ns` undefined explains through the local `dtab` alone. */
  async delegate(ns: string | undefined, path: string, dtab?: string): Promise<DelegateJson> {
    const resource = ns === undefined ? "delegate" : `delegate/${checkNamespace(ns)}`;
    return await this.#checked("GET", `${resource}?${nameQuery(path, dtab)}`, delegateSchema);
  }

  /** Registers an instance of `service`, or heartbeats it when it is already live. */
  async register(service: string, registration: RegistrationInput): Promise<Instance> {
    return await this.#checked("POST", `registry/${encodeURIComponent(checkService(service))}`, instanceSchema, { json: registration, write: true });
  }

  /** Removes an instance by id (host:port); ApiError NAMER_ERR_NOT_FOUND when it is not live. */
  async deregister(service: string, id: string): Promise<void> {
    const response = await this.#request("DELETE", `registry/${encodeURIComponent(checkService(service))}/${encodeURIComponent(id)}`, { write: true });
    await this.#text(response);
  }

  /** The live instances of `service`, sorted by id. */
  async instances(service: string): Promise<readonly Instance[]> {
    return await this.#checked("GET", `registry/${encodeURIComponent(checkService(service))}`, instancesSchema);
  }

  async *watchInstances(service: string, signal: AbortSignal): AsyncGenerator<readonly Instance[]> {
    yield* this.#watch(`registry/${encodeURIComponent(checkService(service))}`, instancesSchema, signal);
  }

  /** A JSON answer checked against `schema` and returned as sent. */
  async #checked<T>(method: string, path: string, schema: z.ZodType<unknown>, options: RequestOptions = {}): Promise<T> {
    const response = await this.#request(method, path, options);
    const raw = await this.#readJson(response, `${method} ${path}`);
    return this.#check<T>(schema, raw, `${method} ${this.#url(path)}`);
  }

  #check<T>(schema: z.ZodType<unknown>, raw: unknown, what: string): T {
    const checked = check<T>(schema, raw);
    if (!checked.ok) throw new CtlError(`${what}: unexpected answer from the namer: ${checked.problem}`);
    return checked.value;
  }

  /**
   * A watch stream (`?watch=true`): one JSON document a line, empty lines
   * being the namer's keep-alives. --timeout bounds only the wait for the
   * headers; after that the stream lasts as long as it lasts. Returns when
   * `signal` aborts; throws when the namer ends the stream or the connection
   * breaks, since a watch that stops silently would be showing stale news.
   */
  async *#watch<T>(path: string, schema: z.ZodType<unknown>, signal: AbortSignal): AsyncGenerator<T> {
    if (signal.aborted) return;
    const watchPath = `${path}${path.includes("?") ? "&" : "?"}watch=true`;
    const url = this.#url(watchPath);
    const controller = new AbortController();
    const stop = (): void => controller.abort(signal.reason);
    signal.addEventListener("abort", stop, { once: true });
    try {
      let response: Response;
      try {
        response = await this.#request("GET", watchPath, { signal: controller.signal, accept: "application/x-ndjson, application/json" });
      } catch (e) {
        if (signal.aborted) return;
        throw e;
      }
      if (response.body === null) throw new CtlError(`GET ${url}: the namer's answer has no body`);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        let chunk: Awaited<ReturnType<typeof reader.read>>;
        try {
          chunk = await reader.read();
        } catch (e) {
          if (signal.aborted) return;
          throw new CtlError(`lost the watch on the namer at ${this.baseUrl}: ${describeFailure(e, this.#timeoutMs)}`, { cause: e });
        }
        if (chunk.done) break;
        buffer += chunk.value;
        let nl: number;
        while ((nl = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, nl).trim();
          buffer = buffer.slice(nl + 1);
          if (line === "") continue;
          let raw: unknown;
          try {
            raw = JSON.parse(line) as unknown;
          } catch {
            throw new CtlError(`GET ${url}: the namer sent a watch line that is not JSON: ${JSON.stringify(line.slice(0, 100))}`);
          }
          yield this.#check<T>(schema, raw, `GET ${url}`);
        }
      }
      if (signal.aborted) return;
      throw new CtlError(`the namer at ${this.baseUrl} ended the watch (is it shutting down or restarting?)`);
    } finally {
      signal.removeEventListener("abort", stop);
      // Leaving early (an error, or the caller stopped reading) must not leave the socket open.
      controller.abort();
    }
  }

  async #json<T>(method: string, path: string, schema: z.ZodType<T>, options: RequestOptions = {}): Promise<{ response: Response; body: T }> {
    const response = await this.#request(method, path, options);
    const raw = await this.#readJson(response, `${method} ${path}`);
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      throw new CtlError(`${method} ${this.#url(path)}: unexpected answer from the namer: ${parsed.error.issues[0]?.message ?? "wrong shape"}`);
    }
    return { response, body: parsed.data };
  }

  async #readJson(response: Response, what: string): Promise<unknown> {
    const text = await this.#text(response);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new CtlError(`${what}: the namer's answer is not JSON (is ${this.baseUrl} a meshd namer?)`);
    }
  }

  async #text(response: Response): Promise<string> {
    try {
      return await response.text();
    } catch (e) {
      throw new UnreachableError(this.baseUrl, describeFailure(e, this.#timeoutMs), e);
    }
  }

  #url(path: string): string {
    const base = this.#base.pathname.replace(/\/+$/, "");
    const url = new URL(this.#base);
    const [pathname, query] = path.split("?", 2) as [string, string | undefined];
    url.pathname = `${base}/api/1/${pathname}`;
    url.search = query === undefined ? "" : `?${query}`;
    return url.toString();
  }

  async #request(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    const url = this.#url(path);
    const headers: Record<string, string> = { accept: options.accept ?? "application/json" };
    // The token goes on reads too: an interface may one day guard reads, and it costs nothing.
    if (this.#token !== undefined) headers["authorization"] = `Bearer ${this.#token}`;
    if (options.write === true && this.#user !== undefined) headers[USER_HEADER] = this.#user;
    if (options.ifMatch !== undefined) headers["if-match"] = options.ifMatch;
    let body: string | undefined;
    if (options.json !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(options.json);
    }
    // A plain request is bounded as a whole, body included (the caller reads it under the same signal);
    // a stream (options.signal) only until its headers, then it lasts until that signal aborts.
    let timer: NodeJS.Timeout | undefined;
    let signal: AbortSignal;
    if (options.signal === undefined) {
      signal = AbortSignal.timeout(this.#timeoutMs);
    } else {
      const limit = new AbortController();
      timer = setTimeout(() => limit.abort(new DOMException(`no answer within ${this.#timeoutMs} ms`, "TimeoutError")), this.#timeoutMs);
      signal = AbortSignal.any([options.signal, limit.signal]);
    }
    try {
      let response: Response;
      try {
        response = await this.#fetch(url, { method, headers, ...(body === undefined ? {} : { body }), signal, redirect: "manual" });
      } catch (e) {
        throw new UnreachableError(this.baseUrl, describeFailure(e, this.#timeoutMs), e);
      }
      if (response.ok) return response;
      throw await this.#apiError(response);
    } finally {
      clearTimeout(timer);
    }
  }

  async #apiError(response: Response): Promise<ApiError> {
    const text = await this.#text(response);
    let code = `HTTP_${response.status}`;
    let message = `${response.status} ${response.statusText}`.trim();
    let details: Record<string, unknown> = {};
    try {
      const body = JSON.parse(text) as unknown;
      const error = body !== null && typeof body === "object" && "error" in body ? (body as { error: unknown }).error : undefined;
      if (error !== null && typeof error === "object") {
        const { code: c, message: m, ...rest } = error as Record<string, unknown>;
        if (typeof c === "string") code = c;
        if (typeof m === "string") message = m;
        details = rest;
      }
    } catch {
      // Not the namer's JSON (a proxy's error page, say): the status line is all there is to show.
      if (response.status >= 300 && response.status < 400) message = `${message}: redirected to ${response.headers.get("location") ?? "?"} (point --namer at the namer itself)`;
    }
    return new ApiError(response.status, code, message, details);
  }
}

interface RequestOptions {
  /** A JSON body. */
  readonly json?: unknown;
  readonly ifMatch?: string;
  readonly write?: boolean;
  readonly accept?: string;
  /** Makes this a stream: the timeout covers the headers only, and this signal ends it. */
  readonly signal?: AbortSignal;
}
