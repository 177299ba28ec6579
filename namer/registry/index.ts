// The service registry behind meshd.registry: the backend contract, the
// in-memory and Redis backends, and the factory that picks one (Redis when
// the namer's dtab store is Redis, so replicas share registrations).

import type { StorageConfig } from "../config.ts";
import { MemoryRegistry, type MemoryRegistryOptions } from "./memory.ts";
import { RedisRegistry, type RedisRegistryOptions } from "./redis.ts";
import type { RegistryBackend } from "./types.ts";

export type { Instance, InstanceMeta, Registration, RegistryBackend, RegistryClock, Unsubscribe } from "./types.ts";
export { DEFAULT_MAX_TTL_SECONDS, instanceId, isServiceName, systemClock } from "./instances.ts";
export { MemoryRegistry } from "./memory.ts";
export type { MemoryRegistryOptions } from "./memory.ts";
export { DEFAULT_REGISTRY_PREFIX, RedisRegistry, registryChannel, registryKeys } from "./redis.ts";
export type { RedisRegistryOptions } from "./redis.ts";

export type RegistryBackendOptions = ({ readonly kind: "memory" } & MemoryRegistryOptions) | ({ readonly kind: "redis" } & RedisRegistryOptions);

/** Opens a registry backend; the Redis one does not wait for Redis (it connects and reconnects on its own). */
export function createRegistryBackend(options: RegistryBackendOptions): RegistryBackend {
  if (options.kind === "memory") return new MemoryRegistry(options);
  return RedisRegistry.open(options);
}

/**
 * The backend that goes with the namer's dtab storage: the same Redis
 * (connection and key prefix) for `redis`, memory otherwise.
 */
export function registryOptionsFor(
  storage: StorageConfig,
  extra: Omit<MemoryRegistryOptions & RedisRegistryOptions, "url" | "sentinels" | "name" | "username" | "password" | "db" | "prefix"> = {},
): RegistryBackendOptions {
  if (storage.kind !== "redis") return { kind: "memory", ...extra };
  return {
    kind: "redis",
    ...extra,
    url: storage.url,
    sentinels: storage.sentinels,
    name: storage.name,
    username: storage.username,
    password: storage.password,
    db: storage.db,
    prefix: storage.prefix,
    commandTimeoutMs: extra.commandTimeoutMs ?? storage.commandTimeoutMs,
  };
}
