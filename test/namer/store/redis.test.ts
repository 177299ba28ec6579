// The Redis store against a real redis-server: the DtabStore contract, then
// what only a shared, remote store has to get right — replicas seeing each
// other's writes, catching up after a disconnect, riding out a Redis outage
// (reads from memory, fast-failing writes, convergence after), WAIT, the key
// and event layout, the version-check safety net and Sentinel.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { pino } from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Dtab } from "../../../dtab/index.ts";
import type { Logger } from "../../../lib/log.ts";
import { NamerError } from "../../../namer/errors.ts";
import { dtabKeys, eventsChannel, RedisDtabStore, type RedisDtabStoreOptions, type StoreHealth } from "../../../namer/store/index.ts";
import { freePort, type RedisServer, useRedis } from "../../support/redis.ts";
import { dtabStoreContract } from "./contract.ts";
import { startTcpProxy } from "./tcp-proxy.ts";

const A = "/svc=>/#/io.l5d.fs";
const B = "/svc=>/#/io.l5d.k8s/default/http";
const C = "/svc/users=>/$/inet/127.0.0.1/8080";

let prefixes = 0;
/** A key prefix no other test uses, so tests on one server never see each other's data. */
function freshPrefix(): string {
  return `meshd-test-${process.pid}-${++prefixes}:`;
}

/** A logger whose records a test can wait for. */
function capturingLogger(): { logger: Logger; messages: () => string[] } {
  const records: { msg?: string }[] = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => void records.push(JSON.parse(line) as { msg?: string }) });
  return { logger, messages: () => records.map((r) => r.msg ?? "") };
}

/** Stores opened by a test, closed after it. */
function storesFor(server: () => RedisServer): (options?: RedisDtabStoreOptions) => Promise<RedisDtabStore> {
  const opened: RedisDtabStore[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
  });
  return async (options = {}) => {
    const store = await RedisDtabStore.open({ url: server().url, prefix: freshPrefix(), ...options });
    opened.push(store);
    return store;
  };
}

/** A plain client for looking at (and going behind the back of) the store. */
function rawClient(server: () => RedisServer): () => Redis {
  let client: Redis | undefined;
  afterEach(() => {
    client?.disconnect();
    client = undefined;
  });
  return () => (client ??= new Redis(server().url, { maxRetriesPerRequest: 1 }));
}

describe("RedisDtabStore", () => {
  const redis = useRedis();

  dtabStoreContract("RedisDtabStore", {
    open: async (options) => {
      const store = await RedisDtabStore.open({ url: redis().url, prefix: freshPrefix(), ...options });
      await store.synced();
      return store;
    },
    settle: (store) => (store as RedisDtabStore).caughtUp(),
  });

  describe("between replicas", () => {
    const open = storesFor(redis);

    it("lets two stores on one Redis see each other's writes through change events", async () => {
      const prefix = freshPrefix();
      const a = await open({ prefix });
      const b = await open({ prefix });
      await Promise.all([a.synced(), b.synced()]);
      const versions: string[] = [];
      const names: string[] = [];
      b.watch("default", (s) => versions.push(s === undefined ? "-" : `${s.version}:${s.dtab.show}`));
      b.watchNamespaces((n) => names.push(n.join(",")));
      await a.create("default", Dtab.read(A));
      await a.update("default", Dtab.read(B), "1");
      await a.create("web", Dtab.read(C));
      await a.delete("default", "2");
      await vi.waitFor(() => expect(versions).toEqual(["-", `1:${Dtab.read(A).show}`, `2:${Dtab.read(B).show}`, "-"]), { timeout: 5000 });
      expect(names).toEqual(["", "default", "default,web", "web"]);
      // And back: b writes, a sees it, and the counter carried across the deletion.
      expect(await b.create("default", Dtab.read(C))).toMatchObject({ version: "4" });
      await vi.waitFor(async () => expect((await a.get("default"))?.version).toBe("4"), { timeout: 5000 });
      expect((await a.get("default"))?.dtab.show).toBe(Dtab.read(C).show);
      await a.caughtUp();
      await b.caughtUp();
      expect(versions).toHaveLength(5);
    });

    it("recovers changes published while a consumer was cut off, from the snapshot it reads on reconnect", async () => {
      const proxy = await startTcpProxy(redis());
      try {
        const prefix = freshPrefix();
        const writer = await open({ prefix });
        // A version check far in the future: only the reconnect's snapshot can bring the reader up to date.
        const reader = await open({ prefix, url: proxy.url, versionCheckIntervalMs: 600_000 });
        await Promise.all([writer.synced(), reader.synced()]);
        await writer.create("default", Dtab.read(A));
        await writer.create("doomed", Dtab.read(A));
        await reader.caughtUp();
        const versions: string[] = [];
        reader.watch("default", (s) => versions.push(s?.version ?? "-"));

        proxy.cut();
        await vi.waitFor(() => expect(reader.health().writable).toBe(false), { timeout: 5000 });
        await writer.update("default", Dtab.read(B), "1");
        await writer.put("default", Dtab.read(C));
        await writer.delete("doomed");
        await writer.create("fresh", Dtab.read(B));
        // Cut off, the reader keeps serving what it knew.
        expect((await reader.get("default"))?.version).toBe("1");
        expect(await reader.list()).toEqual(["default", "doomed"]);

        proxy.restore();
        await vi.waitFor(
          async () => {
            expect((await reader.get("default"))?.version).toBe("3");
            expect(await reader.list()).toEqual(["default", "fresh"]);
          },
          { timeout: 10_000, interval: 20 },
        );
        expect((await reader.get("default"))?.dtab.show).toBe(Dtab.read(C).show);
        // It may skip versions it never saw, but ends on the latest, in order.
        expect(versions).toEqual(["1", "3"]);
        expect(reader.health()).toMatchObject({ writable: true, synced: true });
      } finally {
        await proxy.close();
      }
    });
  });

  describe("layout in Redis", () => {
    const open = storesFor(redis);
    const raw = rawClient(redis);

    it("keeps each namespace's keys under the prefix with the namespace as hash tag, and nothing else", async () => {
      const prefix = freshPrefix();
      const store = await open({ prefix });
      await store.synced();
      await store.create("default", Dtab.read(A));
      await store.create("web.v2", Dtab.read(B));
      await store.delete("web.v2");
      const keys = (await raw().keys(`${prefix}*`)).sort();
      expect(keys).toEqual([
        `${prefix}{default}:audit`,
        `${prefix}{default}:history`,
        `${prefix}{default}:state`,
        `${prefix}{web.v2}:audit`,
        `${prefix}{web.v2}:history`,
        `${prefix}{web.v2}:state`,
      ]);
      expect(dtabKeys(prefix, "default")).toEqual({ state: `${prefix}{default}:state`, history: `${prefix}{default}:history`, audit: `${prefix}{default}:audit` });
      expect(await raw().hgetall(`${prefix}{default}:state`)).toEqual({ version: "1", updatedAt: expect.any(String), deleted: "0", dtab: Dtab.read(A).show });
      // A deletion keeps the state key: it carries the version counter.
      expect(await raw().hgetall(`${prefix}{web.v2}:state`)).toMatchObject({ version: "2", deleted: "1", dtab: "" });
      expect(await raw().llen(`${prefix}{web.v2}:history`)).toBe(2);
    });

    it("publishes one JSON change event per write on <prefix>events", async () => {
      const prefix = freshPrefix();
      const store = await open({ prefix });
      await store.synced();
      const subscriber = new Redis(redis().url);
      try {
        const events: unknown[] = [];
        subscriber.on("message", (_channel: string, message: string) => events.push(JSON.parse(message)));
        await subscriber.subscribe(eventsChannel(prefix));
        expect(eventsChannel(prefix)).toBe(`${prefix}events`);
        await store.create("default", Dtab.read(A));
        await store.delete("default");
        await vi.waitFor(() => expect(events).toHaveLength(2), { timeout: 5000 });
        expect(events).toEqual([
          { namespace: "default", version: "1", updatedAt: expect.any(String), dtab: Dtab.read(A).show },
          { namespace: "default", version: "2", updatedAt: expect.any(String), deleted: true },
        ]);
      } finally {
        subscriber.disconnect();
      }
    });

    it("reports WAIT: with no replicas, 1 requested and 0 acknowledged, without failing the write", async () => {
      const store = await open({ waitForReplicas: { replicas: 1, timeoutMs: 50 } });
      await store.synced();
      const result = await store.put("default", Dtab.read(A));
      expect(result).toEqual({ namespace: "default", version: "1", replication: { requested: 1, acknowledged: 0, timeoutMs: 50 } });
      expect((await store.get("default"))?.version).toBe("1");
      const plain = await open();
      await plain.synced();
      expect(await plain.put("default", Dtab.read(A))).toEqual({ namespace: "default", version: "1" });
    });
  });

  describe("the version check", () => {
    const open = storesFor(redis);
    const raw = rawClient(redis);

    it("picks up changes that came with no event, and drops a namespace whose keys vanished", async () => {
      const prefix = freshPrefix();
      const store = await open({ prefix, versionCheckIntervalMs: 50 });
      await store.synced();
      await store.create("default", Dtab.read(A));
      await store.create("removed", Dtab.read(A));
      const versions: string[] = [];
      store.watch("default", (s) => versions.push(s?.version ?? "-"));
      // Written behind the store's back, without publishing.
      await raw().hset(`${prefix}{default}:state`, { version: "7", updatedAt: "2024-01-01T00:00:00.000Z", deleted: "0", dtab: C });
      await raw().del(`${prefix}{removed}:state`);
      await vi.waitFor(
        async () => {
          expect((await store.get("default"))?.version).toBe("7");
          expect(await store.list()).toEqual(["default"]);
        },
        { timeout: 5000 },
      );
      expect((await store.get("default"))?.dtab.show).toBe(Dtab.read(C).show);
      expect(versions).toEqual(["1", "7"]);
      // The next write continues from there.
      expect(await store.update("default", Dtab.read(A), "7")).toMatchObject({ version: "8" });
    });

    it("ignores an unreadable state in Redis and keeps what it knows", async () => {
      const prefix = freshPrefix();
      const { logger, messages } = capturingLogger();
      const store = await open({ prefix, versionCheckIntervalMs: 50, logger });
      await store.synced();
      await store.create("default", Dtab.read(A));
      await raw().hset(`${prefix}{default}:state`, { version: "2", dtab: "/svc=>" });
      await vi.waitFor(() => expect(messages()).toContain("unreadable namespace state in Redis; keeping what is known"), { timeout: 5000 });
      expect((await store.get("default"))?.version).toBe("1");
      expect(await store.list()).toEqual(["default"]);
    });
  });

  describe("closing", () => {
    const raw = rawClient(redis);

    it("quits both connections, refuses writes and still answers reads", async () => {
      const store = await RedisDtabStore.open({ url: redis().url, prefix: freshPrefix() });
      await store.synced();
      await store.create("default", Dtab.read(A));
      const named = async (): Promise<number> => ((await raw().client("LIST")) as string).split("\n").filter((l) => / name=meshd-namer/.test(l)).length;
      expect(await named()).toBe(2);
      await store.close();
      await vi.waitFor(async () => expect(await named()).toBe(0), { timeout: 5000 });
      await expect(store.put("default", Dtab.read(B))).rejects.toMatchObject({ code: "NAMER_ERR_SHUTTING_DOWN" });
      expect((await store.get("default"))?.version).toBe("1");
      expect(store.health().writable).toBe(false);
    });
  });

  describe("options", () => {
    it("needs the master's name with sentinels, and a valid URL it does not echo", async () => {
      await expect(RedisDtabStore.open({ sentinels: [{ host: "127.0.0.1", port: 26379 }] })).rejects.toThrow(/name/);
      const error = await RedisDtabStore.open({ url: "redis://user:pa ss@@:x" }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RangeError);
      expect((error as Error).message).not.toContain("pa ss");
      await expect(RedisDtabStore.open({ commandTimeoutMs: 0 })).rejects.toThrow(/commandTimeoutMs/);
    });
  });
});

describe("RedisDtabStore through a Redis outage", () => {
  const redis = useRedis();
  const open = storesFor(redis);

  it("serves the last known state, fails writes fast, and converges once Redis is back", async () => {
    const prefix = freshPrefix();
    const logs = capturingLogger();
    const a = await open({ prefix, commandTimeoutMs: 2000, logger: logs.logger });
    const b = await open({ prefix, commandTimeoutMs: 2000 });
    await Promise.all([a.synced(), b.synced()]);
    await a.create("default", Dtab.read(A));
    await a.create("other", Dtab.read(B));
    await b.caughtUp();
    const seenA: string[] = [];
    const seenB: string[] = [];
    a.watch("default", (s) => seenA.push(s?.version ?? "-"));
    b.watch("default", (s) => seenB.push(s?.version ?? "-"));
    const health: StoreHealth[] = [];
    a.onHealth((h) => health.push(h));

    await redis().kill();
    await vi.waitFor(() => expect([a.health().writable, b.health().writable]).toEqual([false, false]), { timeout: 5000 });
    expect(health.at(-1)).toMatchObject({ writable: false, synced: true });
    expect(health.at(-1)?.detail).toContain(`127.0.0.1:${redis().port}`);

    // Reads: the last known state.
    expect(await a.list()).toEqual(["default", "other"]);
    expect((await b.get("default"))?.version).toBe("1");

    // Writes: refused at once, well under the command timeout, naming Redis.
    for (const write of [() => a.put("default", Dtab.read(C)), () => b.create("new", Dtab.read(C)), () => a.rollback("default", "1")]) {
      const started = performance.now();
      const error = await write().catch((e: unknown) => e);
      expect(performance.now() - started).toBeLessThan(500);
      expect(error).toBeInstanceOf(NamerError);
      expect(error).toMatchObject({ code: "NAMER_ERR_STORE_UNAVAILABLE", status: 503 });
      expect((error as Error).message).toContain(`redis://127.0.0.1:${redis().port}`);
    }
    await expect(a.history("default")).rejects.toMatchObject({ code: "NAMER_ERR_STORE_UNAVAILABLE" });

    // Back, but empty (the test server keeps nothing): that empty snapshot must not wipe the known dtabs.
    await redis().start();
    await vi.waitFor(() => expect(logs.messages()).toContain("dtab store returned no namespaces at all; keeping the known ones (an empty read never replaces known dtabs)"), {
      timeout: 10_000,
      interval: 20,
    });
    expect(await a.list()).toEqual(["default", "other"]);
    const result = await vi.waitFor(() => a.put("default", Dtab.read(C)), { timeout: 10_000, interval: 50 });
    // The version keeps growing from what the namers knew, even though Redis forgot it.
    expect(result.version).toBe("2");
    await vi.waitFor(() => expect(seenB).toEqual(["1", "2"]), { timeout: 10_000, interval: 20 });
    expect(seenA).toEqual(["1", "2"]);
    expect((await b.get("default"))?.dtab.show).toBe(Dtab.read(C).show);
    await vi.waitFor(() => expect([a.health(), b.health()]).toMatchObject([{ writable: true, synced: true }, { writable: true, synced: true }]), {
      timeout: 10_000,
    });
    expect(health.at(-1)?.detail).toContain("connected to");
  });

  it("opens during an outage without waiting, and syncs once Redis is reachable", async () => {
    await redis().kill();
    const started = performance.now();
    const store = await open({ commandTimeoutMs: 2000 });
    expect(performance.now() - started).toBeLessThan(500);
    expect(store.health()).toMatchObject({ writable: false, synced: false });
    expect(await store.list()).toEqual([]);
    await expect(store.create("default", Dtab.read(A))).rejects.toMatchObject({ code: "NAMER_ERR_STORE_UNAVAILABLE" });
    let synced = false;
    void store.synced().then(() => (synced = true));
    await redis().start();
    await store.synced();
    expect(synced).toBe(true);
    expect(store.health()).toMatchObject({ synced: true });
    await vi.waitFor(() => store.create("default", Dtab.read(A)), { timeout: 10_000, interval: 50 });
  });
});

describe("RedisDtabStore with a password", () => {
  const password = "s3cret-Pa55";
  const redis = useRedis(["--requirepass", password]);
  const open = storesFor(redis);

  it("authenticates, and never puts the password in errors or health", async () => {
    const url = `redis://:${password}@127.0.0.1:${redis().port}`;
    const store = await open({ url });
    await store.synced();
    await store.create("default", Dtab.read(A));
    const withOption = await open({ url: redis().url, password });
    await withOption.synced();
    expect(await withOption.list()).toEqual([]);
    await redis().kill();
    await vi.waitFor(() => expect(store.health().writable).toBe(false), { timeout: 5000 });
    const error = (await store.put("default", Dtab.read(B)).catch((e: unknown) => e)) as NamerError;
    expect(error.code).toBe("NAMER_ERR_STORE_UNAVAILABLE");
    expect(error.message).toContain(`redis://127.0.0.1:${redis().port}`);
    expect(JSON.stringify({ message: error.message, details: error.details, health: store.health() })).not.toContain(password);
    await redis().start();
  });
});

describe("RedisDtabStore through Sentinel", () => {
  const redis = useRedis();
  const open = storesFor(redis);

  it("finds the master through a sentinel and works as usual", async () => {
    const dir = await mkdtemp(join(tmpdir(), "meshd-sentinel-"));
    const port = await freePort();
    const config = join(dir, "sentinel.conf");
    await writeFile(config, `port ${port}\nbind 127.0.0.1\nsentinel monitor meshd 127.0.0.1 ${redis().port} 1\n`);
    const sentinel = spawn("redis-server", [config, "--sentinel"], { stdio: "ignore" });
    try {
      const probe = new Redis({ port, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on("error", () => undefined);
      await vi.waitFor(
        async () => {
          await probe.connect().catch(() => undefined);
          expect(await probe.call("SENTINEL", "get-master-addr-by-name", "meshd")).toEqual(["127.0.0.1", String(redis().port)]);
        },
        { timeout: 10_000, interval: 100 },
      );
      probe.disconnect();
      const store = await open({ sentinels: [{ host: "127.0.0.1", port }], name: "meshd" });
      await store.synced();
      expect(store.health().detail).toContain(`master "meshd" via sentinels 127.0.0.1:${port}`);
      await store.create("default", Dtab.read(A));
      expect((await store.get("default"))?.version).toBe("1");
    } finally {
      const exited = once(sentinel, "exit");
      sentinel.kill("SIGKILL");
      await exited;
      await rm(dir, { recursive: true, force: true });
    }
  });
});
