// Choosing a registry backend: createRegistryBackend by kind, and
// registryOptionsFor, which puts the registry next to the dtabs (the same
// Redis and key prefix, or memory for the embedded store).
import { describe, expect, it } from "vitest";
import { namerConfigSchema } from "../../../namer/config.ts";
import { createRegistryBackend, MemoryRegistry, RedisRegistry, registryOptionsFor } from "../../../namer/registry/index.ts";
import { useRedis } from "../../support/redis.ts";

const redis = useRedis();

describe("registry backends", () => {
  it("puts the registry in memory next to the embedded store", () => {
    const { storage } = namerConfigSchema.parse({});
    expect(registryOptionsFor(storage, { maxTtlSeconds: 60 })).toEqual({ kind: "memory", maxTtlSeconds: 60 });
    const backend = createRegistryBackend(registryOptionsFor(storage));
    expect(backend).toBeInstanceOf(MemoryRegistry);
    return backend.close();
  });

  it("puts the registry on the dtab store's Redis, with its connection settings and key prefix", async () => {
    const { storage } = namerConfigSchema.parse({ storage: { kind: "redis", url: redis().url, prefix: "shared:", password: "s3cret", commandTimeoutMs: 700 } });
    const options = registryOptionsFor(storage, { maxTtlSeconds: 120 });
    expect(options).toMatchObject({ kind: "redis", url: redis().url, prefix: "shared:", password: "s3cret", commandTimeoutMs: 700, maxTtlSeconds: 120 });
    if (options.kind !== "redis") throw new Error("not redis");
    // The test server has no password.
    const backend = createRegistryBackend({ ...options, password: undefined });
    expect(backend).toBeInstanceOf(RedisRegistry);
    await (backend as RedisRegistry).connected();
    await backend.register("web", { host: "10.0.0.1", port: 80, ttlSeconds: 30 });
    expect(await backend.services()).toEqual(["web"]);
    await backend.close();
  });

  it("refuses sentinels without the master's name, and a malformed url", () => {
    expect(() => createRegistryBackend({ kind: "redis", sentinels: [{ host: "127.0.0.1", port: 26379 }] })).toThrow(/name/);
    expect(() => createRegistryBackend({ kind: "redis", url: "::not a url" })).toThrow(/not a valid URL/);
  });
});
