// The Redis registry against a real redis-server: the RegistryBackend
// contract, then what a shared registry must get right — the key layout and
// scripts, two namers seeing each other's registrations and expiries, and a
// Redis outage (fast-failing writes, watchers keeping the last instances,
// convergence after).
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { isNamerError } from "../../../namer/errors.ts";
import { RedisRegistry, type RedisRegistryOptions, registryChannel, registryKeys } from "../../../namer/registry/index.ts";
import { persistentArgs, useRedis } from "../../support/redis.ts";
import { registryContract, until, watchIds } from "./contract.ts";

const redis = useRedis(persistentArgs());

let prefixes = 0;
/** A key prefix no other test uses, so tests on one server never see each other's data. */
function freshPrefix(): string {
  return `meshd-registry-test-${process.pid}-${++prefixes}:`;
}

registryContract("RedisRegistry", {
  open: async (options) => {
    const registry = RedisRegistry.open({ url: redis().url, prefix: freshPrefix(), ...options });
    await registry.connected();
    return registry;
  },
});

describe("RedisRegistry on a shared Redis", () => {
  const opened: RedisRegistry[] = [];
  const open = (options: RedisRegistryOptions): RedisRegistry => {
    const registry = RedisRegistry.open({ url: redis().url, ...options });
    opened.push(registry);
    return registry;
  };
  let raw: Redis | undefined;
  const client = (): Redis => (raw ??= new Redis(redis().url, { maxRetriesPerRequest: 1 }));
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((r) => r.close()));
    raw?.disconnect();
    raw = undefined;
    if (!redis().running) await redis().start();
  });

  /** Waits until the registry can talk to Redis (it connects in the background). */
  const ready = (registry: RedisRegistry): Promise<void> => registry.connected();

  it("keeps a service in a sorted set scored by expiry and a hash of instance data, one hash tag per service, expiring with its last instance", async () => {
    const prefix = freshPrefix();
    const registry = open({ prefix });
    await ready(registry);
    const keys = registryKeys(prefix, "web");
    expect(keys).toEqual({ instances: `${prefix}registry:{web}:instances`, data: `${prefix}registry:{web}:data` });
    const events: string[] = [];
    const subscriber = new Redis(redis().url);
    await subscriber.subscribe(registryChannel(prefix));
    subscriber.on("message", (_channel: string, message: string) => events.push(message));
    try {
      const instance = await registry.register("web", { host: "10.0.0.1", port: 8080, ttlSeconds: 30, meta: { zone: "a" } });
      const scores = await client().zrange(keys.instances, "0", "-1", "WITHSCORES");
      expect(scores).toEqual(["10.0.0.1:8080", String(Date.parse(instance.expiresAt))]);
      const data = JSON.parse((await client().hget(keys.data, "10.0.0.1:8080")) ?? "{}") as Record<string, unknown>;
      expect(data).toMatchObject({ host: "10.0.0.1", port: 8080, ttlSeconds: 30, meta: { zone: "a" }, registeredAt: String(Date.parse(instance.registeredAt)) });
      // Both keys outlive the longest-lived instance by a little, then Redis drops them.
      const ttl = await client().pttl(keys.data);
      expect(ttl).toBeGreaterThan(29_000);
      expect(ttl).toBeLessThanOrEqual(31_000);
      await until(() => (events.length === 1 ? true : undefined), "the change event");
      expect(JSON.parse(events[0] ?? "")).toEqual({ service: "web" });
      // A write drops the expired members of its service (data too) in the same script.
      await client().zadd(keys.instances, "1", "10.0.0.9:80");
      await client().hset(keys.data, "10.0.0.9:80", "{}");
      await registry.register("web", { host: "10.0.0.2", port: 8080, ttlSeconds: 30 });
      expect(await client().zrange(keys.instances, "0", "-1")).toEqual(["10.0.0.1:8080", "10.0.0.2:8080"]);
      expect(await client().hexists(keys.data, "10.0.0.9:80")).toBe(0);
    } finally {
      subscriber.disconnect();
    }
  });

  it("shows two namers each other's registrations, deregistrations and expiries", async () => {
    const prefix = freshPrefix();
    const one = open({ prefix });
    const two = open({ prefix });
    await ready(one);
    await ready(two);
    const watchOne = watchIds(one, "web");
    const watchTwo = watchIds(two, "web");
    await until(() => (watchTwo.last()?.length === 0 ? true : undefined), "the first (empty) answer");
    await one.register("web", { host: "10.0.0.1", port: 80, ttlSeconds: 0.5 });
    await two.register("web", { host: "10.0.0.2", port: 80, ttlSeconds: 30 });
    await until(() => (watchOne.last()?.length === 2 && watchTwo.last()?.length === 2 ? true : undefined), "both to see both instances");
    expect(await two.services()).toEqual(["web"]);
    // Nobody writes when 10.0.0.1 expires: each namer notices on its own, on time.
    await until(() => (watchOne.last()?.length === 1 && watchTwo.last()?.length === 1 ? true : undefined), "both to see the expiry", 5000);
    expect(watchTwo.last()).toEqual(["10.0.0.2:80"]);
    await one.deregister("web", "10.0.0.2:80");
    await until(() => (watchTwo.last()?.length === 0 ? true : undefined), "the deregistration");
    expect(watchOne.seen).toEqual(watchTwo.seen.slice(watchTwo.seen.length - watchOne.seen.length));
    watchOne.stop();
    watchTwo.stop();
  });

  it("re-reads a watched service after a lost event (a writer that bypassed the scripts), on the resync interval", async () => {
    const prefix = freshPrefix();
    const registry = open({ prefix, resyncIntervalMs: 200 });
    await ready(registry);
    const watch = watchIds(registry, "web");
    await until(() => (watch.last()?.length === 0 ? true : undefined), "the first answer");
    const keys = registryKeys(prefix, "web");
    await client().hset(keys.data, "10.0.0.1:80", JSON.stringify({ host: "10.0.0.1", port: 80, ttlSeconds: 30, meta: {}, registeredAt: String(Date.now()) }));
    await client().zadd(keys.instances, String(Date.now() + 30_000), "10.0.0.1:80");
    await until(() => (watch.last()?.length === 1 ? true : undefined), "the resync to find it");
    watch.stop();
  });

  it("rides out a Redis outage: writes fail fast, watchers keep the last instances, and converge when it is back", async () => {
    const prefix = freshPrefix();
    const registry = open({ prefix, commandTimeoutMs: 500 });
    await ready(registry);
    await registry.register("web", { host: "10.0.0.1", port: 80, ttlSeconds: 60 });
    const errors: string[] = [];
    const seen: string[][] = [];
    registry.watch(
      "web",
      (instances) => seen.push(instances.map((i) => i.id)),
      (e) => errors.push(e.message),
    );
    await until(() => (seen.length === 1 ? true : undefined), "the first answer");
    await redis().kill();
    let failure: unknown;
    await until(async () => {
      try {
        await registry.register("web", { host: "10.0.0.2", port: 80, ttlSeconds: 60 });
        return undefined;
      } catch (e) {
        failure = e;
        return true;
      }
    }, "a write to fail");
    expect(isNamerError(failure, "NAMER_ERR_STORE_UNAVAILABLE")).toBe(true);
    expect(seen).toEqual([["10.0.0.1:80"]]);
    await redis().start();
    await ready(registry);
    // Registered elsewhere while this namer was cut off... and seen once it is back (persisted data came back too).
    const other = open({ prefix });
    await ready(other);
    await other.register("web", { host: "10.0.0.3", port: 80, ttlSeconds: 60 });
    await until(() => (seen.at(-1)?.length === 2 ? true : undefined), "convergence after the outage");
    expect(seen.at(-1)).toEqual(["10.0.0.1:80", "10.0.0.3:80"]);
    // A read that was on its way when Redis died reports why it failed; the instances stayed.
    for (const message of errors) expect(message).toMatch(/unavailable/);
  });

  it("tells a watcher why it cannot read while Redis is down from the start", async () => {
    await redis().kill();
    const registry = open({ prefix: freshPrefix(), commandTimeoutMs: 300 });
    const errors: string[] = [];
    const seen: unknown[] = [];
    registry.watch(
      "web",
      (i) => seen.push(i),
      (e) => errors.push(e.message),
    );
    await until(() => (errors.length > 0 ? true : undefined), "an error");
    expect(errors[0]).toMatch(/unavailable/);
    expect(seen).toEqual([]);
    await redis().start();
    await until(() => (seen.length === 1 ? true : undefined), "the first answer once Redis is up");
  });
});
