// The router's admin server (default 127.0.0.1:9990): liveness and
// readiness, metrics (Prometheus and Linkerd's metrics.json), the running
// config, the delegator (explain a path), client state, each router's dtab
// chain, the log level at run time, a shutdown that only loopback clients (or
// the admin token) may ask for, and the pages: the dashboard at / and the
// dtab playground at /dtab. Kept off the data-path listeners so it can stay private.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { Dtab, DtabError, Path } from "../dtab/index.ts";
import { createAdminApp, registerAdminBase, serveCommonFiles, serveFiles } from "../lib/admin.ts";
import type { Logger } from "../lib/log.ts";
import { getText } from "../lib/node-http.ts";
import type { RouterConfig } from "./config.ts";
import type { HttpRouter } from "./http-router.ts";
import { LocalInterpreter } from "./interpreter.ts";
import { namerUrl } from "./interpreter.ts";
import { linkerdMetrics, type RouterMetrics } from "./telemetry/metrics.ts";

export interface RouterAdminOptions {
  readonly logger: Logger;
  readonly metrics: RouterMetrics;
  /** Why the router is not ready, or undefined when it is. */
  readiness(): string | undefined;
  routers(): readonly HttpRouter[];
  /** The running config (secrets are hidden before it is served). */
  config(): unknown;
  /** Graceful shutdown, as on SIGTERM. */
  shutdown(): void;
  /** A bearer token (admin.token) that also allows the control endpoints (shutdown, log level) from other hosts. */
  readonly token?: string | undefined;
}

/** One link of a router's dtab chain, first to last (later entries win). */
interface ChainLink {
  readonly source: string;
  readonly dtab: string;
  readonly version?: string;
  readonly error?: string;
}

/** How long the admin waits for a namer when it shows a namespace's dtab (ms). */
const NAMER_FETCH_TIMEOUT_MS = 2_000;

/** The page files: next to this module when run from source, in the source tree when run from dist/. */
const UI_DIR = [new URL("./admin/ui/", import.meta.url), new URL("../../router/admin/ui/", import.meta.url)];

/** The dtabs a request to this router is bound with, before any request dtab. */
async function dtabChain(router: HttpRouter, config: RouterConfig | undefined): Promise<{ interpreter: Record<string, string>; chain: ChainLink[] }> {
  const rc = config?.routers.find((c) => (c.label ?? c.protocol) === router.label);
  if (router.interpreter instanceof LocalInterpreter) {
    const state = await router.interpreter.dtab.get();
    return { interpreter: { kind: "default" }, chain: [{ source: "router dtab (config)", dtab: state?.dtab.show ?? "", ...(state === undefined ? {} : { version: state.version }) }] };
  }
  const routerLink: ChainLink = { source: "router dtab (config)", dtab: router.routerDtab.show };
  if (rc === undefined || rc.interpreter.kind === "default") return { interpreter: { kind: "unknown" }, chain: [routerLink] };
  const { namespace, dst } = rc.interpreter;
  const source = `namer namespace ${namespace}`;
  let base: string;
  try {
    base = namerUrl(dst);
  } catch (e) {
    return { interpreter: { kind: rc.interpreter.kind, namespace, dst }, chain: [{ source, dtab: "", error: (e as Error).message }, routerLink] };
  }
  const interpreter = { kind: rc.interpreter.kind, namespace, namer: base };
  try {
    const res = await getText(`${base}/api/1/dtabs/${encodeURIComponent(namespace)}`, { headers: { accept: "application/dtab" }, signal: AbortSignal.timeout(NAMER_FETCH_TIMEOUT_MS) });
    const body = res.body.trim();
    if (!res.ok) return { interpreter, chain: [{ source, dtab: "", error: `the namer answered ${res.status}: ${body.slice(0, 300)}` }, routerLink] };
    return { interpreter, chain: [{ source, dtab: body, version: (res.headers.etag ?? "").replace(/"/g, "") }, routerLink] };
  } catch (e) {
    return { interpreter, chain: [{ source, dtab: "", error: `the namer could not be reached: ${(e as Error).message}` }, routerLink] };
  }
}

/** A 400 for a path or dtab that does not parse: JSON with the offset when asked for, else Linkerd's text. */
function invalidInput(request: FastifyRequest, reply: FastifyReply, what: "path" | "dtab", e: unknown): FastifyReply {
  const message = e instanceof DtabError ? e.message : String(e);
  const label = what === "path" ? "Invalid path" : "Invalid dtab";
  if ((request.headers.accept ?? "").includes("application/json")) {
    return reply.code(400).send({ error: `${label}: ${message}`, what, message, ...(e instanceof DtabError && e.offset !== undefined ? { offset: e.offset } : {}) });
  }
  return reply.code(400).type("text/plain").send(`${label}: ${message}\n`);
}

export function buildRouterAdmin(options: RouterAdminOptions): FastifyInstance {
  const app = createAdminApp(options.logger);
  const { metrics } = options;

  registerAdminBase(app, {
    logger: options.logger,
    registry: metrics.registry,
    readiness: options.readiness,
    metricsJson: (filter) => linkerdMetrics(metrics, filter),
    config: options.config,
    shutdown: options.shutdown,
    token: options.token,
  });

  serveCommonFiles(app, options.logger);
  serveFiles(app, { dir: UI_DIR, urlPrefix: "/files/", pages: { "/": "index.html", "/dtab": "dtab.html", "/delegator": "dtab.html" }, logger: options.logger });

  app.get("/admin/routers.json", async (_req, reply) => {
    const config = options.config() as RouterConfig | undefined;
    const out = await Promise.all(options.routers().map(async (r) => ({ label: r.label, ...r.cached, dtab: r.routerDtab.show, ...(await dtabChain(r, config)) })));
    return reply.send(out);
  });

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
      return invalidInput(request, reply, "path", e);
    }
    try {
      if (dtabText !== undefined && dtabText !== "") extra = Dtab.read(dtabText);
    } catch (e) {
      return invalidInput(request, reply, "dtab", e);
    }
    try {
      return reply.send(await localDelegate(router, path, extra));
    } catch (e) {
      return reply.code(e instanceof DtabError ? e.status : 500).type("text/plain").send(`${e instanceof Error ? e.message : String(e)}\n`);
    }
  });

  return app;
}

/** The interpreter's explanation: its base dtab ++ the router's dtab ++ the extra one, over its namers. */
function localDelegate(router: HttpRouter, path: Path, extra: Dtab): Promise<unknown> {
  return router.interpreter.explain(path, Dtab.concat(router.routerDtab, extra));
}
