// The namer's admin server (default 127.0.0.1:9991): liveness, readiness,
// Prometheus metrics. Kept apart from the API port so it can stay private.
import { fastify, LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { Logger } from "../lib/log.ts";
import type { NamerMetrics } from "./metrics.ts";
import type { DtabStore } from "./store/types.ts";

export interface Readiness {
  /** Why the namer is not ready, or undefined when it is. */
  notReadyReason(): string | undefined;
}

export function buildAdmin(options: { store: DtabStore; metrics: NamerMetrics; readiness: Readiness; logger: Logger }): FastifyInstance {
  const { store, metrics, readiness } = options;
  // pino is what fastify logs with; its generic logger type just does not line up with ours.
  const app = fastify({
    loggerInstance: options.logger as unknown as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
  });
  app.get("/admin/ping", async (_req, reply) => reply.type("text/plain").send("pong"));
  app.get("/live", async (_req, reply) => reply.send({ live: true }));
  app.get("/ready", async (_req, reply) => {
    const reason = readiness.notReadyReason();
    const health = store.health();
    reply.code(reason === undefined ? 200 : 503).send({ ready: reason === undefined, ...(reason === undefined ? {} : { reason }), store: health });
  });
  app.get("/metrics", async (_req, reply) => {
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  return app;
}
