// The router's admin server (default 127.0.0.1:9990): liveness, readiness
// and, as they land, metrics, config and the delegator. Kept off the
// data-path listeners so it can stay private.
import { fastify, LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { Logger } from "../lib/log.ts";
import type { HttpRouter } from "./http-router.ts";

export interface RouterAdminOptions {
  readonly logger: Logger;
  /** Why the router is not ready, or undefined when it is. */
  readiness(): string | undefined;
  routers(): readonly HttpRouter[];
}

export function buildRouterAdmin(options: RouterAdminOptions): FastifyInstance {
  // pino is what fastify logs with; its generic logger type just does not line up with ours.
  const app = fastify({
    loggerInstance: options.logger as unknown as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
  });
  app.get("/admin/ping", async (_req, reply) => reply.type("text/plain").send("pong"));
  app.get("/live", async (_req, reply) => reply.send({ live: true }));
  app.get("/ready", async (_req, reply) => {
    const reason = options.readiness();
    reply.code(reason === undefined ? 200 : 503).send({ ready: reason === undefined, ...(reason === undefined ? {} : { reason }) });
  });
  app.get("/admin/routers.json", async (_req, reply) =>
    reply.send(options.routers().map((r) => ({ label: r.label, ...r.cached }))),
  );
  return app;
}
