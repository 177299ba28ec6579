// What the router's (9990) and the namer's (9991) admin servers share: the
// base endpoints (ping, live, ready, Prometheus and flat JSON metrics, the
// redacted config, log level, shutdown), the guard that keeps browsers on
// other sites from driving the control endpoints, and the small static file
// server behind the admin pages (no build step: files are served as written).
import { createHash, timingSafeEqual } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { isIP } from "node:net";
import { extname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { fastify, LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import type { Registry } from "prom-client";
import type { Logger, LogLevel } from "./log.ts";
import { isLoopback } from "./loopback.ts";
import { answerConnect } from "./node-http.ts";

export const LOG_LEVELS: readonly LogLevel[] = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

/**
 * A fastify app set up as every admin server is: our logger, no per-request
 * log lines; `exposeHeadRoutes: false` for an app that mounts routes with
 * their own HEAD (the namer's dtab resource).
 */
export function createAdminApp(logger: Logger, options: { exposeHeadRoutes?: boolean } = {}): FastifyInstance {
  const app = fastify({
    // pino is what fastify logs with; its generic logger type just does not line up with ours.
    loggerInstance: logger as unknown as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    exposeHeadRoutes: options.exposeHeadRoutes ?? true,
    // Admin routes declare no schemas: without these factories fastify would load
    // Ajv and fast-json-stringify (some 18 MB of a router's resident memory) for nothing.
    schemaController: { compilersFactory: { buildValidator: noSchemas, buildSerializer: noSchemas } },
  });
  answerConnect(app.server);
  return app;
}

function noSchemas(): never {
  throw new Error("admin routes take no JSON schemas (their compilers are not loaded)");
}

/** The token of the request's `Authorization: Bearer <token>`, if it has one. */
export function presentedBearer(request: FastifyRequest): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? "")?.[1];
}

/** A secret's SHA-256, the form tokens are compared in (equal length, so in constant time). */
export function tokenDigest(secret: string): Buffer {
  return createHash("sha256").update(secret, "utf8").digest();
}

/** Whether the request carries `Authorization: Bearer <token>` with this token (constant time). */
export function bearerMatches(request: FastifyRequest, token: string | undefined): boolean {
  if (token === undefined || token === "") return false;
  const presented = presentedBearer(request);
  if (presented === undefined) return false;
  return timingSafeEqual(tokenDigest(presented), tokenDigest(token));
}

/** The host name of a Host header value ("127.0.0.1:9990" → "127.0.0.1", "[::1]:9990" → "::1"). */
function hostName(host: string): string {
  const bracketed = /^\[([^\]]*)\]/.exec(host);
  if (bracketed !== null) return bracketed[1] ?? "";
  return host.replace(/:\d*$/, "");
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Why an unsafe (state-changing) request must be refused because a browser
 * may have been tricked into sending it, or undefined when it may go on.
 * Admin ports trust loopback clients, and a browser on the operator's machine
 * is a loopback client: so a request another site's page made (Origin or
 * Sec-Fetch-Site say so) is refused, and so is one that names the server by
 * a DNS name other than localhost (DNS rebinding turns an attacker's name
 * into 127.0.0.1; an IP literal cannot be rebound) unless it carries a
 * bearer token the server will check. `checksBearer` says whether it will:
 * any Authorization header passes this guard only when a wrong token is then
 * refused, or a page could send a made-up one to pass as a remote client.
 */
export function crossSiteReason(request: FastifyRequest, checksBearer: boolean): string | undefined {
  if (SAFE_METHODS.has(request.method)) return undefined;
  const site = request.headers["sec-fetch-site"];
  if (typeof site === "string" && site !== "same-origin" && site !== "none") return `a ${site} page may not ${request.method} here`;
  const host = request.headers.host ?? "";
  const origin = request.headers.origin;
  if (typeof origin === "string" && origin !== "") {
    let originHost: string;
    try {
      originHost = new URL(origin).host;
    } catch {
      return "the Origin header is malformed";
    }
    if (originHost.toLowerCase() !== host.toLowerCase()) return `a page from ${origin} may not ${request.method} here`;
  }
  if (request.headers.authorization === undefined || !checksBearer) {
    const name = hostName(host).toLowerCase();
    if (isIP(name) === 0 && name !== "localhost" && !name.endsWith(".localhost")) {
      return `without a bearer token, ${request.method} must address this server by IP address or localhost, not ${JSON.stringify(name.slice(0, 80))}`;
    }
  }
  return undefined;
}

/**
 * Installs the cross-site guard (see crossSiteReason) on every route of the
 * admin app. A bearer counts only if it is one the app accepts: its admin
 * token, or what `acceptsBearer` accepts.
 */
export function guardCrossSite(app: FastifyInstance, token: string | undefined, acceptsBearer?: (request: FastifyRequest) => boolean): void {
  app.addHook("onRequest", async (request, reply) => {
    const reason = crossSiteReason(request, bearerMatches(request, token) || acceptsBearer?.(request) === true);
    if (reason === undefined) return;
    request.log.warn({ method: request.method, url: request.url, origin: request.headers.origin, reason }, "cross-site admin request refused");
    await reply.code(403).type("text/plain; charset=utf-8").send(`refused: ${reason}\n`);
  });
}

/** Whether a control request (shutdown, log level) may proceed: from loopback, or with the admin token. */
export function controlAllowed(request: FastifyRequest, token: string | undefined): boolean {
  return isLoopback(request.ip) || bearerMatches(request, token);
}

const REDACTED = "[redacted]";
const SECRET_KEY = /^(password|token|secret|authorization|apiKey|api_key)$/i;

/** A copy of a config with secrets hidden: password/token-like keys, writeTokens, credentials in URLs. */
export function redactSecrets(value: unknown, key = ""): unknown {
  if (typeof value === "string") {
    if (SECRET_KEY.test(key)) return REDACTED;
    if (/^[a-z][a-z0-9+.-]*:\/\/[^/@\s]*@/i.test(value)) {
      try {
        const u = new URL(value);
        if (u.username !== "" || u.password !== "") {
          u.username = "";
          u.password = "";
          return u.toString().replace("://", `://${REDACTED}@`);
        }
      } catch {
        return REDACTED;
      }
    }
    return value;
  }
  if (Array.isArray(value)) {
    // Bare write tokens are the secrets themselves.
    if (key === "writeTokens") return value.map((t) => (typeof t === "string" ? REDACTED : redactSecrets(t, "")));
    return value.map((v) => redactSecrets(v, ""));
  }
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, redactSecrets(v, k)]));
  }
  return value;
}

/**
 * A Prometheus registry as one flat JSON object, for dashboards and scripts:
 * `name{label="value",…}` → number; histograms as `.count`, `.sum` and `.avg`
 * (their buckets stay in /metrics). `filter` keeps names containing it.
 */
export async function flatMetrics(registry: Registry, filter?: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const key = (name: string, labels: Readonly<Record<string, string | number | undefined>>): string => {
    const parts = Object.entries(labels)
      .filter(([k, v]) => v !== undefined && k !== "le")
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}=${JSON.stringify(String(v))}`);
    return parts.length === 0 ? name : `${name}{${parts.join(",")}}`;
  };
  for (const m of await registry.getMetricsAsJSON()) {
    const values = m.values as readonly { value: number; labels: Record<string, string | number | undefined>; metricName?: string }[];
    // prom-client's typings say an enum; at run time the type is its name.
    const type = String(m.type);
    if (type === "histogram" || type === "summary") {
      const sums = new Map<string, { count: number; sum: number }>();
      for (const v of values) {
        const k = key(m.name, v.labels);
        const s = sums.get(k) ?? { count: 0, sum: 0 };
        sums.set(k, s);
        if (v.metricName?.endsWith("_count") === true) s.count = v.value;
        else if (v.metricName?.endsWith("_sum") === true) s.sum = v.value;
      }
      for (const [k, s] of sums) {
        out[`${k}.count`] = s.count;
        out[`${k}.sum`] = s.sum;
        out[`${k}.avg`] = s.count === 0 ? 0 : s.sum / s.count;
      }
      continue;
    }
    for (const v of values) out[key(m.name, v.labels)] = v.value;
  }
  if (filter === undefined || filter === "") return out;
  return Object.fromEntries(Object.entries(out).filter(([k]) => k.includes(filter)));
}

export interface AdminBaseOptions {
  readonly logger: Logger;
  readonly registry: Registry;
  /** Why the process is not ready, or undefined when it is. */
  readiness(): string | undefined;
  /** More to say on /ready (the namer adds its store's health). */
  readinessDetails?(): Record<string, unknown>;
  /** /admin/metrics.json: flat name → number, filtered by Linkerd's ?q=. */
  metricsJson(filter: string | undefined): Promise<Record<string, number>>;
  /** The running config; secrets are hidden before it is served. */
  config(): unknown;
  /** Graceful shutdown, as on SIGTERM. */
  shutdown(): void;
  /** A bearer token that also allows the control endpoints (shutdown, log level) from other hosts. */
  readonly token?: string | undefined;
  /** Other bearers this server checks where it serves more routes (the namer's dtab pages: its write tokens). */
  readonly acceptsBearer?: ((request: FastifyRequest) => boolean) | undefined;
}

/**
 * The endpoints both admin servers answer: /admin/ping, /live, /ready,
 * /metrics (and Linkerd's /admin/metrics/prometheus), /admin/metrics.json,
 * /config.json, /logging GET and PUT ?level=, POST /admin/shutdown. The
 * control endpoints need loopback or the admin token; the cross-site guard
 * is installed too.
 */
export function registerAdminBase(app: FastifyInstance, options: AdminBaseOptions): void {
  guardCrossSite(app, options.token, options.acceptsBearer);
  const refuseControl = (request: FastifyRequest, reply: FastifyReply, what: string): boolean => {
    if (controlAllowed(request, options.token)) return false;
    void reply.code(403).type("text/plain; charset=utf-8").send(`${what} is allowed from loopback, or with the admin token\n`);
    return true;
  };

  app.get("/admin/ping", async (_req, reply) => reply.type("text/plain").send("pong"));
  app.get("/live", async (_req, reply) => reply.send({ live: true }));
  app.get("/ready", async (_req, reply) => {
    const reason = options.readiness();
    reply.code(reason === undefined ? 200 : 503).send({ ready: reason === undefined, ...(reason === undefined ? {} : { reason }), ...options.readinessDetails?.() });
  });

  const prometheus = async (_req: FastifyRequest, reply: FastifyReply) => reply.type(options.registry.contentType).send(await options.registry.metrics());
  app.get("/metrics", prometheus);
  // Linkerd's own path for the same text.
  app.get("/admin/metrics/prometheus", prometheus);
  app.get("/admin/metrics.json", async (request: FastifyRequest<{ Querystring: { q?: string } }>, reply) => reply.send(await options.metricsJson(request.query.q)));

  app.get("/config.json", async (_req, reply) => reply.send(redactSecrets(options.config())));

  app.get("/logging", async (_req, reply) => reply.send({ level: options.logger.level, levels: LOG_LEVELS }));
  app.put("/logging", async (request: FastifyRequest<{ Querystring: { level?: string } }>, reply) => {
    if (refuseControl(request, reply, "changing the log level")) return reply;
    const level = request.query.level as LogLevel | undefined;
    if (level === undefined || !LOG_LEVELS.includes(level)) return reply.code(400).send({ error: `level must be one of ${LOG_LEVELS.join(", ")}` });
    options.logger.level = level;
    return reply.send({ level });
  });

  app.post("/admin/shutdown", async (request, reply) => {
    if (refuseControl(request, reply, "shutdown")) return reply;
    reply.code(202).type("text/plain").send("shutting down\n");
    setImmediate(() => options.shutdown());
    return reply;
  });
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".ico": "image/x-icon",
  ".png": "image/png",
};

/**
 * The pages may load only their own scripts, styles and data: an injected
 * string that slipped past escaping still could not run, and no other site
 * may frame a page that has write buttons.
 */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const full = join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (extname(name) in CONTENT_TYPES) out.push(relative(dir, full).split(sep).join("/"));
    }
  };
  walk(dir);
  return out;
}

/** The first of `candidates` that is a directory (sources run from the tree, the build from dist/), if any. */
export function findDir(candidates: readonly URL[]): string | undefined {
  for (const c of candidates) {
    const path = fileURLToPath(c);
    try {
      if (statSync(path).isDirectory()) return path;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

/** Headers every admin page and asset is served with. */
function pageHeaders(reply: FastifyReply, type: string): FastifyReply {
  return reply
    .type(type)
    .header("cache-control", "no-cache")
    .header("x-content-type-options", "nosniff")
    .header("x-frame-options", "DENY")
    .header("referrer-policy", "no-referrer")
    .header("content-security-policy", CSP);
}

/**
 * Serves the files of `dir` (read once, at start: nothing outside that list
 * can ever be named) under `urlPrefix`, plus `pages`: extra paths that answer
 * with one of those files (e.g. "/" → "index.html").
 */
export function serveFiles(
  app: FastifyInstance,
  options: { readonly dir: readonly URL[]; readonly urlPrefix: string; readonly pages?: Readonly<Record<string, string>>; readonly logger: Logger },
): void {
  const dir = findDir(options.dir);
  if (dir === undefined) {
    // An install without the page files still runs; the pages say what is missing.
    const missing = `the admin page files are not installed (looked in ${options.dir.map((u) => fileURLToPath(u)).join(", ")})`;
    options.logger.warn(missing);
    for (const route of [`${options.urlPrefix.replace(/\/?$/, "/")}*`, ...Object.keys(options.pages ?? {})]) {
      app.get(route, async (_req, reply) => reply.code(404).type("text/plain; charset=utf-8").send(`${missing}\n`));
    }
    return;
  }
  const files = new Map<string, { body: Buffer; type: string }>();
  for (const name of listFiles(dir)) {
    files.set(name, { body: readFileSync(join(dir, name)), type: CONTENT_TYPES[extname(name)] ?? "application/octet-stream" });
  }
  const prefix = options.urlPrefix.endsWith("/") ? options.urlPrefix : `${options.urlPrefix}/`;
  app.get(`${prefix}*`, async (request: FastifyRequest<{ Params: { "*": string } }>, reply) => {
    const file = files.get(request.params["*"]);
    if (file === undefined) return reply.code(404).type("text/plain").send("no such file\n");
    return pageHeaders(reply, file.type).send(file.body);
  });
  for (const [route, name] of Object.entries(options.pages ?? {})) {
    const file = files.get(name);
    if (file === undefined) throw new Error(`admin page ${name} is missing from ${dir}`);
    app.get(route, async (_req, reply) => pageHeaders(reply, file.type).send(file.body));
  }
}

/** The files shared by both admin UIs (base styles, DOM helpers), served under /files/common/. */
export function serveCommonFiles(app: FastifyInstance, logger: Logger): void {
  serveFiles(app, { dir: [new URL("./admin-ui/", import.meta.url), new URL("../../lib/admin-ui/", import.meta.url)], urlPrefix: "/files/common/", logger });
}
