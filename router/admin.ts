// The router's admin server (default 127.0.0.1:9990): liveness and
// readiness, metrics (Prometheus and Linkerd's metrics.json), the running
// config, the delegator (explain a path), client state, the log level at
// run time, and a shutdown that only loopback clients (or the admin token)
// may ask for. Kept off the data-path listeners so it can stay private.
import { createHash, timingSafeEqual } from "node:crypto";
import { fastify, LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from "fastify";
import { Dtab, DtabError, Path } from "../dtab/index.ts";
import type { Logger, LogLevel } from "../lib/log.ts";
import type { HttpRouter } from "./http-router.ts";
import { linkerdMetrics, type RouterMetrics } from "./telemetry/metrics.ts";

export interface RouterAdminOptions {
  readonly logger: Logger;
  readonly metrics: RouterMetrics;
  /** Why the router is not ready, or undefined when it is. */
  readiness(): string | undefined;
  routers(): readonly HttpRouter[];
  /** The running config, secrets hidden. */
  config(): unknown;
  /** Graceful shutdown, as on SIGTERM. */
  shutdown(): void;
  /** A bearer token that also allows POST /admin/shutdown from other hosts. */
  readonly token?: string;
}

const LEVELS: readonly LogLevel[] = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

function isLoopback(ip: string): boolean {
  const a = ip.startsWith("::ffff:") ? ip.slice(7) : ip;
  return a === "::1" || a.startsWith("127.");
}

function tokenMatches(request: FastifyRequest, token: string | undefined): boolean {
  if (token === undefined) return false;
  const presented = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? "")?.[1];
  if (presented === undefined) return false;
  const digest = (s: string): Buffer => createHash("sha256").update(s).digest();
  return timingSafeEqual(digest(presented), digest(token));
}

export function buildRouterAdmin(options: RouterAdminOptions): FastifyInstance {
  // pino is what fastify logs with; its generic logger type just does not line up with ours.
  const app = fastify({
    loggerInstance: options.logger as unknown as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
  });
  const { metrics } = options;

  app.get("/admin/ping", async (_req, reply) => reply.type("text/plain").send("pong"));
  app.get("/live", async (_req, reply) => reply.send({ live: true }));
  app.get("/ready", async (_req, reply) => {
    const reason = options.readiness();
    reply.code(reason === undefined ? 200 : 503).send({ ready: reason === undefined, ...(reason === undefined ? {} : { reason }) });
  });

  const prometheus = async (_req: FastifyRequest, reply: { type(t: string): { send(b: string): unknown } }) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  app.get("/metrics", prometheus);
  // Linkerd's own path for the same text.
  app.get("/admin/metrics/prometheus", prometheus);
  app.get("/admin/metrics.json", async (request: FastifyRequest<{ Querystring: { q?: string } }>, reply) => reply.send(await linkerdMetrics(metrics, request.query.q)));

  app.get("/config.json", async (_req, reply) => reply.send(options.config()));

  app.get("/admin/routers.json", async (_req, reply) =>
    reply.send(options.routers().map((r) => ({ label: r.label, ...r.cached, dtab: r.routerDtab.show }))),
  );

  app.get("/client_state.json", async (_req, reply) => {
    const now = performance.now();
    const out: Record<string, unknown> = {};
    for (const r of options.routers()) {
      for (const c of r.clients) {
        out[`${r.label} ${c.name.show}`] = {
          router: r.label,
          client: c.name.show,
          state: c.state,
          inFlight: c.inFlight,
          balancer: c.policy.balancer.kind,
          endpoints: c.endpoints.map((e) => ({
            address: e.key,
            weight: e.weight,
            pending: e.pending,
            accrual: e.accrual.state(now),
            available: e.available(now),
            load: c.policy.balancer.load(e, now),
            ...e.accrual.stats,
          })),
        };
      }
    }
    reply.send(out);
  });

  // Explain a path, as the dtab playground does: ?path=/svc/x[&dtab=extra][&router=label]
  app.get("/delegator.json", async (request: FastifyRequest<{ Querystring: { path?: string; dtab?: string; router?: string } }>, reply) => {
    const { path: pathText, dtab: dtabText, router: label } = request.query;
    const routers = options.routers();
    const router = label === undefined ? routers[0] : routers.find((r) => r.label === label);
    if (router === undefined) return reply.code(404).type("text/plain").send(`no router ${label ?? ""}\n`);
    let path: Path;
    let extra = Dtab.empty;
    try {
      path = Path.read(pathText ?? "");
    } catch (e) {
      return reply.code(400).type("text/plain").send(`Invalid path: ${e instanceof DtabError ? e.message : String(e)}\n`);
    }
    try {
      if (dtabText !== undefined && dtabText !== "") extra = Dtab.read(dtabText);
    } catch (e) {
      return reply.code(400).type("text/plain").send(`Invalid dtab: ${e instanceof DtabError ? e.message : String(e)}\n`);
    }
    try {
      return reply.send(await localDelegate(router, path, extra));
    } catch (e) {
      return reply.code(e instanceof DtabError ? e.status : 500).type("text/plain").send(`${e instanceof Error ? e.message : String(e)}\n`);
    }
  });

  app.get("/logging", async (_req, reply) => reply.send({ level: options.logger.level, levels: LEVELS }));
  app.put("/logging", async (request: FastifyRequest<{ Querystring: { level?: string } }>, reply) => {
    const level = request.query.level as LogLevel | undefined;
    if (level === undefined || !LEVELS.includes(level)) return reply.code(400).send({ error: `level must be one of ${LEVELS.join(", ")}` });
    options.logger.level = level;
    return reply.send({ level });
  });

  app.post("/admin/shutdown", async (request, reply) => {
    if (!isLoopback(request.ip) && !tokenMatches(request, options.token)) {
      return reply.code(403).type("text/plain").send("shutdown is allowed from loopback, or with the admin token\n");
    }
    reply.code(202).type("text/plain").send("shutting down\n");
    setImmediate(() => options.shutdown());
    return reply;
  });
  return app;
}

/** The interpreter's explanation: its base dtab ++ the router's dtab ++ the extra one, over its namers. */
function localDelegate(router: HttpRouter, path: Path, extra: Dtab): Promise<unknown> {
  return router.interpreter.explain(path, Dtab.concat(router.routerDtab, extra));
}
