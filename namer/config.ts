// The namer's configuration: where dtabs are stored, which APIs it serves,
// its admin port and logging. Linkerd/namerd key and `kind` names, strictly
// validated (see lib/config.ts for loading and error reporting).
import { z } from "zod";
import { ip, logLevel, millis, port, positiveInt, withKindAliases } from "../lib/schema.ts";

/** The embedded store: in memory, persisted to `dataDir` when given. */
const inMemoryStorage = z.strictObject({
  kind: z.literal("io.l5d.inMemory"),
  /** Initial dtabs by namespace (dtab text), used when there is no persisted data yet. */
  namespaces: z.record(z.string(), z.string()).optional(),
  /** Directory for dtabs.json; without it everything is lost on restart. */
  dataDir: z.string().min(1).optional(),
  /** Versions kept per namespace for history and rollback. */
  historySize: positiveInt.default(50),
  /** Audit records kept per namespace. */
  auditSize: positiveInt.default(1000),
});

const redisStorage = z
  .strictObject({
    kind: z.literal("redis"),
    /** redis://[user:password@]host:port[/db]; ignored when `sentinels` is set. */
    url: z.string().min(1).optional(),
    /** Sentinel addresses for high availability (with `name`, the master's name). */
    sentinels: z.array(z.strictObject({ host: z.string().min(1), port })).min(1).optional(),
    name: z.string().min(1).optional(),
    username: z.string().optional(),
    password: z.string().optional(),
    db: z.number().int().min(0).optional(),
    /** Prefix of every key (and the change channel). */
    prefix: z.string().min(1).default("meshd:"),
    historySize: positiveInt.default(50),
    auditSize: positiveInt.default(1000),
    /** After each write, WAIT for this many replicas (at most timeoutMs) and report the result. */
    waitForReplicas: z.strictObject({ replicas: positiveInt, timeoutMs: positiveInt }).optional(),
    /** A Redis command taking longer than this fails (ms). */
    commandTimeoutMs: positiveInt.default(2000),
    /** How often versions are re-read as a safety net against missed events (ms). */
    versionCheckIntervalMs: positiveInt.default(10_000),
  })
  .refine((s) => s.sentinels === undefined || s.name !== undefined, {
    message: "sentinels need `name`, the name of the master they monitor",
    path: ["name"],
  });

const storage = withKindAliases(
  { inMemory: "io.l5d.inMemory", memory: "io.l5d.inMemory", "io.l5d.redis": "redis" },
  z.discriminatedUnion("kind", [inMemoryStorage, redisStorage]),
);

/** A write token: the secret itself (from ${ENV}), or named, from a value or a file. */
const writeToken = z.union([
  z.string().min(1, "a write token is empty (is its environment variable set?)"),
  z.strictObject({ name: z.string().min(1), token: z.string().min(1, "a write token is empty (is its environment variable set?)") }),
  z.strictObject({ name: z.string().min(1), file: z.string().min(1) }),
]);

const httpController = z.strictObject({
  kind: z.literal("io.l5d.httpController"),
  ip: ip.default("127.0.0.1"),
  port: port.default(4180),
  /**
   * Bearer tokens that may write (POST/PUT/DELETE). Without any, writes are
   * accepted only from loopback clients.
   */
  writeTokens: z.array(writeToken).optional(),
  /** namerd's behaviour: PUT and DELETE without If-Match. Off: they get 428. */
  allowUnconditionalWrites: z.boolean().default(false),
  /** Largest request body accepted (bytes). */
  maxBodyBytes: positiveInt.default(1024 * 1024),
  /** An idle watch stream gets an empty line this often so dead peers are noticed (ms; 0 turns it off). */
  watchKeepAliveMs: millis.default(30_000),
  /** How long a one-shot bind, addr or resolve waits for discovery to answer before 503 (ms). */
  nameTimeoutMs: millis.default(10_000),
  /** How long a delegation waits for discovery answers still pending (ms). */
  delegateTimeoutMs: millis.default(2_000),
});

const iface = withKindAliases({ httpController: "io.l5d.httpController" }, z.discriminatedUnion("kind", [httpController]));

/** A mount prefix as configured (`/io.l5d.fs`); the namer is addressed as `/#` + prefix. */
const prefix = z.string().regex(/^(\/[A-Za-z0-9_:.$%-]+)+$/, "a prefix is a path such as /io.l5d.fs");

/** io.l5d.fs: one file per service in rootDir, lines `host port [* weight]`, watched. */
const fsNamer = z.strictObject({
  kind: z.literal("io.l5d.fs"),
  prefix: prefix.default("/io.l5d.fs"),
  rootDir: z.string().min(1),
});

/** DNS resolver addresses ("10.0.0.2" or "127.0.0.1:5353"); default: the system's. */
const dnsHosts = z.array(z.string().min(1)).min(1).optional();

/** io.l5d.dnssrv: /#/io.l5d.dnssrv/<srv record name>, re-resolved on an interval. */
const dnsSrvNamer = z.strictObject({
  kind: z.literal("io.l5d.dnssrv"),
  prefix: prefix.default("/io.l5d.dnssrv"),
  /** Seconds between re-resolutions. */
  refreshIntervalSeconds: z.number().positive().default(5),
  dnsHosts,
  /** Linkerd marks this namer experimental; accepted and ignored. */
  experimental: z.boolean().optional(),
});

/** meshd.dns: A/AAAA records, /#/dns/<hostname>/<port>, re-resolved on an interval. */
const dnsNamer = z.strictObject({
  kind: z.literal("meshd.dns"),
  prefix: prefix.default("/dns"),
  refreshIntervalSeconds: z.number().positive().default(5),
  dnsHosts,
});

const staticAddress = z.union([
  z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/, "an address is host:port"),
  z.strictObject({ host: z.string().min(1), port: port.refine((p) => p > 0, "port must be 1–65535"), weight: z.number().positive().optional(), meta: z.record(z.string(), z.union([z.string(), z.number()])).optional() }),
]);

/** meshd.static: fixed address sets from the config, /#/static/<service>. */
const staticNamer = z.strictObject({
  kind: z.literal("meshd.static"),
  prefix: prefix.default("/static"),
  services: z.record(z.string().regex(/^[A-Za-z0-9_:.$%-]+$/, "service names are one path label"), z.array(staticAddress)),
});

/**
 * meshd.registry: instances register themselves (POST /api/1/registry/<service>)
 * with a TTL and heartbeat; /#/registry/<service>. Kept in the namer's storage
 * (Redis when the store is Redis, else in memory).
 */
const registryNamer = z.strictObject({
  kind: z.literal("meshd.registry"),
  prefix: prefix.default("/registry"),
  /** TTL given to a registration that asks for none (seconds). */
  defaultTtlSeconds: z.number().positive().default(30),
  /** Longest TTL a registration may ask for (seconds). */
  maxTtlSeconds: z.number().positive().default(3600),
});

const namer = withKindAliases(
  { fs: "io.l5d.fs", dnssrv: "io.l5d.dnssrv", dns: "meshd.dns", static: "meshd.static", registry: "meshd.registry" },
  z.discriminatedUnion("kind", [fsNamer, dnsSrvNamer, dnsNamer, staticNamer, registryNamer]),
);

const admin = z.strictObject({
  ip: ip.default("127.0.0.1"),
  port: port.default(9991),
});

export const namerConfigSchema = z.strictObject({
  storage: storage.default({ kind: "io.l5d.inMemory", historySize: 50, auditSize: 1000 }),
  interfaces: z.array(iface).min(1).default([
    {
      kind: "io.l5d.httpController",
      ip: "127.0.0.1",
      port: 4180,
      allowUnconditionalWrites: false,
      maxBodyBytes: 1024 * 1024,
      watchKeepAliveMs: 30_000,
      nameTimeoutMs: 10_000,
      delegateTimeoutMs: 2_000,
    },
  ]),
  admin: admin.default({ ip: "127.0.0.1", port: 9991 }),
  /** Service discovery, tried in order for paths under their `/#/<prefix>`. */
  namers: z.array(namer).default([]),
  logging: z.strictObject({ level: logLevel.default("info") }).default({ level: "info" }),
  /** On SIGTERM, how long in-flight requests get to finish (ms). */
  shutdownGraceMs: millis.default(10_000),
});

export type NamerConfig = z.output<typeof namerConfigSchema>;
export type StorageConfig = NamerConfig["storage"];
export type HttpControllerConfig = NamerConfig["interfaces"][number];
export type WriteTokenConfig = NonNullable<HttpControllerConfig["writeTokens"]>[number];
export type NamerPluginConfig = NamerConfig["namers"][number];
export type FsNamerConfig = Extract<NamerPluginConfig, { kind: "io.l5d.fs" }>;
export type DnsSrvNamerConfig = Extract<NamerPluginConfig, { kind: "io.l5d.dnssrv" }>;
export type DnsNamerConfig = Extract<NamerPluginConfig, { kind: "meshd.dns" }>;
export type StaticNamerConfig = Extract<NamerPluginConfig, { kind: "meshd.static" }>;
export type RegistryNamerConfig = Extract<NamerPluginConfig, { kind: "meshd.registry" }>;
