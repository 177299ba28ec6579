// The Redis dtab store, for namers that share their dtabs (several replicas,
// HA through Sentinel). Each write is one Lua script on one namespace's
// hash-tagged keys (compare-and-set, version, history, audit, change event);
// reads and watches are served from memory, kept current by the change events
// plus a full snapshot after every (re)connect and a periodic version check,
// so a namer keeps answering through a Redis outage and never misses a change.

import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { z } from "zod";
import { type Logger, silentLogger } from "../../lib/log.ts";
import { errorText, NamerError } from "../errors.ts";
import {
  DEFAULT_COMMAND_TIMEOUT_MS,
  quit,
  type RedisConnectionOptions,
  redisConnector,
  redisUnavailable,
  runCommand,
  scanNames,
} from "../redis/connection.ts";
import {
  auditEntrySchema,
  authorOf,
  DEFAULT_AUDIT_SIZE,
  DEFAULT_HISTORY_SIZE,
  StateBackedStore,
  existsError,
  findRollbackTarget,
  historyEntrySchema,
  isVersion,
  type NamespaceState,
  notFoundError,
  parseStored,
  positiveInteger,
  stateFrom,
  versionMismatchError,
  type WriteRequest,
} from "./state.ts";
import type {
  AuditEntry,
  DtabStore,
  HistoryEntry,
  StoreHealth,
  Unsubscribe,
  WriteContext,
  WriteResult,
} from "./types.ts";

export interface RedisDtabStoreOptions extends RedisConnectionOptions {
  /** Prefix of every key and of the event channel (default "meshd:"). */
  readonly prefix?: string | undefined;
  /** Versions kept per namespace for history and rollback (default 50). */
  readonly historySize?: number | undefined;
  /** Audit records kept per namespace (default 1000). */
  readonly auditSize?: number | undefined;
  /**
   * After each write, WAIT for this many replicas, at most timeoutMs
   * milliseconds; the outcome is reported in WriteResult.replication, never
   * turned into a failure (Redis replication is asynchronous either way).
   */
  readonly waitForReplicas?: { readonly replicas: number; readonly timeoutMs: number } | undefined;
  /** Milliseconds a command may take before the call fails with STORE_UNAVAILABLE (default 2000). */
  readonly commandTimeoutMs?: number | undefined;
  /** Milliseconds between the background version checks that catch anything events missed (default 10000). */
  readonly versionCheckIntervalMs?: number | undefined;
  /** Clock for `updatedAt` and history times (tests inject one). */
  readonly now?: (() => Date) | undefined;
  readonly logger?: Logger | undefined;
}

export const DEFAULT_PREFIX = "meshd:";
export const DEFAULT_VERSION_CHECK_INTERVAL_MS = 10_000;

/**
 * A namespace's keys. The `{namespace}` hash tag puts all three in one Redis
 * Cluster slot, which is what lets one script touch them atomically there.
 */
export function dtabKeys(prefix: string, namespace: string): { readonly state: string; readonly history: string; readonly audit: string } {
  const base = `${prefix}{${namespace}}`;
  return { state: `${base}:state`, history: `${base}:history`, audit: `${base}:audit` };
}

/** The pub/sub channel change events are published on. */
export function eventsChannel(prefix: string): string {
  return `${prefix}events`;
}

/**
 * One write, atomically. Mirrors planWrite() in state.ts: the same checks in
 * the same order, the version one above both the stored counter and the
 * caller's floor, then history, audit and the change event.
 * KEYS: state, history, audit.
 * ARGV: op, expected version ("" none), dtab, at, actor, source, restored
 * version ("" none), history size, audit size, floor, channel, namespace.
 * Returns {"OK", version} or {"EXISTS"|"VERSION_MISMATCH", current} or {"NOT_FOUND"}.
 */
const WRITE_SCRIPT = `
local op, expected, dtab, at, actor, source, restored = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local historySize, auditSize, floor = tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10])
local channel, namespace = ARGV[11], ARGV[12]

local current = redis.call('HMGET', KEYS[1], 'version', 'deleted')
local version = current[1]
local live = version ~= false and current[2] ~= '1'
local needsLive = op == 'update' or op == 'delete' or (op == 'rollback' and expected ~= '')
if op == 'create' and live then return {'EXISTS', version} end
if needsLive and not live then return {'NOT_FOUND'} end
if live and expected ~= '' and expected ~= '*' and expected ~= version then return {'VERSION_MISMATCH', version} end

local action = op
if op == 'put' then
  if live then action = 'update' else action = 'create' end
end
local base = 0
if version then base = tonumber(version) end
if floor > base then base = floor end
local newVersion = string.format('%d', base + 1)
local previous = nil
if live then previous = version end
local deleted = '0'
if op == 'delete' then
  dtab = ''
  deleted = '1'
end

redis.call('HSET', KEYS[1], 'version', newVersion, 'updatedAt', at, 'deleted', deleted, 'dtab', dtab)
local entry = {version = newVersion, action = action, dtab = dtab, at = at, actor = actor, source = source, previousVersion = previous}
if restored ~= '' then entry.restoredVersion = restored end
redis.call('LPUSH', KEYS[2], cjson.encode(entry))
redis.call('LTRIM', KEYS[2], 0, historySize - 1)
redis.call('LPUSH', KEYS[3], cjson.encode({at = at, actor = actor, source = source, namespace = namespace,
  action = action, oldVersion = previous, newVersion = newVersion}))
redis.call('LTRIM', KEYS[3], 0, auditSize - 1)
local event = {namespace = namespace, version = newVersion, updatedAt = at}
if op == 'delete' then event.deleted = true else event.dtab = dtab end
redis.call('PUBLISH', channel, cjson.encode(event))
return {'OK', newVersion}
`;

type ScriptedRedis = Redis & { meshdDtabWrite(...args: (string | number)[]): Promise<unknown> };

const versionSchema = z.string().refine(isVersion, "must be a decimal version");
/** What arrives on the channel: a change (dtab or deletion), or a marker of caughtUp(). */
const eventSchema = z.union([
  z.object({ marker: z.string() }),
  z.object({ namespace: z.string(), version: versionSchema, updatedAt: z.string(), dtab: z.string() }),
  z.object({ namespace: z.string(), version: versionSchema, updatedAt: z.string(), deleted: z.literal(true) }),
]);

const SNAPSHOT_BATCH = 500;

export class RedisDtabStore extends StateBackedStore implements DtabStore {
  readonly #client: ScriptedRedis;
  /** Pub/sub needs a connection of its own. */
  readonly #subscriber: Redis;
  readonly #address: string;
  readonly #prefix: string;
  readonly #channel: string;
  readonly #historySize: number;
  readonly #auditSize: number;
  readonly #wait: { readonly replicas: number; readonly timeoutMs: number } | undefined;
  readonly #commandTimeoutMs: number;
  readonly #versionCheckIntervalMs: number;
  readonly #now: () => Date;
  readonly #logger: Logger;
  readonly #healthListeners = new Set<(health: StoreHealth) => void>();
  readonly #syncWaiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  readonly #markers = new Map<string, () => void>();
  #lastHealth: StoreHealth;
  #lastError: string | undefined;
  /** Per connection: whether the current outage was already logged at warn level. */
  readonly #outageLogged = { command: false, events: false };
  #subscribed = false;
  #synced = false;
  /** A full snapshot is owed (after a (re)connect, a failed read, or a version check that found a difference). */
  #stale = true;
  /** A snapshot or version check is running; they never overlap. */
  #reading = false;
  #failedReads = 0;
  /** WAITs in flight: commands queued behind one on the connection get its timeout added to theirs. */
  #waiting = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #checkTimer: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(options: RedisDtabStoreOptions) {
    const logger = options.logger ?? silentLogger;
    super(logger);
    this.#logger = logger;
    this.#prefix = options.prefix ?? DEFAULT_PREFIX;
    this.#channel = eventsChannel(this.#prefix);
    this.#historySize = positiveInteger("historySize", options.historySize ?? DEFAULT_HISTORY_SIZE);
    this.#auditSize = positiveInteger("auditSize", options.auditSize ?? DEFAULT_AUDIT_SIZE);
    this.#commandTimeoutMs = positiveInteger("commandTimeoutMs", options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS);
    this.#versionCheckIntervalMs = positiveInteger("versionCheckIntervalMs", options.versionCheckIntervalMs ?? DEFAULT_VERSION_CHECK_INTERVAL_MS);
    if (options.waitForReplicas !== undefined) {
      positiveInteger("waitForReplicas.replicas", options.waitForReplicas.replicas);
      positiveInteger("waitForReplicas.timeoutMs", options.waitForReplicas.timeoutMs);
    }
    this.#wait = options.waitForReplicas;
    this.#now = options.now ?? (() => new Date());

    const redis = redisConnector(options, this.#commandTimeoutMs);
    this.#address = redis.address;
    this.#client = redis.connect({ connectionName: "meshd-namer", scripts: { meshdDtabWrite: { lua: WRITE_SCRIPT, numberOfKeys: 3 } } }) as ScriptedRedis;
    this.#subscriber = redis.connect({ connectionName: "meshd-namer-events" });
    this.#lastHealth = this.health();
  }

  /**
   * Opens the store without waiting for Redis: a namer must start during an
   * outage. Reads answer from memory (empty until the first snapshot, see
   * synced()); writes fail with STORE_UNAVAILABLE until Redis is reachable.
   */
  static async open(options: RedisDtabStoreOptions = {}): Promise<RedisDtabStore> {
    const store = new RedisDtabStore(options);
    store.#start();
    return store;
  }

  /** Resolves once the first full snapshot has been loaded. */
  synced(): Promise<void> {
    if (this.#synced) return Promise.resolve();
    if (this.#closed) return Promise.reject(new NamerError("NAMER_ERR_SHUTTING_DOWN", "the dtab store is closed"));
    return new Promise((resolve, reject) => this.#syncWaiters.push({ resolve, reject }));
  }

  /**
   * Resolves once every change event published before the call has been
   * applied here (a marker sent down the same channel came back), e.g. to
   * read another replica's write. STORE_UNAVAILABLE if Redis is unreachable.
   */
  async caughtUp(): Promise<void> {
    const what = "catch up with change events";
    if (!this.#subscribed) throw this.#unavailable(what, "not subscribed to change events");
    const id = randomUUID();
    let timer: NodeJS.Timeout | undefined;
    const back = new Promise<void>((resolve, reject) => {
      this.#markers.set(id, resolve);
      timer = setTimeout(() => reject(this.#unavailable(what, `the marker did not come back within ${this.#commandTimeoutMs} ms`)), this.#commandTimeoutMs);
    });
    try {
      await this.#command(what, () => this.#client.publish(this.#channel, JSON.stringify({ marker: id })));
      await back;
    } finally {
      clearTimeout(timer);
      this.#markers.delete(id);
    }
  }

  async rollback(namespace: string, toVersion: string, expectedVersion?: string, ctx?: WriteContext): Promise<WriteResult> {
    // A version's dtab never changes, so looking it up before the script
    // cannot restore the wrong dtab; the script still checks expectedVersion.
    const target = findRollbackTarget(namespace, await this.#historyEntries(namespace, -1), toVersion);
    return this.commit(namespace, { op: "rollback", dtab: target.dtab, restoredVersion: toVersion, expectedVersion }, ctx);
  }

  async history(namespace: string, limit?: number): Promise<readonly HistoryEntry[]> {
    return this.#historyEntries(namespace, rangeEnd(limit));
  }

  async audit(namespace: string, limit?: number): Promise<readonly AuditEntry[]> {
    const end = rangeEnd(limit);
    if (end === undefined) return [];
    return this.#readList(`read the audit of namespace "${namespace}"`, dtabKeys(this.#prefix, namespace).audit, end, auditEntrySchema);
  }

  health(): StoreHealth {
    const synced = this.#synced;
    const pending = synced ? "" : "; waiting for the first snapshot";
    if (this.#closed) return { writable: false, synced, detail: `closed (was using ${this.#address})` };
    if (this.#client.status === "ready") {
      const events = this.#subscribed ? "" : "; subscribing to change events";
      return { writable: true, synced, detail: `connected to ${this.#address}${events}${pending}` };
    }
    const detail =
      this.#lastError === undefined
        ? `connecting to ${this.#address}${pending}`
        : `cannot reach ${this.#address} (${this.#lastError}); serving the last known dtabs${pending}`;
    return { writable: false, synced, detail };
  }

  onHealth(listener: (health: StoreHealth) => void): Unsubscribe {
    this.#healthListeners.add(listener);
    return () => {
      this.#healthListeners.delete(listener);
    };
  }

  /** Quits both connections and stops the timers; reads keep answering from memory. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#checkTimer);
    clearTimeout(this.#retryTimer);
    for (const waiter of this.#syncWaiters.splice(0)) {
      waiter.reject(new NamerError("NAMER_ERR_SHUTTING_DOWN", "the dtab store closed before its first snapshot"));
    }
    await Promise.all([quit(this.#client, this.#commandTimeoutMs), quit(this.#subscriber, this.#commandTimeoutMs)]);
    this.#healthChanged();
  }

  // -------------------------------------------------------------------------
  // Connections.

  #start(): void {
    const client = this.#client;
    const subscriber = this.#subscriber;
    client.on("ready", () => {
      if (this.#closed) return;
      this.#connected("command");
      // Whatever happened while we were away, the snapshot catches up on it.
      this.#requestSnapshot();
    });
    subscriber.on("ready", () => {
      if (this.#closed) return;
      this.#connected("events");
      void this.#subscribe();
    });
    client.on("close", () => this.#healthChanged());
    subscriber.on("close", () => {
      this.#subscribed = false;
      this.#healthChanged();
    });
    client.on("error", (e: Error) => this.#connectionError("command", e));
    subscriber.on("error", (e: Error) => this.#connectionError("events", e));
    subscriber.on("message", (channel: string, message: string) => this.#onMessage(channel, message));
    // connect() rejects when Redis is down; ioredis keeps retrying on its own (retryStrategy).
    client.connect().catch(() => undefined);
    subscriber.connect().catch(() => undefined);
    this.#checkTimer = setInterval(() => void this.#checkVersions(), this.#versionCheckIntervalMs);
    this.#checkTimer.unref();
  }

  async #subscribe(): Promise<void> {
    try {
      await this.#subscriber.subscribe(this.#channel);
    } catch (e) {
      // The connection dropped again; its next "ready" subscribes again.
      this.#logger.debug({ redis: this.#address, err: errorText(e) }, "subscribing to dtab change events failed");
      return;
    }
    if (this.#closed) return;
    this.#subscribed = true;
    this.#healthChanged();
    // Subscribed first, snapshot second: nothing written in between is missed.
    this.#requestSnapshot();
  }

  #connected(connection: "command" | "events"): void {
    if (this.#outageLogged[connection]) this.#logger.info({ redis: this.#address, connection }, "reconnected to Redis");
    this.#outageLogged[connection] = false;
    this.#lastError = undefined;
    this.#healthChanged();
  }

  #connectionError(connection: "command" | "events", e: Error): void {
    this.#lastError = errorText(e);
    // ioredis reports every failed reconnect; one warning per outage is enough.
    if (this.#outageLogged[connection]) {
      this.#logger.debug({ redis: this.#address, connection, err: this.#lastError }, "Redis still unreachable");
    } else {
      this.#outageLogged[connection] = true;
      this.#logger.warn({ redis: this.#address, connection, err: this.#lastError }, "Redis connection failed; serving dtabs from memory and retrying");
    }
    this.#healthChanged();
  }

  #onMessage(channel: string, message: string): void {
    if (channel !== this.#channel) return;
    const parsed = parseStored(eventSchema, message);
    if (!parsed.ok) {
      this.#logger.warn({ channel, error: parsed.error }, "unreadable dtab change event; re-reading the snapshot");
      this.#requestSnapshot();
      return;
    }
    const event = parsed.value;
    if ("marker" in event) {
      this.#markers.get(event.marker)?.();
      return;
    }
    let state: NamespaceState;
    try {
      state = stateFrom({ namespace: event.namespace, version: event.version, updatedAt: event.updatedAt, dtab: "dtab" in event ? event.dtab : undefined });
    } catch (e) {
      this.#logger.warn({ channel, err: errorText(e) }, "unusable dtab change event; re-reading the snapshot");
      this.#requestSnapshot();
      return;
    }
    this.state.apply(state);
  }

  #healthChanged(): void {
    const now = this.health();
    const last = this.#lastHealth;
    if (now.writable === last.writable && now.synced === last.synced && now.detail === last.detail) return;
    this.#lastHealth = now;
    for (const listener of [...this.#healthListeners]) {
      try {
        listener(now);
      } catch (err) {
        this.#logger.error({ err }, "a dtab store health listener threw; the store carries on");
      }
    }
  }

  // -------------------------------------------------------------------------
  // Keeping the in-memory state current.

  #requestSnapshot(): void {
    this.#stale = true;
    void this.#refresh();
  }

  /** Runs owed snapshots one at a time while both connections are up; otherwise the next "ready" brings it back here. */
  async #refresh(): Promise<void> {
    if (this.#reading) return;
    this.#reading = true;
    try {
      while (this.#stale && !this.#closed && this.#subscribed && this.#client.status === "ready") {
        this.#stale = false;
        try {
          await this.#snapshot();
          this.#failedReads = 0;
        } catch (e) {
          this.#stale = true;
          this.#logger.warn({ redis: this.#address, err: errorText(e) }, "reading the dtab snapshot failed; keeping the known dtabs and retrying");
          this.#retrySoon();
          return;
        }
      }
    } finally {
      this.#reading = false;
    }
  }

  #retrySoon(): void {
    clearTimeout(this.#retryTimer);
    const delay = Math.min(100 * 2 ** Math.min(this.#failedReads++, 10), this.#versionCheckIntervalMs);
    this.#retryTimer = setTimeout(() => void this.#refresh(), delay);
    this.#retryTimer.unref();
  }

  async #snapshot(): Promise<void> {
    const since = this.state.mark();
    const keys = await this.#stateKeys();
    const namespaces = new Set<string>();
    const states: NamespaceState[] = [];
    for (let i = 0; i < keys.length; i += SNAPSHOT_BATCH) {
      const batch = keys.slice(i, i + SNAPSHOT_BATCH);
      const pipeline = this.#client.pipeline();
      for (const { key } of batch) pipeline.hgetall(key);
      const replies = (await this.#command("read the dtab snapshot", () => pipeline.exec())) ?? [];
      batch.forEach(({ namespace }, j) => {
        // Present in Redis: even if unreadable below, it is not removed from memory.
        namespaces.add(namespace);
        const [err, fields] = replies[j] ?? [new Error("no reply"), undefined];
        if (err !== null) {
          this.#logger.warn({ namespace, err: errorText(err) }, "cannot read a namespace's state from Redis; keeping what is known");
          return;
        }
        const state = this.#stateOf(namespace, fields as Record<string, string>);
        if (state !== undefined) states.push(state);
      });
    }
    this.state.reconcile({ states, namespaces }, since);
    if (!this.#synced) {
      this.#synced = true;
      this.#logger.info({ redis: this.#address, namespaces: this.state.list().length }, "dtab snapshot loaded from Redis");
      for (const waiter of this.#syncWaiters.splice(0)) waiter.resolve();
    }
    this.#healthChanged();
  }

  /**
   * The safety net for lost events (a subscriber that silently stopped, a
   * writer that bypassed the script): compares every version in Redis with
   * memory and takes a full snapshot when anything differs.
   */
  async #checkVersions(): Promise<void> {
    if (this.#reading || this.#closed || !this.#subscribed || this.#client.status !== "ready") return;
    if (this.#stale) return this.#refresh();
    this.#reading = true;
    try {
      const keys = await this.#stateKeys();
      const pipeline = this.#client.pipeline();
      for (const { key } of keys) pipeline.hget(key, "version");
      const replies = keys.length === 0 ? [] : ((await this.#command("check dtab versions", () => pipeline.exec())) ?? []);
      const found = new Map(keys.map(({ namespace }, i) => [namespace, replies[i]?.[1]]));
      const differs =
        [...found].some(([namespace, version]) => this.state.state(namespace)?.version !== version) ||
        this.state.states().some((s) => !found.has(s.namespace));
      if (differs) {
        this.#logger.info({ redis: this.#address }, "dtab versions in Redis differ from memory; re-reading the snapshot");
        this.#stale = true;
      }
    } catch (e) {
      this.#logger.debug({ redis: this.#address, err: errorText(e) }, "dtab version check failed");
      this.#stale = true;
    } finally {
      this.#reading = false;
    }
    if (this.#stale) await this.#refresh();
  }

  /** Every namespace's state key, found with SCAN (there is deliberately no index key to keep consistent). */
  async #stateKeys(): Promise<{ key: string; namespace: string }[]> {
    const scan = (cursor: string, pattern: string): Promise<[string, string[]]> =>
      this.#command("list namespaces", () => this.#client.scan(cursor, "MATCH", pattern, "COUNT", 1000));
    return (await scanNames(scan, this.#prefix, "{", "}:state")).map(({ key, name }) => ({ key, namespace: name }));
  }

  #stateOf(namespace: string, fields: Record<string, string>): NamespaceState | undefined {
    // Gone between SCAN and HGETALL: not a deletion (those are explicit), so nothing to apply.
    if (Object.keys(fields).length === 0) return undefined;
    try {
      if (fields.version === undefined || fields.updatedAt === undefined) throw new Error(`namespace "${namespace}": state without a version or time`);
      return stateFrom({ namespace, version: fields.version, updatedAt: fields.updatedAt, dtab: fields.deleted === "1" ? undefined : (fields.dtab ?? "") });
    } catch (e) {
      this.#logger.error({ namespace, err: errorText(e) }, "unreadable namespace state in Redis; keeping what is known");
      return undefined;
    }
  }

  // -------------------------------------------------------------------------
  // Writes and history.

  protected override async commit(namespace: string, requested: WriteRequest | (() => WriteRequest), ctx: WriteContext | undefined): Promise<WriteResult> {
    const request = typeof requested === "function" ? requested() : requested;
    const what = `write namespace "${namespace}"`;
    const author = authorOf(ctx);
    const at = this.#now().toISOString();
    const keys = dtabKeys(this.#prefix, namespace);
    const dtab = request.op === "delete" ? undefined : request.dtab;
    const expected = request.op === "create" || request.op === "put" ? undefined : request.expectedVersion;
    const restored = request.op === "rollback" ? request.restoredVersion : undefined;
    const reply = await this.#command(
      what,
      () =>
        this.#client.meshdDtabWrite(
          keys.state,
          keys.history,
          keys.audit,
          request.op,
          expected ?? "",
          dtab?.show ?? "",
          at,
          author.actor,
          author.source,
          restored ?? "",
          this.#historySize,
          this.#auditSize,
          this.state.highWater(namespace) ?? "0",
          this.#channel,
          namespace,
        ),
      "; the write may or may not have been applied",
    );
    const version = this.#outcome(namespace, reply, expected);
    // Read-your-writes: visible here now, not when the event comes back.
    this.state.apply({ namespace, version, updatedAt: at, dtab });
    const replication = await this.#replicate(namespace, version);
    return { namespace, version, ...(replication === undefined ? {} : { replication }) };
  }

  #outcome(namespace: string, reply: unknown, expected: string | undefined): string {
    const [status, version] = Array.isArray(reply) ? (reply as unknown[]) : [];
    if (status === "OK" && typeof version === "string") return version;
    if (status === "NOT_FOUND") throw notFoundError(namespace);
    if (status === "EXISTS" && typeof version === "string") throw existsError(namespace, version);
    if (status === "VERSION_MISMATCH" && typeof version === "string") throw versionMismatchError(namespace, expected ?? "", version);
    throw new NamerError("NAMER_ERR_INTERNAL", `unexpected reply from the dtab write script: ${JSON.stringify(reply)}`);
  }

  async #replicate(namespace: string, version: string): Promise<WriteResult["replication"]> {
    const wait = this.#wait;
    if (wait === undefined) return undefined;
    let acknowledged = 0;
    this.#waiting++;
    try {
      acknowledged = await this.#command(
        "wait for replicas",
        () => this.#client.wait(wait.replicas, wait.timeoutMs),
        "",
        wait.timeoutMs + this.#commandTimeoutMs,
      );
    } catch (e) {
      this.#logger.warn({ namespace, version, err: errorText(e) }, "could not wait for Redis replicas after a dtab write");
    } finally {
      this.#waiting--;
    }
    if (acknowledged < wait.replicas) {
      this.#logger.warn(
        { namespace, version, requested: wait.replicas, acknowledged },
        "dtab write not confirmed by the requested number of Redis replicas: a failover could lose it",
      );
    }
    return { requested: wait.replicas, acknowledged, timeoutMs: wait.timeoutMs };
  }

  /** `end` is LRANGE's stop index: -1 for all kept, undefined for none. */
  async #historyEntries(namespace: string, end: number | undefined): Promise<HistoryEntry[]> {
    if (end === undefined) return [];
    return this.#readList(`read the history of namespace "${namespace}"`, dtabKeys(this.#prefix, namespace).history, end, historyEntrySchema);
  }

  async #readList<T>(what: string, key: string, end: number, schema: z.ZodType<T>): Promise<T[]> {
    const items = await this.#command(what, () => this.#client.lrange(key, 0, end));
    const entries: T[] = [];
    for (const item of items) {
      const parsed = parseStored(schema, item);
      if (parsed.ok) entries.push(parsed.value);
      else this.#logger.warn({ key, error: parsed.error }, "skipping an unreadable entry in Redis");
    }
    return entries;
  }

  // -------------------------------------------------------------------------
  // Commands: fail fast while disconnected, time out, map errors.

  async #command<T>(what: string, run: () => Promise<T>, onTimeout = "", timeoutMs?: number): Promise<T> {
    if (this.#closed) throw new NamerError("NAMER_ERR_SHUTTING_DOWN", `cannot ${what}: the dtab store is closed`);
    // A command queued behind a WAIT on this connection waits for it too.
    const limit = timeoutMs ?? this.#commandTimeoutMs + (this.#waiting > 0 ? (this.#wait?.timeoutMs ?? 0) : 0);
    return runCommand(this.#client, this.#address, this.#lastError, { what, run, timeoutMs: limit, onTimeout });
  }

  #unavailable(what: string, reason: string): NamerError {
    return redisUnavailable(this.#address, what, reason);
  }
}

/** LRANGE's stop index for a caller's limit: -1 for everything, undefined when nothing is wanted. */
function rangeEnd(limit: number | undefined): number | undefined {
  if (limit === undefined) return -1;
  const n = Math.floor(limit);
  return n < 1 ? undefined : n - 1;
}
