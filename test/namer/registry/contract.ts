// The RegistryBackend contract (namer/registry/types.ts) as one suite that
// both backends run: memory.test.ts and redis.test.ts call registryContract
// with a way to open a fresh, empty registry. Expiry is tested for real, with
// short TTLs and bounded waits.
import { afterEach, describe, expect, it } from "vitest";
import { isNamerError } from "../../../namer/errors.ts";
import type { Instance, Registration, RegistryBackend } from "../../../namer/registry/index.ts";
import { eventually } from "../../support/process.ts";

export interface RegistryTarget {
  /** Opens a fresh, empty registry. */
  open(options: { readonly maxTtlSeconds?: number }): Promise<RegistryBackend>;
}

/** Every list a watcher was given, as sorted ids. */
export function watchIds(backend: RegistryBackend, service: string): { readonly seen: string[][]; stop(): void; last(): string[] | undefined } {
  const seen: string[][] = [];
  const stop = backend.watch(service, (instances) => seen.push(instances.map((i) => i.id)));
  return { seen, stop, last: () => seen.at(-1) };
}

export async function until<T>(check: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  return eventually(check, timeoutMs, what);
}

async function rejects(promise: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  try {
    await promise;
  } catch (e) {
    expect(isNamerError(e), String(e)).toBe(true);
    expect((e as { code: string }).code).toBe(code);
    if (message !== undefined) expect((e as Error).message).toMatch(message);
    return;
  }
  throw new Error(`expected ${code}, but it succeeded`);
}

export function registryContract(name: string, target: RegistryTarget): void {
  describe(`${name}: the RegistryBackend contract`, () => {
    const opened: RegistryBackend[] = [];
    const open = async (options: { maxTtlSeconds?: number } = {}): Promise<RegistryBackend> => {
      const backend = await target.open(options);
      opened.push(backend);
      return backend;
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((b) => b.close()));
    });

    it("registers an instance: id host:port, times from the TTL, listed under its service", async () => {
      const registry = await open();
      const before = Date.now();
      const instance = await registry.register("web", { host: "10.0.0.1", port: 8080, ttlSeconds: 30, meta: { zone: "a", nodeName: "node-1", weight: 2, build: 7 } });
      expect(instance).toMatchObject({
        service: "web",
        id: "10.0.0.1:8080",
        host: "10.0.0.1",
        port: 8080,
        ttlSeconds: 30,
        meta: { zone: "a", nodeName: "node-1", weight: 2, build: 7 },
      });
      const registeredAt = Date.parse(instance.registeredAt);
      // Redis keeps time by its own clock: the same machine here, so within a second.
      expect(Math.abs(registeredAt - before)).toBeLessThan(1000);
      expect(Date.parse(instance.expiresAt) - registeredAt).toBe(30_000);
      expect(await registry.instances("web")).toEqual([instance]);
      expect(await registry.services()).toEqual(["web"]);
      expect(await registry.instances("api")).toEqual([]);
    });

    it("names IPv6 instances [host]:port and accepts the host with or without brackets", async () => {
      const registry = await open();
      const a = await registry.register("web", { host: "fd00::1", port: 80, ttlSeconds: 30 });
      const b = await registry.register("web", { host: "[fd00::1]", port: 80, ttlSeconds: 30 });
      expect(a.id).toBe("[fd00::1]:80");
      expect(b).toMatchObject({ id: "[fd00::1]:80", host: "fd00::1", meta: {} });
      expect(await registry.instances("web")).toHaveLength(1);
    });

    it("treats registering the same host:port again as a heartbeat: registeredAt kept, expiry moved, meta replaced", async () => {
      const registry = await open();
      const first = await registry.register("web", { host: "10.0.0.1", port: 8080, ttlSeconds: 30, meta: { zone: "a" } });
      await new Promise((r) => setTimeout(r, 20));
      const again = await registry.register("web", { host: "10.0.0.1", port: 8080, ttlSeconds: 60, meta: { zone: "b" } });
      expect(again.registeredAt).toBe(first.registeredAt);
      expect(Date.parse(again.expiresAt)).toBeGreaterThan(Date.parse(first.expiresAt));
      expect(again).toMatchObject({ ttlSeconds: 60, meta: { zone: "b" } });
      expect(await registry.instances("web")).toEqual([again]);
    });

    it.each([
      ["an empty host", "web", { host: "", port: 80, ttlSeconds: 10 }, /host/],
      ["a host with spaces", "web", { host: "a b", port: 80, ttlSeconds: 10 }, /host/],
      ["port 0", "web", { host: "h", port: 0, ttlSeconds: 10 }, /port/],
      ["port 65536", "web", { host: "h", port: 65536, ttlSeconds: 10 }, /port/],
      ["a fractional port", "web", { host: "h", port: 80.5, ttlSeconds: 10 }, /port/],
      ["ttl 0", "web", { host: "h", port: 80, ttlSeconds: 0 }, /ttlSeconds/],
      ["a negative ttl", "web", { host: "h", port: 80, ttlSeconds: -1 }, /ttlSeconds/],
      ["a ttl over the maximum", "web", { host: "h", port: 80, ttlSeconds: 121 }, /at most 120/],
      ["a weight of 0", "web", { host: "h", port: 80, ttlSeconds: 10, meta: { weight: 0 } }, /weight/],
      // What a JSON body can hold even though the type says otherwise.
      ["a numeric zone", "web", { host: "h", port: 80, ttlSeconds: 10, meta: { zone: 3 } as unknown as Registration["meta"] }, /zone/],
      ["a service name with a slash", "a/b", { host: "h", port: 80, ttlSeconds: 10 }, /service name/],
      ["a service name with braces", "{web}", { host: "h", port: 80, ttlSeconds: 10 }, /service name/],
      ["an empty service name", "", { host: "h", port: 80, ttlSeconds: 10 }, /service name/],
    ])("refuses %s with NAMER_ERR_INVALID_REQUEST", async (_what, service, registration, message) => {
      const registry = await open({ maxTtlSeconds: 120 });
      await rejects(registry.register(service, registration), "NAMER_ERR_INVALID_REQUEST", message);
      expect(await registry.services()).toEqual([]);
    });

    it("deregisters: true once, then false; a service with no instance left is not listed", async () => {
      const registry = await open();
      await registry.register("web", { host: "10.0.0.1", port: 80, ttlSeconds: 30 });
      await registry.register("web", { host: "10.0.0.2", port: 80, ttlSeconds: 30 });
      await registry.register("api", { host: "10.0.0.3", port: 80, ttlSeconds: 30 });
      expect(await registry.services()).toEqual(["api", "web"]);
      expect(await registry.deregister("web", "10.0.0.1:80")).toBe(true);
      expect(await registry.deregister("web", "10.0.0.1:80")).toBe(false);
      expect(await registry.deregister("nosuch", "10.0.0.1:80")).toBe(false);
      expect((await registry.instances("web")).map((i) => i.id)).toEqual(["10.0.0.2:80"]);
      expect(await registry.deregister("web", "10.0.0.2:80")).toBe(true);
      expect(await registry.services()).toEqual(["api"]);
    });

    it("tells a watcher the instances, then every change but not a heartbeat that only moves the expiry", async () => {
      const registry = await open();
      await registry.register("web", { host: "10.0.0.1", port: 80, ttlSeconds: 30 });
      const watch = watchIds(registry, "web");
      const other = watchIds(registry, "api");
      await until(() => (watch.last()?.length === 1 ? true : undefined), "the first answer");
      await registry.register("web", { host: "10.0.0.2", port: 80, ttlSeconds: 30 });
      await until(() => (watch.last()?.length === 2 ? true : undefined), "the second instance");
      // A heartbeat, then a change to wait for: the heartbeat must not have been reported in between.
      await registry.register("web", { host: "10.0.0.1", port: 80, ttlSeconds: 30 });
      await registry.register("web", { host: "10.0.0.3", port: 80, ttlSeconds: 30 });
      await until(() => (watch.last()?.length === 3 ? true : undefined), "the third instance");
      await registry.deregister("web", "10.0.0.2:80");
      await until(() => (watch.last()?.length === 2 ? true : undefined), "the deregistration");
      expect(watch.seen).toEqual([["10.0.0.1:80"], ["10.0.0.1:80", "10.0.0.2:80"], ["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"], ["10.0.0.1:80", "10.0.0.3:80"]]);
      // Another service's watcher heard only its own (empty) state.
      expect(other.seen).toEqual([[]]);
      watch.stop();
      other.stop();
    });

    it("tells a watcher about a meta change, and stops after unsubscribe", async () => {
      const registry = await open();
      const metas: Instance["meta"][] = [];
      const stop = registry.watch("web", (instances) => {
        if (instances[0] !== undefined) metas.push(instances[0].meta);
      });
      await registry.register("web", { host: "10.0.0.1", port: 80, ttlSeconds: 30, meta: { zone: "a" } });
      await until(() => (metas.length === 1 ? true : undefined), "the registration");
      await registry.register("web", { host: "10.0.0.1", port: 80, ttlSeconds: 30, meta: { zone: "b" } });
      await until(() => (metas.length === 2 ? true : undefined), "the meta change");
      expect(metas).toEqual([{ zone: "a" }, { zone: "b" }]);
      stop();
      const probe = watchIds(registry, "web");
      await registry.register("web", { host: "10.0.0.1", port: 80, ttlSeconds: 30, meta: { zone: "c" } });
      await registry.register("web", { host: "10.0.0.2", port: 80, ttlSeconds: 30 });
      await until(() => (probe.last()?.length === 2 ? true : undefined), "a later change");
      expect(metas).toHaveLength(2);
      probe.stop();
    });

    it("keeps telling the other watchers when one throws", async () => {
      const registry = await open();
      registry.watch("web", () => {
        throw new Error("watcher bug");
      });
      const watch = watchIds(registry, "web");
      await registry.register("web", { host: "10.0.0.1", port: 80, ttlSeconds: 30 });
      await until(() => (watch.last()?.length === 1 ? true : undefined), "the registration");
      watch.stop();
    });

    it("expires an instance that stops heartbeating, telling watchers as time passes", async () => {
      const registry = await open();
      await registry.register("web", { host: "10.0.0.1", port: 80, ttlSeconds: 0.3 });
      await registry.register("web", { host: "10.0.0.2", port: 80, ttlSeconds: 30 });
      const watch = watchIds(registry, "web");
      await until(() => (watch.last()?.length === 2 ? true : undefined), "both instances");
      await until(() => (watch.last()?.length === 1 ? true : undefined), "the expiry", 5000);
      expect(watch.seen).toEqual([["10.0.0.1:80", "10.0.0.2:80"], ["10.0.0.2:80"]]);
      expect((await registry.instances("web")).map((i) => i.id)).toEqual(["10.0.0.2:80"]);
      await registry.deregister("web", "10.0.0.2:80");
      await until(() => (watch.last()?.length === 0 ? true : undefined), "the deregistration");
      expect(await registry.services()).toEqual([]);
      watch.stop();
    });

    it("starts a new life for an instance that registers again after it expired", async () => {
      const registry = await open();
      const first = await registry.register("web", { host: "10.0.0.1", port: 80, ttlSeconds: 0.2 });
      await until(async () => ((await registry.instances("web")).length === 0 ? true : undefined), "the expiry", 5000);
      expect(await registry.deregister("web", "10.0.0.1:80")).toBe(false);
      const second = await registry.register("web", { host: "10.0.0.1", port: 80, ttlSeconds: 30 });
      expect(Date.parse(second.registeredAt)).toBeGreaterThan(Date.parse(first.registeredAt));
    });

    it("refuses to work once closed", async () => {
      const registry = await open();
      await registry.close();
      await rejects(registry.register("web", { host: "10.0.0.1", port: 80, ttlSeconds: 30 }), "NAMER_ERR_SHUTTING_DOWN");
      await rejects(registry.instances("web"), "NAMER_ERR_SHUTTING_DOWN");
      const seen: unknown[] = [];
      registry.watch("web", (i) => seen.push(i))();
      expect(seen).toEqual([]);
    });
  });
}
