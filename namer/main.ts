// Runs a namer from its config: opens the dtab store, serves each API
// interface and the admin port, and shuts down in order (readiness off,
// watch streams ended, in-flight requests drained, store closed).
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import type { Logger } from "../lib/log.ts";
import { buildAdmin } from "./admin.ts";
import { buildNamerApi, type NamerApi } from "./api/server.ts";
import type { NamerConfig, StorageConfig } from "./config.ts";
import type { RegistryApiOptions } from "./api/registry.ts";
import { NameInterpreter } from "./interpreter/interpreter.ts";
import { createNamerMetrics } from "./metrics.ts";
import { createDiscoveryNamers } from "./namers/index.ts";
import { createRegistryBackend, registryOptionsFor, type RegistryBackend } from "./registry/index.ts";
import { MemoryDtabStore } from "./store/memory.ts";
import { RedisDtabStore } from "./store/redis.ts";
import type { DtabStore } from "./store/types.ts";

export interface RunningNamer {
  readonly store: DtabStore;
  readonly interpreter: NameInterpreter;
  /** Base URLs of the API interfaces, in config order, e.g. http://127.0.0.1:4180 */
  readonly apiUrls: readonly string[];
  readonly adminUrl: string;
  /** Graceful stop: not ready, streams ended, requests drained (at most graceMs), store closed. */
  close(graceMs?: number): Promise<void>;
}

/** A Redis URL fit for logs: credentials removed. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== "" || u.username !== "") {
      u.username = "";
      u.password = "";
    }
    return u.toString();
  } catch {
    return "<unparsable url>";
  }
}

export async function openStore(storage: StorageConfig, logger: Logger): Promise<DtabStore> {
  if (storage.kind === "io.l5d.inMemory") {
    return MemoryDtabStore.open({
      ...(storage.namespaces === undefined ? {} : { namespaces: storage.namespaces }),
      ...(storage.dataDir === undefined ? {} : { dataDir: storage.dataDir }),
      historySize: storage.historySize,
      auditSize: storage.auditSize,
      logger,
    });
  }
  const { kind: _kind, ...redis } = storage;
  return RedisDtabStore.open({ ...redis, logger });
}

function describeStorage(storage: StorageConfig): string {
  if (storage.kind === "io.l5d.inMemory") {
    return storage.dataDir === undefined ? "in memory (not persisted)" : `in memory, persisted to ${storage.dataDir}`;
  }
  if (storage.sentinels !== undefined) return `redis via sentinels ${storage.sentinels.map((s) => `${s.host}:${s.port}`).join(", ")} (master ${storage.name ?? "?"})`;
  return `redis at ${redactUrl(storage.url ?? "redis://127.0.0.1:6379")}`;
}

function urlOf(app: FastifyInstance): string {
  const address = app.server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

export async function startNamer(config: NamerConfig, logger: Logger, hooks: { shutdown?: () => void } = {}): Promise<RunningNamer> {
  const store = await openStore(config.storage, logger);
  logger.info({ storage: describeStorage(config.storage) }, "dtab store opened");
  // The registry lives where the dtabs do (Redis, shared by namer replicas; else memory).
  const registryConfig = config.namers.find((n) => n.kind === "meshd.registry");
  let registry: RegistryBackend | undefined;
  let registryApi: RegistryApiOptions | undefined;
  if (registryConfig !== undefined) {
    registry = createRegistryBackend(registryOptionsFor(config.storage, { logger, maxTtlSeconds: registryConfig.maxTtlSeconds }));
    registryApi = { registry, defaultTtlSeconds: registryConfig.defaultTtlSeconds, maxTtlSeconds: registryConfig.maxTtlSeconds };
  }
  const namers = createDiscoveryNamers(config.namers, { logger, registry });
  for (const n of namers) logger.info({ kind: n.kind, prefix: n.prefix.show }, "namer ready");
  const interpreter = new NameInterpreter(store, namers, { logger });
  const metrics = createNamerMetrics(store);
  let closing = false;
  let listening = false;
  const apis: NamerApi[] = [];
  const admin = buildAdmin({
    store,
    metrics,
    logger,
    config: () => config,
    shutdown: hooks.shutdown ?? (() => process.kill(process.pid, "SIGTERM")),
    token: config.admin.token,
    // The dtab pages write with the first API interface's policy (its tokens, or loopback only).
    ...(config.interfaces[0] === undefined ? {} : { ui: config.interfaces[0] }),
    readiness: {
      notReadyReason: () => {
        if (closing) return "shutting down";
        if (!listening) return "starting";
        if (!store.health().synced) return `dtab store not loaded yet: ${store.health().detail}`;
        return undefined;
      },
    },
  });
  try {
    for (const iface of config.interfaces) {
      const api = await buildNamerApi({ store, config: iface, metrics, logger, interpreter, ...(registryApi === undefined ? {} : { registry: registryApi }) });
      apis.push(api);
      await api.app.listen({ host: iface.ip, port: iface.port });
      const auth = iface.writeTokens === undefined || iface.writeTokens.length === 0 ? "writes from loopback only (no write tokens)" : `writes need one of ${iface.writeTokens.length} bearer token(s)`;
      logger.info({ url: urlOf(api.app), auth }, "namer API listening");
    }
    await admin.listen({ host: config.admin.ip, port: config.admin.port });
    logger.info({ url: urlOf(admin) }, "namer admin listening");
  } catch (e) {
    interpreter.close();
    await Promise.allSettled([...apis.map((a) => a.close()), admin.close(), ...namers.map((n) => n.close()), store.close(), registry?.close()]);
    throw e;
  }
  listening = true;

  return {
    store,
    interpreter,
    apiUrls: apis.map((a) => urlOf(a.app)),
    adminUrl: urlOf(admin),
    async close(graceMs = config.shutdownGraceMs) {
      if (closing) return;
      closing = true;
      logger.info({ graceMs }, "namer shutting down");
      await Promise.allSettled(apis.map((a) => a.close(graceMs)));
      await admin.close();
      interpreter.close();
      await Promise.allSettled(namers.map((n) => n.close()));
      await registry?.close();
      await store.close();
      logger.info("namer stopped");
    },
  };
}
