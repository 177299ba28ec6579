// The service registry on Redis, shared by every namer replica. Per service,
// a sorted set of instance ids scored by expiry time and a hash of instance
// data, under one hash tag; every write is one Lua script that also drops
// expired members and publishes a change event. Watchers subscribe first,
// read second, re-read on every event and reconnect, and re-read when the
// next instance is due to expire, so expiry is seen promptly without polling.

import type { Redis } from "ioredis";
import { z } from "zod";
import { type Logger, silentLogger } from "../../lib/log.ts";
import { errorText, NamerError } from "../errors.ts";
import { DEFAULT_COMMAND_TIMEOUT_MS, quit, type RedisConnectionOptions, redisConnector, runCommand, scanNames } from "../redis/connection.ts";
import { byId, checkRegistration, checkServiceName, DEFAULT_MAX_TTL_SECONDS, instanceId, type InstancesWatcher, MAX_TIMER_MS, tellWatcher } from "./instances.ts";
import type { Instance, Registration, RegistryBackend, Unsubscribe } from "./types.ts";

export interface RedisRegistryOptions extends RedisConnectionOptions {
  /** Prefix of every key and of the event channel (default "meshd:", as the dtab store's). */
  readonly prefix?: string | undefined;
  /** Longest TTL a registration may ask for (seconds, default 3600). */
  readonly maxTtlSeconds?: number | undefined;
  /** Milliseconds a command may take before the call fails with STORE_UNAVAILABLE (default 2000). */
  readonly commandTimeoutMs?: number | undefined;
  /** Milliseconds between re-reads of every watched service, the safety net for lost events (default 10000). */
  readonly resyncIntervalMs?: number | undefined;
  readonly logger?: Logger | undefined;
}

export const DEFAULT_REGISTRY_PREFIX = "meshd:";
const DEFAULT_RESYNC_INTERVAL_MS = 10_000;
/** Re-read a little after an expiry is due, so the instance is surely gone by then. */
const EXPIRY_SLACK_MS = 5;

/**
 * A service's keys. The `{service}` hash tag keeps both in one Redis Cluster
 * slot, which lets one script change them atomically there.
 */
export function registryKeys(prefix: string, service: string): { readonly instances: string; readonly data: string } {
  const base = `${prefix}registry:{${service}}`;
  return { instances: `${base}:instances`, data: `${base}:data` };
}

/** The channel change events ({"service": name}) are published on. */
export function registryChannel(prefix: string): string {
  return `${prefix}registry:events`;
}

/** Redis's own clock in ms: every replica and writer then agrees on what has expired. */
const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/** Drops the expired members (score <= now) and their data. */
const DROP_EXPIRED = `
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
if #expired > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  for i = 1, #expired, 500 do
    redis.call('HDEL', KEYS[2], unpack(expired, i, math.min(i + 499, #expired)))
  end
end
`;

/**
 * Register or heartbeat. KEYS: instances, data. ARGV: id, instance JSON (no
 * times), ttl ms, channel, service. registeredAt is kept when the id is still
 * live. Both keys expire with the longest-lived instance, so an abandoned
 * service leaves nothing behind. Returns {stored JSON, expiresAt ms}.
 */
const REGISTER_SCRIPT = `${NOW}${DROP_EXPIRED}
local id = ARGV[1]
local registeredAt = string.format('%d', now)
local old = redis.call('HGET', KEYS[2], id)
if old then
  local ok, decoded = pcall(cjson.decode, old)
  if ok and type(decoded) == 'table' and type(decoded.registeredAt) == 'string' then registeredAt = decoded.registeredAt end
end
local instance = cjson.decode(ARGV[2])
instance.registeredAt = registeredAt
local stored = cjson.encode(instance)
local expiresAt = now + tonumber(ARGV[3])
redis.call('HSET', KEYS[2], id, stored)
redis.call('ZADD', KEYS[1], expiresAt, id)
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
local keepUntil = tonumber(last[2]) + 1000
redis.call('PEXPIREAT', KEYS[1], keepUntil)
redis.call('PEXPIREAT', KEYS[2], keepUntil)
redis.call('PUBLISH', ARGV[4], cjson.encode({service = ARGV[5]}))
return {stored, string.format('%d', expiresAt)}
`;

/** Deregister. KEYS: instances, data. ARGV: id, channel, service. Returns 1 when a live instance was removed. */
const DEREGISTER_SCRIPT = `${NOW}${DROP_EXPIRED}
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
if removed == 1 then redis.call('PUBLISH', ARGV[2], cjson.encode({service = ARGV[3]})) end
return removed
`;

/** Live instances. KEYS: instances, data. Returns {now, {id, score, ...}, {data, ...}}; writes nothing. */
const READ_SCRIPT = `${NOW}
local live = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf', 'WITHSCORES')
local ids = {}
for i = 1, #live, 2 do ids[#ids + 1] = live[i] end
local data = {}
if #ids > 0 then data = redis.call('HMGET', KEYS[2], unpack(ids)) end
return {string.format('%d', now), live, data}
`;

type ScriptedRedis = Redis & {
  meshdRegistryRegister(...args: (string | number)[]): Promise<unknown>;
  meshdRegistryDeregister(...args: (string | number)[]): Promise<unknown>;
  meshdRegistryRead(...args: (string | number)[]): Promise<unknown>;
};

const storedSchema = z.object({
  host: z.string(),
  port: z.number(),
  ttlSeconds: z.number(),
  meta: z.union([z.record(z.string(), z.union([z.string(), z.number()])), z.array(z.never()).length(0)]),
  registeredAt: z.string().regex(/^\d+$/),
});

const eventSchema = z.object({ service: z.string() });

interface Watcher extends InstancesWatcher {
  readonly onError: ((error: Error) => void) | undefined;
}

interface Watched {
  readonly service: string;
  readonly watchers: Set<Watcher>;
  instances: readonly Instance[] | undefined;
  reading: boolean;
  /** An event (or reconnect) asked for a read while one was running. */
  again: boolean;
  failures: number;
  timer: NodeJS.Timeout | undefined;
}

export class RedisRegistry implements RegistryBackend {
  readonly #client: ScriptedRedis;
  /** Pub/sub needs a connection of its own. */
  readonly #subscriber: Redis;
  readonly #address: string;
  readonly #prefix: string;
  readonly #channel: string;
  readonly #maxTtlSeconds: number;
  readonly #commandTimeoutMs: number;
  readonly #logger: Logger;
  readonly #watched = new Map<string, Watched>();
  readonly #readyWaiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  #subscribed = false;
  #lastError: string | undefined;
  #outageLogged = false;
  #resyncTimer: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(options: RedisRegistryOptions) {
    this.#logger = options.logger ?? silentLogger;
    this.#prefix = options.prefix ?? DEFAULT_REGISTRY_PREFIX;
    this.#channel = registryChannel(this.#prefix);
    this.#maxTtlSeconds = options.maxTtlSeconds ?? DEFAULT_MAX_TTL_SECONDS;
    this.#commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    const redis = redisConnector(options, this.#commandTimeoutMs);
    this.#address = redis.address;
    this.#client = redis.connect({
      connectionName: "meshd-registry",
      scripts: {
        meshdRegistryRegister: { lua: REGISTER_SCRIPT, numberOfKeys: 2 },
        meshdRegistryDeregister: { lua: DEREGISTER_SCRIPT, numberOfKeys: 2 },
        meshdRegistryRead: { lua: READ_SCRIPT, numberOfKeys: 2 },
      },
    }) as ScriptedRedis;
    this.#subscriber = redis.connect({ connectionName: "meshd-registry-events" });
    this.#resyncTimer = setInterval(() => this.#readAll(), options.resyncIntervalMs ?? DEFAULT_RESYNC_INTERVAL_MS);
    this.#resyncTimer.unref();
  }

  /** Opens the registry without waiting for Redis: a namer must start during an outage. */
  static open(options: RedisRegistryOptions = {}): RedisRegistry {
    const registry = new RedisRegistry(options);
    registry.#start();
    return registry;
  }

  /**
   * Resolves once both connections are up and change events are subscribed
   * (tests, and callers that want to register at start-up). Rejects when
   * the registry is closed first.
   */
  connected(): Promise<void> {
    if (this.#isConnected()) return Promise.resolve();
    if (this.#closed) return Promise.reject(new NamerError("NAMER_ERR_SHUTTING_DOWN", "the registry is closed"));
    return new Promise((resolve, reject) => this.#readyWaiters.push({ resolve, reject }));
  }

  async register(service: string, registration: Registration): Promise<Instance> {
    checkServiceName(service);
    const checked = checkRegistration(registration, this.#maxTtlSeconds);
    const id = instanceId(checked.host, checked.port);
    const keys = registryKeys(this.#prefix, service);
    const data = JSON.stringify({ host: checked.host, port: checked.port, ttlSeconds: checked.ttlSeconds, meta: checked.meta });
    const reply = await this.#command(
      `register ${id} in service "${service}"`,
      () => this.#client.meshdRegistryRegister(keys.instances, keys.data, id, data, Math.max(1, Math.round(checked.ttlSeconds * 1000)), this.#channel, service),
      "; the registration may or may not have been applied",
    );
    const [stored, expiresAt] = Array.isArray(reply) ? (reply as unknown[]) : [];
    const instance = typeof stored === "string" && typeof expiresAt === "string" ? this.#instance(service, id, stored, Number(expiresAt)) : undefined;
    if (instance === undefined) throw new NamerError("NAMER_ERR_INTERNAL", `unexpected reply from the registry script: ${JSON.stringify(reply)}`);
    return instance;
  }

  async deregister(service: string, id: string): Promise<boolean> {
    checkServiceName(service);
    const keys = registryKeys(this.#prefix, service);
    const removed = await this.#command(`deregister ${id} from service "${service}"`, () =>
      this.#client.meshdRegistryDeregister(keys.instances, keys.data, id, this.#channel, service),
    );
    return removed === 1;
  }

  async instances(service: string): Promise<readonly Instance[]> {
    checkServiceName(service);
    return (await this.#read(service)).instances;
  }

  async services(): Promise<readonly string[]> {
    const scan = (cursor: string, pattern: string): Promise<[string, string[]]> =>
      this.#command("list services", () => this.#client.scan(cursor, "MATCH", pattern, "COUNT", 1000));
    const services = await scanNames(scan, this.#prefix, "registry:{", "}:instances");
    if (services.length === 0) return [];
    const [seconds, micros] = await this.#command("read the Redis clock", () => this.#client.time());
    const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    const pipeline = this.#client.pipeline();
    for (const { key } of services) pipeline.zcount(key, `(${now}`, "+inf");
    const counts = (await this.#command("count live instances", () => pipeline.exec())) ?? [];
    return services
      .filter((_, i) => Number(counts[i]?.[1] ?? 0) > 0)
      .map(({ name }) => name)
      .sort();
  }

  watch(service: string, listener: (instances: readonly Instance[]) => void, onError?: (error: Error) => void): Unsubscribe {
    checkServiceName(service);
    if (this.#closed) return () => undefined;
    let watched = this.#watched.get(service);
    const fresh = watched === undefined;
    if (watched === undefined) {
      watched = { service, watchers: new Set(), instances: undefined, reading: false, again: false, failures: 0, timer: undefined };
      this.#watched.set(service, watched);
    }
    const watcher: Watcher = { listener, onError, last: undefined };
    watched.watchers.add(watcher);
    if (watched.instances !== undefined) tellWatcher(watcher, watched.instances, this.#logger);
    if (fresh) void this.#refresh(watched);
    const entry = watched;
    return () => {
      entry.watchers.delete(watcher);
      if (entry.watchers.size === 0 && this.#watched.get(service) === entry) {
        this.#watched.delete(service);
        clearTimeout(entry.timer);
      }
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#resyncTimer);
    for (const watched of this.#watched.values()) clearTimeout(watched.timer);
    this.#watched.clear();
    for (const waiter of this.#readyWaiters.splice(0)) waiter.reject(new NamerError("NAMER_ERR_SHUTTING_DOWN", "the registry closed before it connected"));
    await Promise.all([quit(this.#client, this.#commandTimeoutMs), quit(this.#subscriber, this.#commandTimeoutMs)]);
  }

  // -------------------------------------------------------------------------
  // Connections.

  #start(): void {
    this.#client.on("ready", () => {
      this.#connected();
      this.#readAll();
      this.#wakeReady();
    });
    this.#subscriber.on("close", () => {
      this.#subscribed = false;
    });
    this.#subscriber.on("ready", () => {
      this.#connected();
      void this.#subscribe();
    });
    this.#client.on("error", (e: Error) => this.#connectionError(e));
    this.#subscriber.on("error", (e: Error) => this.#connectionError(e));
    this.#subscriber.on("message", (channel: string, message: string) => this.#onMessage(channel, message));
    // connect() rejects when Redis is down; ioredis keeps retrying on its own (retryStrategy).
    this.#client.connect().catch(() => undefined);
    this.#subscriber.connect().catch(() => undefined);
  }

  async #subscribe(): Promise<void> {
    try {
      await this.#subscriber.subscribe(this.#channel);
    } catch (e) {
      this.#logger.debug({ redis: this.#address, err: errorText(e) }, "subscribing to registry events failed");
      return;
    }
    if (this.#closed) return;
    this.#subscribed = true;
    // Subscribed first, read second: nothing written in between is missed.
    this.#readAll();
    this.#wakeReady();
  }

  #isConnected(): boolean {
    return !this.#closed && this.#subscribed && this.#client.status === "ready";
  }

  #wakeReady(): void {
    if (!this.#isConnected()) return;
    for (const waiter of this.#readyWaiters.splice(0)) waiter.resolve();
  }

  #connected(): void {
    if (this.#outageLogged) this.#logger.info({ redis: this.#address }, "registry reconnected to Redis");
    this.#outageLogged = false;
    this.#lastError = undefined;
  }

  #connectionError(e: Error): void {
    this.#lastError = errorText(e);
    if (this.#outageLogged) return;
    this.#outageLogged = true;
    this.#logger.warn({ redis: this.#address, err: this.#lastError }, "registry cannot reach Redis; watchers keep the last known instances");
  }

  #onMessage(channel: string, message: string): void {
    if (channel !== this.#channel) return;
    let service: string;
    try {
      service = eventSchema.parse(JSON.parse(message)).service;
    } catch {
      this.#logger.warn({ channel }, "unreadable registry event; re-reading every watched service");
      this.#readAll();
      return;
    }
    const watched = this.#watched.get(service);
    if (watched !== undefined) void this.#refresh(watched);
  }

  // -------------------------------------------------------------------------
  // Keeping watched services current.

  #readAll(): void {
    if (this.#closed) return;
    for (const watched of this.#watched.values()) void this.#refresh(watched);
  }

  /** Re-reads a watched service; reads of one service never overlap, and one asked for meanwhile runs after. */
  async #refresh(watched: Watched): Promise<void> {
    if (watched.reading) {
      watched.again = true;
      return;
    }
    watched.reading = true;
    try {
      do {
        watched.again = false;
        await this.#refreshOnce(watched);
      } while (watched.again && this.#isWatched(watched));
    } finally {
      watched.reading = false;
    }
  }

  async #refreshOnce(watched: Watched): Promise<void> {
    if (!this.#isWatched(watched)) return;
    let read: { instances: readonly Instance[]; nextExpiryInMs: number | undefined };
    try {
      read = await this.#read(watched.service);
    } catch (e) {
      if (!this.#isWatched(watched)) return;
      const error = e instanceof Error ? e : new Error(String(e));
      for (const watcher of [...watched.watchers]) {
        try {
          watcher.onError?.(error);
        } catch (err) {
          this.#logger.error({ err }, "a registry watcher's error handler threw");
        }
      }
      // Disconnected: the next "ready" re-reads. Connected but failing (a timeout): retry with backoff.
      if (this.#client.status === "ready") this.#schedule(watched, Math.min(100 * 2 ** Math.min(watched.failures++, 7), 10_000));
      return;
    }
    if (!this.#isWatched(watched)) return;
    watched.failures = 0;
    watched.instances = read.instances;
    for (const watcher of [...watched.watchers]) tellWatcher(watcher, read.instances, this.#logger);
    // No event comes when an instance expires: read again when the next one is due.
    if (read.nextExpiryInMs === undefined) {
      clearTimeout(watched.timer);
      watched.timer = undefined;
    } else {
      this.#schedule(watched, read.nextExpiryInMs + EXPIRY_SLACK_MS);
    }
  }

  #schedule(watched: Watched, delayMs: number): void {
    clearTimeout(watched.timer);
    watched.timer = setTimeout(() => {
      watched.timer = undefined;
      void this.#refresh(watched);
    }, Math.min(Math.max(0, delayMs), MAX_TIMER_MS));
    watched.timer.unref();
  }

  #isWatched(watched: Watched): boolean {
    return !this.#closed && this.#watched.get(watched.service) === watched;
  }

  async #read(service: string): Promise<{ instances: readonly Instance[]; nextExpiryInMs: number | undefined }> {
    const keys = registryKeys(this.#prefix, service);
    const reply = await this.#command(`read service "${service}"`, () => this.#client.meshdRegistryRead(keys.instances, keys.data));
    const [nowText, live, data] = Array.isArray(reply) ? (reply as unknown[]) : [];
    if (typeof nowText !== "string" || !Array.isArray(live) || !Array.isArray(data)) {
      throw new NamerError("NAMER_ERR_INTERNAL", `unexpected reply from the registry read script: ${JSON.stringify(reply)}`);
    }
    const now = Number(nowText);
    const instances: Instance[] = [];
    let next: number | undefined;
    for (let i = 0; i < live.length; i += 2) {
      const id = String(live[i]);
      const expiresAt = Number(live[i + 1]);
      next = next === undefined ? expiresAt : Math.min(next, expiresAt);
      const stored = data[i / 2];
      const instance = typeof stored === "string" ? this.#instance(service, id, stored, expiresAt) : undefined;
      if (instance === undefined) {
        this.#logger.warn({ service, id }, "unreadable instance data in Redis; leaving the instance out");
        continue;
      }
      instances.push(instance);
    }
    return { instances: instances.sort(byId), nextExpiryInMs: next === undefined ? undefined : next - now };
  }

  #instance(service: string, id: string, stored: string, expiresAtMs: number): Instance | undefined {
    let parsed: z.infer<typeof storedSchema>;
    try {
      parsed = storedSchema.parse(JSON.parse(stored));
    } catch {
      return undefined;
    }
    // cjson writes an empty table as [] or {}: both are "no meta".
    const meta = Array.isArray(parsed.meta) ? {} : parsed.meta;
    return Object.freeze({
      service,
      id,
      host: parsed.host,
      port: parsed.port,
      ttlSeconds: parsed.ttlSeconds,
      meta: Object.freeze({ ...meta }),
      registeredAt: new Date(Number(parsed.registeredAt)).toISOString(),
      expiresAt: new Date(expiresAtMs).toISOString(),
    });
  }

  // -------------------------------------------------------------------------
  // Commands: fail fast while disconnected, time out, map errors.

  async #command<T>(what: string, run: () => Promise<T>, onTimeout = ""): Promise<T> {
    if (this.#closed) throw new NamerError("NAMER_ERR_SHUTTING_DOWN", `cannot ${what}: the registry is closed`);
    return runCommand(this.#client, this.#address, this.#lastError, { what, run, timeoutMs: this.#commandTimeoutMs, onTimeout });
  }
}
