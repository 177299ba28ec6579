// Runs the routers of a config: namers, interpreters, HTTP routers and
// their listeners, and the admin port; reloads what changed without
// dropping connections (SIGHUP), and shuts down in order (not ready,
// listeners drained, clients closed).
import { Dtab, Path, type DelegateJson } from "../dtab/index.ts";
import type { Logger } from "../lib/log.ts";
import { getText } from "../lib/node-http.ts";
import { RemoteNameInterpreter } from "../namer/client/index.ts";
import { createDiscoveryNamers, type DiscoveryNamer } from "../namer/namers/index.ts";
import { buildRouterAdmin } from "./admin.ts";
import type { HttpRouterConfig, RouterConfig, ServerConfig } from "./config.ts";
import { HttpRouter, type HttpRouterOptions } from "./http-router.ts";
import { createIdentifier, identifierChain } from "./identify/identifiers.ts";
import { LocalInterpreter, namerUrl, type RouterInterpreter } from "./interpreter.ts";
import { Listener, type ListenerOptions } from "./server.ts";
import { AccessLog } from "./telemetry/access-log.ts";
import { closeExporters, startExporters, type Exporters } from "./telemetry/index.ts";
import { RouterMetrics } from "./telemetry/metrics.ts";
import { createTransformer } from "./transformers.ts";

/** Gauges read at scrape time: load balancer sizes, endpoints held out, in-flight counts. */
function registerGauges(metrics: RouterMetrics, routers: () => readonly HttpRouter[], listeners: () => readonly { rt: string; server: string; listener: Listener }[]): void {
  const perClient = (value: (c: HttpRouter["clients"][number], now: number) => number) => (set: (labels: Record<string, string>, v: number) => void) => {
    const now = performance.now();
    for (const r of routers()) for (const c of r.clients) set({ rt: r.label, client: c.name.show }, value(c, now));
  };
  metrics.gauge("rt_client_loadbalancer_size", "Endpoints a client balances over", ["rt", "client"], perClient((c) => c.endpoints.length));
  metrics.gauge("rt_client_loadbalancer_available", "Endpoints failure accrual leaves available", ["rt", "client"], perClient((c, now) => c.endpoints.filter((e) => e.available(now)).length));
  metrics.gauge("rt_client_failure_accrual_removals", "Times endpoints were marked dead", ["rt", "client"], perClient((c) => c.endpoints.reduce((n, e) => n + e.accrual.stats.removals, 0)));
  metrics.gauge("rt_client_pending", "Requests in flight to a client", ["rt", "client"], perClient((c) => c.inFlight));
  metrics.gauge("rt_server_in_flight", "Requests in flight on a server", ["rt", "server"], (set) => {
    for (const l of listeners()) set({ rt: l.rt, server: l.server }, l.listener.inFlight);
  });
}

export interface RunningRouter {
  readonly routers: readonly HttpRouter[];
  /** Listener URLs per router label, in config order. */
  readonly listeners: Readonly<Record<string, readonly string[]>>;
  readonly adminUrl: string;
  /** Applies a new config: dtabs, namers, interpreters, policies, listeners (changed ones re-bound). */
  reload(config: RouterConfig): Promise<void>;
  close(graceMs?: number): Promise<void>;
}

function labelOf(rc: HttpRouterConfig): string {
  return rc.label ?? rc.protocol;
}

function serverKey(sc: ServerConfig): string {
  return `${sc.ip}:${sc.port}`;
}

function buildInterpreter(rc: HttpRouterConfig, namers: readonly DiscoveryNamer[], logger: Logger): RouterInterpreter {
  const config = rc.interpreter;
  const idleMs = rc.bindingCache.idleTtlSecs * 1000;
  if (config.kind === "default") return new LocalInterpreter(Dtab.read(rc.dtab), namers, { logger, idleMs });
  const base = namerUrl(config.dst);
  const remote = new RemoteNameInterpreter({
    baseUrl: base,
    namespace: config.namespace,
    retry: { baseMs: config.retry.baseSeconds * 1000, maxMs: config.retry.maxSeconds * 1000 },
    ...(config.stateDir === undefined ? {} : { stateDir: config.stateDir }),
    idleMs,
    logger,
  });
  // Ready once the namer has answered, or bindings saved by an earlier run can be served.
  const probe = new AbortController();
  let reached = false;
  void (async () => {
    while (!reached && !probe.signal.aborted) {
      try {
        reached = (await getText(`${base}/api/1/dtabs`, { signal: AbortSignal.any([probe.signal, AbortSignal.timeout(2_000)]) })).status < 500;
      } catch {
        // Not there yet.
      }
      if (!reached) await new Promise((r) => setTimeout(r, 500).unref());
    }
  })();
  return {
    bind: (path, local) => remote.bind(path, local),
    notReady: () => (reached || remote.cached.snapshot > 0 ? undefined : `the namer at ${base} has not answered yet and no saved bindings exist`),
    // The namer explains with its namespace's dtab ++ what the router adds.
    explain: async (path, local) => {
      const url = `${base}/api/1/delegate/${encodeURIComponent(config.namespace)}?path=${encodeURIComponent(path.show)}&dtab=${encodeURIComponent(local.show)}`;
      const res = await getText(url, { signal: AbortSignal.timeout(5_000) });
      if (!res.ok) throw new RangeError(`the namer answered ${res.status}: ${res.body.trim()}`);
      return JSON.parse(res.body) as DelegateJson;
    },
    close: async () => {
      probe.abort();
      await remote.close();
    },
  };
}

/** The router's access log file (or stdout), if it keeps one: `accessLog`, or Linkerd's `httpAccessLog`. */
function accessLogPath(rc: HttpRouterConfig): { path: string | undefined } | undefined {
  if (rc.accessLog !== undefined) return { path: rc.accessLog.path };
  if (rc.httpAccessLog !== undefined) return { path: rc.httpAccessLog };
  return undefined;
}

function routerOptions(rc: HttpRouterConfig, interpreter: RouterInterpreter, logger: Logger, metrics: RouterMetrics, telemetry: { accessLog: AccessLog | undefined; exporters: Exporters }): HttpRouterOptions {
  const label = labelOf(rc);
  const identifiers = (Array.isArray(rc.identifier) ? rc.identifier : [rc.identifier]).map((i) => createIdentifier(i, Path.read(rc.dstPrefix)));
  return {
    label,
    identifier: identifierChain(identifiers),
    interpreter,
    // The default interpreter has the router's dtab as its base; a namer gets it with every bind.
    routerDtab: rc.interpreter.kind === "default" ? Dtab.empty : Dtab.read(rc.dtab),
    namespace: rc.interpreter.kind === "default" ? `router ${label}` : rc.interpreter.namespace,
    bindingTimeoutMs: rc.bindingTimeoutMs,
    maxHeaders: rc.maxHeaders,
    maxCallDepth: rc.maxCallDepth,
    idleTtlMs: rc.bindingCache.idleTtlSecs * 1000,
    maxLogicals: rc.bindingCache.paths,
    maxClients: rc.bindingCache.clients,
    client: {
      // Defaults; each client's hostConnectionPool and connectTimeoutMs (global or by prefix) override them.
      endpoint: { keepAliveTimeoutMs: 4_000, connectTimeoutMs: 3_000 },
      transformers: rc.interpreter.transformers.map(createTransformer),
      config: rc.client,
      logger,
      stats: (client) => metrics.client(label, client),
    },
    service: rc.service,
    metrics,
    accessLog: telemetry.accessLog,
    tracer: telemetry.exporters.tracer,
    logger,
  };
}

/** One running router: its config, interpreter, HTTP router and listeners by ip:port. */
interface Assembly {
  config: HttpRouterConfig;
  interpreter: RouterInterpreter;
  router: HttpRouter;
  accessLog: AccessLog | undefined;
  readonly listeners: Map<string, Listener>;
  readonly logger: Logger;
}

function listenerOptions(sc: ServerConfig, a: { config: HttpRouterConfig; router: HttpRouter; logger: Logger }): ListenerOptions {
  return { config: sc, router: a.router, maxHeaders: a.config.maxHeaders, maxHeadersKB: a.config.maxHeadersKB, logger: a.logger };
}

export async function startRouter(initial: RouterConfig, logger: Logger, hooks: { shutdown?: () => void } = {}): Promise<RunningRouter> {
  let config = initial;
  let namers = createDiscoveryNamers(config.namers, { logger });
  const assemblies = new Map<string, Assembly>();
  let ready = false;
  let closing = false;
  const metrics = new RouterMetrics();
  let exporters = await startExporters(config.telemetry, metrics, logger);
  metrics.setSinks(exporters.sinks);
  const routersNow = (): HttpRouter[] => [...assemblies.values()].map((a) => a.router);
  registerGauges(metrics, routersNow, () => [...assemblies.values()].flatMap((a) => [...a.listeners.entries()].map(([server, l]) => ({ rt: labelOf(a.config), server, listener: l }))));
  const admin = buildRouterAdmin({
    logger,
    metrics,
    readiness: () => {
      if (closing) return "shutting down";
      if (!ready) return "starting";
      for (const a of assemblies.values()) {
        const why = a.interpreter.notReady?.();
        if (why !== undefined) return `router ${labelOf(a.config)}: ${why}`;
      }
      return undefined;
    },
    routers: routersNow,
    config: () => config,
    shutdown: () => (hooks.shutdown ?? (() => process.kill(process.pid, "SIGTERM")))(),
    token: config.admin.token,
  });

  const open = async (a: Assembly, sc: ServerConfig): Promise<void> => {
    const listener = new Listener(listenerOptions(sc, a));
    const url = await listener.listen();
    a.listeners.set(serverKey(sc), listener);
    a.logger.info({ url, clearContext: listener.clearContext, interpreter: a.config.interpreter.kind }, "router listening");
  };

  const assemble = async (rc: HttpRouterConfig): Promise<void> => {
    const log = logger.child({ router: labelOf(rc) });
    const interpreter = buildInterpreter(rc, namers, log);
    const logFile = accessLogPath(rc);
    const accessLog = logFile === undefined ? undefined : new AccessLog(logFile);
    const router = new HttpRouter(routerOptions(rc, interpreter, log, metrics, { accessLog, exporters }));
    const a: Assembly = { config: rc, interpreter, router, accessLog, listeners: new Map(), logger: log };
    assemblies.set(labelOf(rc), a);
    for (const sc of rc.servers) await open(a, sc);
  };

  const teardown = async (a: Assembly, graceMs: number): Promise<void> => {
    await Promise.allSettled([...a.listeners.values()].map((l) => l.drain(graceMs)));
    await a.router.close();
    await a.interpreter.close();
    await a.accessLog?.close();
  };

  try {
    for (const rc of config.routers) await assemble(rc);
    await admin.listen({ host: config.admin.ip, port: config.admin.port });
    logger.info({ url: `http://${config.admin.ip}:${config.admin.port}` }, "router admin listening");
  } catch (e) {
    await Promise.allSettled([...assemblies.values()].map((a) => teardown(a, 0)));
    await admin.close();
    await closeExporters(exporters);
    throw e;
  }
  ready = true;
  const address = admin.server.address();
  const adminUrl = typeof address === "object" && address !== null ? `http://${config.admin.ip}:${address.port}` : `http://${config.admin.ip}:${config.admin.port}`;

  return {
    get routers() {
      return [...assemblies.values()].map((a) => a.router);
    },
    get listeners() {
      const out: Record<string, string[]> = {};
      for (const [label, a] of assemblies) out[label] = [...a.listeners.keys()].map((k) => `http://${k}`);
      return out;
    },
    adminUrl,

    async reload(next: RouterConfig) {
      const namersChanged = JSON.stringify(next.namers) !== JSON.stringify(config.namers);
      const oldNamers = namers;
      const oldExporters = exporters;
      const telemetryChanged = JSON.stringify(next.telemetry) !== JSON.stringify(config.telemetry);
      if (telemetryChanged) {
        exporters = await startExporters(next.telemetry, metrics, logger);
        metrics.setSinks(exporters.sinks);
      }
      if (namersChanged) namers = createDiscoveryNamers(next.namers, { logger });
      const wanted = new Map(next.routers.map((rc) => [labelOf(rc), rc]));
      for (const [label, a] of assemblies) {
        if (wanted.has(label)) continue;
        assemblies.delete(label);
        await teardown(a, next.admin.shutdownGraceMs);
        logger.info({ router: label }, "router removed by reload");
      }
      for (const [label, rc] of wanted) {
        const a = assemblies.get(label);
        if (a === undefined) {
          await assemble(rc);
          logger.info({ router: label }, "router added by reload");
          continue;
        }
        const oldInterpreter = a.interpreter;
        const interpreterChanged =
          namersChanged ||
          JSON.stringify(rc.interpreter) !== JSON.stringify(a.config.interpreter) ||
          (rc.interpreter.kind === "default" && rc.dtab !== a.config.dtab) ||
          rc.bindingCache.idleTtlSecs !== a.config.bindingCache.idleTtlSecs;
        if (interpreterChanged) a.interpreter = buildInterpreter(rc, namers, a.logger);
        const oldAccessLog = a.accessLog;
        const logFile = accessLogPath(rc);
        if (logFile?.path !== oldAccessLog?.path || (logFile === undefined) !== (oldAccessLog === undefined)) {
          a.accessLog = logFile === undefined ? undefined : new AccessLog(logFile);
        } else a.accessLog?.reopen(); // after logrotate moved the file
        a.config = rc;
        a.router.reconfigure(routerOptions(rc, a.interpreter, a.logger, metrics, { accessLog: a.accessLog, exporters }));
        if (oldAccessLog !== a.accessLog) await oldAccessLog?.close();
        if (interpreterChanged) await oldInterpreter.close();
        // Listeners: same ip:port keep their sockets; the rest are re-bound.
        const servers = new Map(rc.servers.map((sc) => [serverKey(sc), sc]));
        for (const [key, listener] of a.listeners) {
          const sc = servers.get(key);
          if (sc === undefined) {
            a.listeners.delete(key);
            await listener.drain(next.admin.shutdownGraceMs);
          } else listener.update(listenerOptions(sc, a));
        }
        for (const [key, sc] of servers) if (!a.listeners.has(key)) await open(a, sc);
      }
      if (namersChanged) await Promise.allSettled(oldNamers.map((n) => n.close()));
      if (telemetryChanged) await closeExporters(oldExporters);
      if (next.admin.ip !== config.admin.ip || next.admin.port !== config.admin.port) {
        logger.warn({ running: `${config.admin.ip}:${config.admin.port}`, configured: `${next.admin.ip}:${next.admin.port}` }, "the admin address changes only on restart; it stays where it is");
      }
      config = { ...next, admin: { ...next.admin, ip: config.admin.ip, port: config.admin.port } };
      logger.info("configuration reloaded");
    },

    async close(graceMs = config.admin.shutdownGraceMs) {
      if (closing) return;
      closing = true;
      logger.info({ graceMs }, "router shutting down");
      await Promise.allSettled([...assemblies.values()].map((a) => teardown(a, graceMs)));
      await Promise.allSettled(namers.map((n) => n.close()));
      await closeExporters(exporters);
      await admin.close();
      logger.info("router stopped");
    },
  };
}
