// meshd.registry over both registry backends: the contract (on Redis
// including an outage), then what only this namer does — instance meta as
// address meta, neg when the last instance expires or leaves, and leaving
// the backend, which it does not own, open.
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { Path } from "../../../dtab/index.ts";
import { createRegistryNamer, type DiscoveryNamer, type RegistryNamer } from "../../../namer/namers/index.ts";
import { type Instance, MemoryRegistry, RedisRegistry, type RegistryBackend, type Unsubscribe } from "../../../namer/registry/index.ts";
import { persistentArgs, useRedis } from "../../support/redis.ts";
import { answerIs, discoveryNamerContract, type Endpoint, type NamerHarness } from "./contract.ts";

/** A backend that counts the watches held on it, to check the namer shares and releases them. */
class CountingBackend implements RegistryBackend {
  readonly inner: RegistryBackend;
  active = 0;

  constructor(inner: RegistryBackend) {
    this.inner = inner;
  }

  register(...args: Parameters<RegistryBackend["register"]>): Promise<Instance> {
    return this.inner.register(...args);
  }

  deregister(service: string, id: string): Promise<boolean> {
    return this.inner.deregister(service, id);
  }

  instances(service: string): Promise<readonly Instance[]> {
    return this.inner.instances(service);
  }

  services(): Promise<readonly string[]> {
    return this.inner.services();
  }

  watch(...args: Parameters<RegistryBackend["watch"]>): Unsubscribe {
    const stop = this.inner.watch(...args);
    this.active++;
    let stopped = false;
    return () => {
      if (!stopped) this.active--;
      stopped = true;
      stop();
    };
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

const backends: RegistryBackend[] = [];
afterAll(async () => {
  await Promise.all(backends.map((b) => b.close()));
});

async function registerAll(backend: RegistryBackend, service: string, endpoints: readonly Endpoint[]): Promise<void> {
  for (const e of endpoints) await backend.register(service, { host: e.host, port: e.port, ttlSeconds: 60 });
}

function registryHarness(
  openBackend: () => Promise<RegistryBackend>,
  extra: Partial<NamerHarness> & Pick<NamerHarness, "lookedAgain">,
  outage?: (backend: RegistryBackend) => Promise<() => Promise<void>>,
): NamerHarness {
  let backend: CountingBackend | undefined;
  const current = (): CountingBackend => {
    if (backend === undefined) throw new Error("no backend yet");
    return backend;
  };
  return {
    open: async (services) => {
      backend = new CountingBackend(await openBackend());
      backends.push(backend);
      for (const [service, endpoints] of Object.entries(services)) await registerAll(backend, service, endpoints);
      return createRegistryNamer({ kind: "meshd.registry", prefix: "/registry", defaultTtlSeconds: 30, maxTtlSeconds: 3600 }, backend);
    },
    residual: (service) => Path.of(service),
    observed: (namer: DiscoveryNamer) => (namer as RegistryNamer).observed(),
    update: async (service, endpoints) => {
      const b = current();
      const keep = new Set((endpoints ?? []).map((e) => (e.host.includes(":") ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`)));
      const before = await b.instances(service);
      // New ones first, as in a rolling deploy (registering the ones already there again is a heartbeat), then the old ones leave.
      await registerAll(b, service, endpoints ?? []);
      for (const instance of before) if (!keep.has(instance.id)) await b.deregister(service, instance.id);
    },
    released: async () => {
      await extra.lookedAgain("");
      expect(current().active, "registry watches held after close").toBe(0);
    },
    ...(outage === undefined ? {} : { outage: () => outage(current().inner) }),
    ...extra,
  };
}

discoveryNamerContract(
  "meshd.registry (memory)",
  registryHarness(async () => new MemoryRegistry(), { lookedAgain: async () => undefined }),
);

const redis = useRedis(persistentArgs());
let prefixes = 0;
discoveryNamerContract(
  "meshd.registry (Redis)",
  registryHarness(
    async () => {
      const registry = RedisRegistry.open({ url: redis().url, prefix: `meshd-registry-namer-${process.pid}-${++prefixes}:`, commandTimeoutMs: 500 });
      await registry.connected();
      return registry;
    },
    {
      // Events and re-reads are asynchronous: give a change the time it takes to go round Redis.
      lookedAgain: () => new Promise((r) => setTimeout(r, 300)),
    },
    async (backend) => {
      await redis().kill();
      return async () => {
        await redis().start();
        await (backend as RedisRegistry).connected();
      };
    },
  ),
);

describe("meshd.registry", () => {
  const namers: DiscoveryNamer[] = [];
  afterEach(async () => {
    await Promise.all(namers.splice(0).map((n) => n.close()));
  });
  const open = (backend: RegistryBackend): RegistryNamer => {
    const namer = createRegistryNamer({ kind: "meshd.registry", prefix: "/registry", defaultTtlSeconds: 30, maxTtlSeconds: 3600 }, backend);
    namers.push(namer);
    return namer;
  };

  it("gives each live instance's meta (nodeName, zone, weight and the rest) to its address", async () => {
    const backend = new MemoryRegistry();
    backends.push(backend);
    await backend.register("web", { host: "10.0.0.1", port: 8080, ttlSeconds: 30, meta: { nodeName: "node-1", zone: "eu-1a", weight: 3, version: "2.1" } });
    await backend.register("web", { host: "fd00::2", port: 8080, ttlSeconds: 30 });
    const answer = open(backend).observe(Path.read("/web/rest")).current();
    expect(answer).toMatchObject({ type: "bound", id: Path.read("/#/registry/web"), residual: Path.read("/rest") });
    if (answer.type !== "bound" || answer.addr.type !== "bound") return;
    expect(answer.addr.addrs).toEqual([
      { host: "10.0.0.1", port: 8080, meta: { nodeName: "node-1", zone: "eu-1a", weight: 3, version: "2.1" } },
      { host: "fd00::2", port: 8080, meta: {} },
    ]);
  });

  it("turns neg when the last instance expires, and binds again when one registers", async () => {
    const backend = new MemoryRegistry();
    backends.push(backend);
    await backend.register("web", { host: "10.0.0.1", port: 80, ttlSeconds: 0.2 });
    const w = open(backend).observe(Path.of("web"));
    await answerIs(w, ["10.0.0.1:80"]);
    await answerIs(w, "neg", 5000);
    await backend.register("web", { host: "10.0.0.2", port: 80, ttlSeconds: 30 });
    await answerIs(w, ["10.0.0.2:80"]);
  });

  it("answers neg for a label that cannot be a service name, without asking the registry", async () => {
    const backend = new CountingBackend(new MemoryRegistry());
    backends.push(backend);
    const namer = open(backend);
    expect(namer.observe(Path.of("{web}")).current()).toEqual({ type: "neg" });
    expect(namer.observe(Path.of("a b")).current()).toEqual({ type: "neg" });
    expect(backend.active).toBe(0);
  });

  it("leaves the backend open when it closes", async () => {
    const backend = new MemoryRegistry();
    backends.push(backend);
    const namer = open(backend);
    await namer.close();
    await backend.register("web", { host: "10.0.0.1", port: 80, ttlSeconds: 30 });
    expect(await backend.services()).toEqual(["web"]);
  });

  it("answers failed while Redis is down before the first read, then binds", async () => {
    await redis().kill();
    const backend = RedisRegistry.open({ url: redis().url, prefix: `meshd-registry-namer-${process.pid}-${++prefixes}:`, commandTimeoutMs: 300 });
    backends.push(backend);
    const w = open(backend).observe(Path.of("web"));
    expect(w.current().type).toBe("pending");
    await answerIs(w, "failed");
    await redis().start();
    await backend.connected();
    await backend.register("web", { host: "10.0.0.1", port: 80, ttlSeconds: 30 });
    await answerIs(w, ["10.0.0.1:80"]);
  });
});
