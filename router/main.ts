// Runs the routers of a config: namers, interpreters, HTTP routers and
// their listeners, and the admin port; reloads what can change without
// dropping connections, and shuts down in order (not ready, listeners
// drained, clients closed).
import { Dtab, Path } from "../dtab/index.ts";
import type { Logger } from "../lib/log.ts";
import { RemoteNameInterpreter } from "../namer/client/index.ts";
import { createDiscoveryNamers } from "../namer/namers/index.ts";
import { buildRouterAdmin } from "./admin.ts";
import { p2cBalancer } from "./concrete/client.ts";
import type { HttpRouterConfig, InterpreterConfig, RouterConfig } from "./config.ts";
import { HttpRouter } from "./http-router.ts";
import { createIdentifier, identifierChain } from "./identify/identifiers.ts";
import { LocalInterpreter, type RouterInterpreter } from "./interpreter.ts";
import { Listener } from "./server.ts";
import { createTransformer } from "./transformers.ts";

export interface RunningRouter {
  readonly routers: readonly HttpRouter[];
  /** Listener URLs per router label, in config order. */
  readonly listeners: Readonly<Record<string, readonly string[]>>;
  readonly adminUrl: string;
  close(graceMs?: number): Promise<void>;
}

/** The namer's base URL from Linkerd's `dst` (/$/inet/<host>/<port>) or a URL. */
export function namerUrl(dst: string): string {
  if (/^https?:\/\//.test(dst)) return dst.replace(/\/+$/, "");
  const segs = Path.read(dst).segments;
  if (segs[0] === "$" && (segs[1] === "inet" || segs[1] === "fixedinet") && segs.length === 4) {
    const host = segs[2] as string;
    return `http://${host.includes(":") ? `[${host}]` : host}:${segs[3]}`;
  }
  throw new RangeError(`interpreter dst must be /$/inet/<host>/<port> or an http:// URL, got ${dst}`);
}

function buildInterpreter(config: InterpreterConfig, router: HttpRouterConfig, namers: ReturnType<typeof createDiscoveryNamers>, logger: Logger): RouterInterpreter {
  const idleMs = router.bindingCache.idleTtlSecs * 1000;
  if (config.kind === "default") return new LocalInterpreter(Dtab.read(router.dtab), namers, { logger, idleMs });
  const remote = new RemoteNameInterpreter({
    baseUrl: namerUrl(config.dst),
    namespace: config.namespace,
    retry: { baseMs: config.retry.baseSeconds * 1000, maxMs: config.retry.maxSeconds * 1000 },
    ...(config.stateDir === undefined ? {} : { stateDir: config.stateDir }),
    idleMs,
    logger,
  });
  return { bind: (path, local) => remote.bind(path, local), close: async () => remote.close() };
}

export async function startRouter(config: RouterConfig, logger: Logger): Promise<RunningRouter> {
  const namers = createDiscoveryNamers(config.namers, { logger });
  const routers: HttpRouter[] = [];
  const interpreters: RouterInterpreter[] = [];
  const listeners: { label: string; listener: Listener }[] = [];
  const urls: Record<string, string[]> = {};
  let ready = false;
  let closing = false;
  const admin = buildRouterAdmin({
    logger,
    readiness: () => (closing ? "shutting down" : ready ? undefined : "starting"),
    routers: () => routers,
  });
  try {
    for (const rc of config.routers) {
      const label = rc.label ?? rc.protocol;
      const log = logger.child({ router: label });
      const interpreter = buildInterpreter(rc.interpreter, rc, namers, log);
      interpreters.push(interpreter);
      const identifiers = (Array.isArray(rc.identifier) ? rc.identifier : [rc.identifier]).map((i) => createIdentifier(i, Path.read(rc.dstPrefix)));
      const pool = rc.client.kind === "io.l5d.static" ? undefined : rc.client.hostConnectionPool;
      const connectTimeoutMs = rc.client.kind === "io.l5d.static" ? undefined : rc.client.connectTimeoutMs;
      const router = new HttpRouter({
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
        client: {
          endpoint: {
            ...(pool?.maxSize === undefined ? {} : { maxConnections: pool.maxSize }),
            keepAliveTimeoutMs: pool?.idleTimeMs ?? 4_000,
            connectTimeoutMs: connectTimeoutMs ?? 3_000,
          },
          transformers: rc.interpreter.transformers.map(createTransformer),
          balancer: p2cBalancer(),
          logger: log,
        },
        logger: log,
      });
      routers.push(router);
      urls[label] = [];
      for (const sc of rc.servers) {
        const listener = new Listener({ config: sc, router, maxHeaders: rc.maxHeaders, maxHeadersKB: rc.maxHeadersKB, logger: log });
        listeners.push({ label, listener });
        const url = await listener.listen();
        (urls[label] as string[]).push(url);
        log.info({ url, clearContext: listener.clearContext, interpreter: rc.interpreter.kind }, "router listening");
      }
    }
    await admin.listen({ host: config.admin.ip, port: config.admin.port });
    logger.info({ url: `http://${config.admin.ip}:${config.admin.port}` }, "router admin listening");
  } catch (e) {
    await Promise.allSettled([...listeners.map((l) => l.listener.drain(0)), ...routers.map((r) => r.destroy()), ...interpreters.map((i) => i.close()), admin.close()]);
    throw e;
  }
  ready = true;
  const address = admin.server.address();
  const adminUrl = typeof address === "object" && address !== null ? `http://${config.admin.ip}:${address.port}` : `http://${config.admin.ip}:${config.admin.port}`;

  return {
    routers,
    listeners: urls,
    adminUrl,
    async close(graceMs = config.admin.shutdownGraceMs) {
      if (closing) return;
      closing = true;
      logger.info({ graceMs }, "router shutting down");
      await Promise.allSettled(listeners.map((l) => l.listener.drain(graceMs)));
      await Promise.allSettled(routers.map((r) => r.close()));
      await Promise.allSettled(interpreters.map((i) => i.close()));
      await admin.close();
      logger.info("router stopped");
    },
  };
}

