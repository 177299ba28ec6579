// The namer's admin server (default 127.0.0.1:9991): liveness, readiness,
// metrics (Prometheus and flat JSON), the redacted config, log level,
// shutdown, and the dtab pages at / (namespaces, view and edit with
// compare-and-set, history and rollback). Kept apart from the API port so it
// can stay private.
//
// The pages read and write dtabs through this same origin: the API's dtab
// resource is mounted here with the write policy of the first API interface
// (its write tokens, or loopback only), so a write from the page needs
// exactly what a write to the API needs — no CORS opening of the API, no
// proxy that would turn every admin client into a trusted loopback one.
import type { FastifyInstance } from "fastify";
import { createAdminApp, flatMetrics, registerAdminBase, serveCommonFiles, serveFiles } from "../lib/admin.ts";
import type { Logger } from "../lib/log.ts";
import { bearerIsOneOf, loadWriteTokens } from "./api/auth.ts";
import type { ApiContext } from "./api/context.ts";
import { DTAB_MEDIA_TYPE, dtabRoutes } from "./api/dtabs.ts";
import { errorHandler } from "./api/errors.ts";
import { StreamRegistry } from "./api/stream.ts";
import type { HttpControllerConfig } from "./config.ts";
import type { NamerMetrics } from "./metrics.ts";
import type { DtabStore } from "./store/types.ts";

export interface Readiness {
  /** Why the namer is not ready, or undefined when it is. */
  notReadyReason(): string | undefined;
}

export interface NamerAdminOptions {
  readonly store: DtabStore;
  readonly metrics: NamerMetrics;
  readonly readiness: Readiness;
  readonly logger: Logger;
  /** The running config (secrets are hidden before it is served). */
  config?(): unknown;
  /** Graceful shutdown, as on SIGTERM. */
  shutdown?(): void;
  /** A bearer token that also allows POST /admin/shutdown and PUT /logging from other hosts. */
  readonly token?: string | undefined;
  /** The API interface whose write policy the dtab pages follow; without it the admin serves no pages. */
  readonly ui?: HttpControllerConfig;
}

/** The page files: next to this module when run from source, in the source tree when run from dist/. */
const UI_DIR = [new URL("./admin/ui/", import.meta.url), new URL("../../namer/admin/ui/", import.meta.url)];

export function buildAdmin(options: NamerAdminOptions): FastifyInstance {
  const { store, metrics, readiness } = options;
  // The dtab resource declares its own HEAD route (fastify would add a clashing one for its GET),
  // so this server, like the API's, answers HEAD only where a route says so.
  const app = createAdminApp(options.logger, { exposeHeadRoutes: options.ui === undefined });
  /** The dtab pages' write tokens, loaded as the app starts. */
  let writeTokens: Awaited<ReturnType<typeof loadWriteTokens>> = [];
  registerAdminBase(app, {
    logger: options.logger,
    registry: metrics.registry,
    readiness: () => readiness.notReadyReason(),
    readinessDetails: () => ({ store: store.health() }),
    metricsJson: (filter) => flatMetrics(metrics.registry, filter),
    config: options.config ?? (() => ({})),
    shutdown: options.shutdown ?? (() => process.kill(process.pid, "SIGTERM")),
    token: options.token,
    // The dtab pages' writes check the API's write tokens: such a bearer passes the cross-site guard too.
    acceptsBearer: (request) => bearerIsOneOf(request, writeTokens),
  });

  const ui = options.ui;
  if (ui === undefined) return app;
  serveCommonFiles(app, options.logger);
  serveFiles(app, { dir: UI_DIR, urlPrefix: "/files/", pages: { "/": "index.html" }, logger: options.logger });
  const streams = new StreamRegistry();
  app.addHook("onClose", async () => streams.closeAll());
  // Encapsulated: the API's body parser and error handler apply to its routes only.
  void app.register(async (scope) => {
    scope.addContentTypeParser(DTAB_MEDIA_TYPE, { parseAs: "string", bodyLimit: ui.maxBodyBytes }, (_request, body, done) => done(null, body));
    scope.setErrorHandler(errorHandler);
    const ctx: ApiContext = {
      store,
      tokens: (writeTokens = await loadWriteTokens(ui.writeTokens)),
      allowUnconditionalWrites: ui.allowUnconditionalWrites,
      keepAliveMs: ui.watchKeepAliveMs,
      streams,
      metrics,
      interpreter: undefined,
      nameTimeoutMs: ui.nameTimeoutMs,
      delegateTimeoutMs: ui.delegateTimeoutMs,
    };
    await scope.register(dtabRoutes(ctx));
  });
  return app;
}
