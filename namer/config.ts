// The namer's configuration: where dtabs are stored, which APIs it serves,
// its admin port and logging. Linkerd/namerd key and `kind` names, strictly
// validated (see lib/config.ts for loading and error reporting).
import { z } from "zod";
import { ip, logLevel, millis, port, positiveInt, UNSUPPORTED, withKindAliases, withUnsupportedKeys } from "../lib/schema.ts";
import { namerPluginSchema } from "./namers/config.ts";

/** The embedded store: in memory, persisted to `dataDir` when given. */
const inMemoryStorage = z.strictObject({
  kind: z.literal("io.l5d.inMemory"),
  /** Initial dtabs by namespace (dtab text; empty, as namerd allows `ns:` with no value), used when there is no persisted data yet. */
  namespaces: z.record(z.string(), z.string().nullable().transform((dtab) => dtab ?? "")).optional(),
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

const otherStores = "meshd keeps dtabs in memory, persisted to dataDir, or in Redis";

const storage = withKindAliases(
  { inMemory: "io.l5d.inMemory", memory: "io.l5d.inMemory", "io.l5d.redis": "redis" },
  z.discriminatedUnion("kind", [inMemoryStorage, redisStorage]),
  {
    "io.l5d.k8s": `dtabs as Kubernetes custom resources; ${otherStores}`,
    "io.l5d.zk": `dtabs in ZooKeeper; ${otherStores}`,
    "io.l5d.etcd": `dtabs in etcd; ${otherStores}`,
    "io.l5d.consul": `dtabs in Consul KV; ${otherStores}`,
  },
);

/** A write token: the secret itself (from ${ENV}), or named, from a value or a file. */
const writeToken = z.union([
  z.string().min(1, "a write token is empty (is its environment variable set?)"),
  z.strictObject({ name: z.string().min(1), token: z.string().min(1, "a write token is empty (is its environment variable set?)") }),
  z.strictObject({ name: z.string().min(1), file: z.string().min(1) }),
]);

const httpController = withUnsupportedKeys(
  z.strictObject({
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
  }),
  { tls: UNSUPPORTED.tls, socketOptions: UNSUPPORTED.socketOptions },
);

const routersUseHttp = "meshd routers reach the namer with io.l5d.namerd.http on io.l5d.httpController";

const iface = withKindAliases({ httpController: "io.l5d.httpController" }, z.discriminatedUnion("kind", [httpController]), {
  "io.l5d.thriftNameInterpreter": `namerd's ThriftMux API for Linkerd's io.l5d.namerd interpreter; ${routersUseHttp}`,
  "io.l5d.mesh": `namerd's gRPC API for Linkerd's io.l5d.mesh interpreter; ${routersUseHttp}`,
  "io.l5d.destination": "the Linkerd 2 destination API is not implemented",
});

const admin = withUnsupportedKeys(
  z.strictObject({
    ip: ip.default("127.0.0.1"),
    port: port.default(9991),
    /** A bearer token that allows the control endpoints (shutdown, log level) from other hosts; from ${ENV}. */
    token: z.string().min(1, "the admin token is empty (is its environment variable set?)").optional(),
  }),
  { tls: UNSUPPORTED.tls, socketOptions: UNSUPPORTED.socketOptions },
);

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
  namers: z.array(namerPluginSchema).default([]),
  logging: z.strictObject({ level: logLevel.default("info") }).default({ level: "info" }),
  /** On SIGTERM, how long in-flight requests get to finish (ms). */
  shutdownGraceMs: millis.default(10_000),
});

export type NamerConfig = z.output<typeof namerConfigSchema>;
export type StorageConfig = NamerConfig["storage"];
export type HttpControllerConfig = NamerConfig["interfaces"][number];
export type WriteTokenConfig = NonNullable<HttpControllerConfig["writeTokens"]>[number];
export type {
  NamerPluginConfig,
  FsNamerConfig,
  DnsSrvNamerConfig,
  DnsNamerConfig,
  StaticNamerConfig,
  RegistryNamerConfig,
} from "./namers/config.ts";
