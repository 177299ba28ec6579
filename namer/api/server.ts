// Builds one namer API server (an io.l5d.httpController interface): fastify
// with the dtab resource, the namer's error handling, write authorization and
// request metrics. Listening is left to the caller.
import { fastify, LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import { crossSiteReason } from "../../lib/admin.ts";
import type { Logger } from "../../lib/log.ts";
import { answerConnect } from "../../lib/node-http.ts";
import type { HttpControllerConfig } from "../config.ts";
import { NamerError } from "../errors.ts";
import type { NameInterpreter } from "../interpreter/interpreter.ts";
import type { NamerMetrics } from "../metrics.ts";
import type { DtabStore } from "../store/types.ts";
import { loadWriteTokens } from "./auth.ts";
import type { ApiContext } from "./context.ts";
import { DTAB_MEDIA_TYPE, dtabRoutes } from "./dtabs.ts";
import { errorHandler, notFoundHandler } from "./errors.ts";
import { nameRoutes } from "./names.ts";
import { registryRoutes, type RegistryApiOptions } from "./registry.ts";
import { StreamRegistry } from "./stream.ts";

export interface NamerApi {
  readonly app: FastifyInstance;
  readonly streams: StreamRegistry;
  /**
   * Ends every watch stream, stops accepting, lets in-flight requests finish
   * for up to `graceMs`, then closes whatever connections remain.
   */
  close(graceMs?: number): Promise<void>;
}

export async function buildNamerApi(options: {
  readonly store: DtabStore;
  readonly config: HttpControllerConfig;
  readonly metrics: NamerMetrics;
  readonly logger: Logger;
  readonly interpreter?: NameInterpreter;
  readonly registry?: RegistryApiOptions;
}): Promise<NamerApi> {
  const { store, config, metrics } = options;
  const streams = new StreamRegistry();
  const ctx: ApiContext = {
    store,
    tokens: await loadWriteTokens(config.writeTokens),
    allowUnconditionalWrites: config.allowUnconditionalWrites,
    keepAliveMs: config.watchKeepAliveMs,
    streams,
    metrics,
    interpreter: options.interpreter,
    nameTimeoutMs: config.nameTimeoutMs,
    delegateTimeoutMs: config.delegateTimeoutMs,
  };
  const app = fastify({
    // pino is what fastify logs with; its generic logger type just does not line up with ours.
    loggerInstance: options.logger as unknown as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.maxBodyBytes,
    exposeHeadRoutes: false,
    return503OnClosing: true,
    // Requests fastify refuses before routing (a bad target) get the API's error format too.
    frameworkErrors: (error, request, reply) => errorHandler(error, request, reply),
  });
  answerConnect(app.server);
  app.addContentTypeParser(DTAB_MEDIA_TYPE, { parseAs: "string" }, (_request, body, done) => done(null, body));
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  // Loopback clients may write without a token: keep browsers on this host from being used for that.
  app.addHook("onRequest", async (request) => {
    // Writes check a bearer only when the interface has write tokens; without them, loopback is the only credential.
    const reason = crossSiteReason(request, ctx.tokens.length > 0);
    if (reason !== undefined) throw new NamerError("NAMER_ERR_CROSS_SITE", `refused: ${reason}`);
  });
  app.addHook("onResponse", async (request, reply) => {
    const route = request.routeOptions.url ?? "unmatched";
    metrics.requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    metrics.duration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });
  await app.register(dtabRoutes(ctx));
  await app.register(nameRoutes(ctx));
  if (options.registry !== undefined) await app.register(registryRoutes(ctx, options.registry));
  return {
    app,
    streams,
    async close(graceMs = 5_000) {
      streams.closeAll();
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
      const closed = app.close();
      await Promise.race([closed, grace]);
      clearTimeout(timer);
      // Keep-alive connections a client left open (a watcher that went away) must not hold shutdown.
      app.server.closeAllConnections();
      await closed;
    },
  };
}
