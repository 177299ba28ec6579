// The router's configuration, in Linkerd 1's keys and `kind` names so a
// Linkerd user's config carries over: admin, namers, routers (servers,
// dtab, identifier, interpreter, client, service), telemetry. Strictly
// validated; see lib/config.ts for loading and error reporting.
import { z } from "zod";
import { Dtab, DtabError, Path, Prefix } from "../dtab/index.ts";
import { ip, millis, port, positiveInt, UNSUPPORTED, withKindAliases, withUnsupportedKeys } from "../lib/schema.ts";
import { namerPluginSchema } from "../namer/namers/config.ts";
import { loadBalancerConfig } from "./balancer/config.ts";
import { failureAccrualConfig, responseClassifierConfig, retriesConfig, retryBudgetConfig } from "./policy/config.ts";
import { accessLogSchema, telemeterSchema } from "./telemetry/config.ts";

/** A dtab written in the config (a string, usually a YAML block), checked where it stands. */
const dtabText = z.string().superRefine((text, ctx) => {
  try {
    Dtab.read(text);
  } catch (e) {
    if (e instanceof DtabError) ctx.addIssue({ code: "custom", message: `invalid dtab: ${e.message}` });
    else throw e;
  }
});

const pathText = z.string().superRefine((text, ctx) => {
  try {
    Path.read(text);
  } catch (e) {
    if (e instanceof DtabError) ctx.addIssue({ code: "custom", message: `invalid path: ${e.message}` });
    else throw e;
  }
});

const identifier = withKindAliases(
  {},
  z.discriminatedUnion("kind", [
    z.strictObject({ kind: z.literal("io.l5d.header.token"), header: z.string().min(1).default("Host") }),
    z.strictObject({ kind: z.literal("io.l5d.methodAndHost"), httpUriInDst: z.boolean().default(false) }),
    z.strictObject({ kind: z.literal("io.l5d.path"), segments: positiveInt.default(1), consume: z.boolean().default(false) }),
    z.strictObject({ kind: z.literal("io.l5d.header"), header: z.string().min(1).default("l5d-name") }),
    z.strictObject({ kind: z.literal("io.l5d.static"), path: pathText }),
  ]),
  {
    "io.l5d.header.path": "an HTTP/2 identifier on the :path pseudo-header; for HTTP/1.1 paths use io.l5d.path",
    "io.l5d.headerPath": "the pre-1.0 name of io.l5d.header.path, an HTTP/2 identifier; for HTTP/1.1 paths use io.l5d.path",
    "io.l5d.ingress": "Kubernetes Ingress rules are not read by meshd",
    "io.l5d.k8s.istio": "Istio route rules are not read by meshd",
    "io.l5d.k8s.istio-ingress": "Istio route rules are not read by meshd",
  },
);

const transformer = withKindAliases(
  {},
  z.discriminatedUnion("kind", [
    z.strictObject({ kind: z.literal("io.l5d.port"), port: port.refine((p) => p > 0, "port must be 1–65535") }),
    z.strictObject({ kind: z.literal("io.l5d.localhost") }),
    z.strictObject({ kind: z.literal("io.l5d.specificHost"), host: z.string().min(1) }),
  ]),
  {
    "io.l5d.k8s.daemonset": "needs the Kubernetes API; with a router per host, io.l5d.port sends to the destination host's router",
    "io.l5d.k8s.localnode": "needs the Kubernetes API; io.l5d.localhost keeps the addresses on this host",
    "io.l5d.replace": "not implemented",
    "io.l5d.const": "not implemented",
  },
);

const retry = z.strictObject({
  /** First reconnect delay (s), doubled up to maxSeconds, jittered. */
  baseSeconds: z.number().positive().default(1),
  maxSeconds: z.number().positive().default(600),
});

const useNamerdHttp = "use io.l5d.namerd.http with dst on the namer's io.l5d.httpController, port 4180";

const interpreter = withKindAliases(
  {},
  z.discriminatedUnion("kind", [
    z.strictObject({ kind: z.literal("default"), transformers: z.array(transformer).default([]) }),
    withUnsupportedKeys(
      z.strictObject({
        kind: z.literal("io.l5d.namerd.http"),
        /** The namer: /$/inet/<host>/<port> (Linkerd's form) or an http:// URL. */
        dst: z.string().min(1),
        namespace: z.string().min(1).default("default"),
        retry: retry.default({ baseSeconds: 1, maxSeconds: 600 }),
        /** Linkerd requires `experimental: true` for this interpreter; meshd accepts it either way. */
        experimental: z.boolean().optional(),
        transformers: z.array(transformer).default([]),
        /** Where the last good bindings are kept for restarts during a namer outage. */
        stateDir: z.string().min(1).optional(),
      }),
      { tls: UNSUPPORTED.tls },
    ),
  ]),
  {
    "io.l5d.namerd": `namerd's ThriftMux protocol; ${useNamerdHttp}`,
    "io.l5d.mesh": `namerd's gRPC protocol; ${useNamerdHttp}`,
    "io.l5d.fs": "a dtab read from a watched file; give the dtab in the router's dtab, or keep it in the namer",
    "io.l5d.k8s.configMap": "a dtab read from a Kubernetes ConfigMap; give it in the router's dtab, or keep it in the namer",
    "io.l5d.consul.interpreter": "a dtab read from Consul KV; give it in the router's dtab, or keep it in the namer",
    "io.l5d.k8s.istio": "Istio route rules are not read by meshd",
  },
);

const server = withUnsupportedKeys(
  z.strictObject({
    ip: ip.default("127.0.0.1"),
    port: port.default(4140),
    /**
     * Drop l5d-* context from clients and keep error details from them. Default:
     * off on loopback listeners, on for any other address.
     */
    clearContext: z.boolean().optional(),
    /** Requests in flight on this server; more are answered 503 at once. */
    maxConcurrentRequests: positiveInt.optional(),
    /** How long a client may take to send the request headers (ms). */
    headersTimeoutMs: millis.default(10_000),
    /** Idle keep-alive connections from clients close after this long (ms). */
    keepAliveTimeoutMs: millis.default(60_000),
    label: z.string().min(1).optional(),
  }),
  {
    tls: UNSUPPORTED.tls,
    socketOptions: UNSUPPORTED.socketOptions,
    thriftFramed: UNSUPPORTED.thrift,
    maxConcurrentStreamsPerConnection: UNSUPPORTED.h2,
    initialStreamWindowBytes: UNSUPPORTED.h2,
    initialConnectionWindowBytes: UNSUPPORTED.h2,
    maxFrameBytes: UNSUPPORTED.h2,
    maxHeaderListBytes: UNSUPPORTED.h2,
    addForwardedHeader: "the RFC 7239 Forwarded header is not implemented",
    timestampHeader: "not implemented",
    announce: "announcers (registering servers in service discovery) are not implemented",
    serverSession: "server session lifetimes are not configurable; see headersTimeoutMs and keepAliveTimeoutMs",
  },
);

/** A static config's prefix: a dentry prefix, `*` matching any one label (Linkerd's client/service `configs[].prefix`). */
const prefixText = z.string().superRefine((text, ctx) => {
  const capture = /\{[^}]*\}/.exec(text)?.[0];
  if (capture !== undefined) {
    ctx.addIssue({ code: "custom", message: `${capture} is not supported (a variable capture, which Linkerd substitutes into per-client TLS names; match with * instead)` });
    return;
  }
  try {
    Prefix.read(text);
  } catch (e) {
    if (e instanceof DtabError) ctx.addIssue({ code: "custom", message: `invalid prefix: ${e.message}` });
    else throw e;
  }
});

/** Linkerd's `client` parameters, per bound name. */
const clientParams = {
  loadBalancer: loadBalancerConfig.optional(),
  failureAccrual: failureAccrualConfig.optional(),
  /** Timeout of each attempt, the original and every retry (ms). */
  requestAttemptTimeoutMs: positiveInt.optional(),
  /** Budget for re-sending requests whose connection failed before anything was written (any method). */
  requeueBudget: retryBudgetConfig.optional(),
  /** Requests in flight to this client at once; more are answered 503 immediately (no queue). */
  maxConcurrentRequests: positiveInt.optional(),
  /** Linkerd's aggressive mark-down on connect failure: accepted; failure accrual covers it. */
  failFast: z.boolean().optional(),
  /** Connections per endpoint (Linkerd's hostConnectionPool). */
  hostConnectionPool: z
    .strictObject({
      maxSize: positiveInt.optional(),
      minSize: z.number().int().min(0).optional(),
      idleTimeMs: millis.optional(),
      maxWaiters: z.number().int().min(0).optional(),
    })
    .optional(),
  /** Connect timeout to an endpoint (ms). */
  connectTimeoutMs: positiveInt.optional(),
};

/** Linkerd client keys meshd does not implement, and why. */
const unsupportedClientKeys = {
  tls: UNSUPPORTED.tls,
  forwardClientCert: UNSUPPORTED.tls,
  socketOptions: UNSUPPORTED.socketOptions,
  thriftFramed: UNSUPPORTED.thrift,
  attemptTTwitterUpgrade: UNSUPPORTED.thrift,
  initialStreamWindowBytes: UNSUPPORTED.h2,
  clientSession: "client session lifetimes are not configurable; see hostConnectionPool.idleTimeMs",
  retries: "a pre-0.9 client key; retries are configured under service.retries",
  requestAuthorizers: "Istio request authorizers are not implemented",
};

const client = z.union([
  withUnsupportedKeys(z.strictObject({ kind: z.literal("io.l5d.global").optional(), ...clientParams }), unsupportedClientKeys),
  z.strictObject({
    kind: z.literal("io.l5d.static"),
    /** Every config whose prefix matches the client's name applies; later ones override earlier ones. */
    configs: z.array(withUnsupportedKeys(z.strictObject({ prefix: prefixText, ...clientParams }), unsupportedClientKeys)),
  }),
]);

/** Fault injection (beyond Linkerd), for resilience testing: off unless configured. */
const faults = z.strictObject({
  /** Answer this share of requests (0–100 %) with `status` without sending them. */
  abort: z.strictObject({ percent: z.number().min(0).max(100), status: z.number().int().min(400).max(599).default(503) }).optional(),
  /** Hold this share of requests (0–100 %) for `ms` before sending them. */
  delay: z.strictObject({ percent: z.number().min(0).max(100), ms: positiveInt }).optional(),
});

/** Linkerd's `service` parameters, per logical name. */
const serviceParams = {
  /** The whole request, all retries included (ms); past it: 503. */
  totalTimeoutMs: positiveInt.optional(),
  retries: retriesConfig.optional(),
  responseClassifier: responseClassifierConfig.optional(),
  /** Request bodies up to this size are buffered so the request can be retried (bytes); larger or chunked ones are streamed, never retried. */
  retryBufferBytes: z.number().int().min(0).optional(),
  faults: faults.optional(),
};

const service = z.union([
  z.strictObject({ kind: z.literal("io.l5d.global").optional(), ...serviceParams }),
  z.strictObject({
    kind: z.literal("io.l5d.static"),
    /** Every config whose prefix matches the logical name applies; later ones override earlier ones. */
    configs: z.array(z.strictObject({ prefix: prefixText, ...serviceParams })),
  }),
]);

const httpRouter = z.strictObject({
  protocol: z.literal("http", { error: (issue) => (issue.input === undefined ? "missing protocol; supported: http" : `${JSON.stringify(issue.input)} is not supported (meshd routes HTTP/1.1); supported: http`) }),
  /** Name in stats and the admin; defaults to the protocol. Must be unique. */
  label: z.string().min(1).optional(),
  /** The router's base dtab. */
  dtab: dtabText.default(""),
  /** First label(s) of identified names. */
  dstPrefix: pathText.default("/svc"),
  identifier: z.union([identifier, z.array(identifier).min(1)]).default({ kind: "io.l5d.header.token", header: "Host" }),
  interpreter: interpreter.default({ kind: "default", transformers: [] }),
  servers: z.array(server).min(1),
  /** A name never bound within this time fails with 503 (ms). */
  bindingTimeoutMs: positiveInt.default(10_000),
  bindingCache: z
    .strictObject({
      /** Logical names (per local dtab) bound at once; past it the least recently used is dropped. */
      paths: positiveInt.default(1000),
      /** Accepted for Linkerd compatibility: `paths` bounds bindings. */
      trees: positiveInt.optional(),
      /** Accepted for Linkerd compatibility: `paths` bounds bindings. */
      bounds: positiveInt.optional(),
      /** Concrete clients (bound names) held at once; past it the least recently used is drained and dropped. */
      clients: positiveInt.default(1000),
      /** Unused bindings and clients are dropped after this long (s). */
      idleTtlSecs: positiveInt.default(600),
    })
    .default({ paths: 1000, clients: 1000, idleTtlSecs: 600 }),
  client: client.default({}),
  service: service.default({}),
  /** Header fields a request may carry; more are answered 431 (Node would drop them silently). */
  maxHeaders: positiveInt.default(100),
  /** Request header block size limit (KB; 431 past it). */
  maxHeadersKB: positiveInt.default(16),
  /** Accepted for Linkerd compatibility; Node's limit covers the whole header block. */
  maxInitialLineKB: positiveInt.optional(),
  /** Routers a request may already have passed (Via entries) before it is refused as a loop. */
  maxCallDepth: positiveInt.default(1000),
  /** Accepted for Linkerd compatibility: meshd always streams bodies. */
  streamingEnabled: z.boolean().optional(),
  streamAfterContentLengthKB: z.number().optional(),
  originator: z.boolean().optional(),
  /** One JSON line per request, to stdout or a file. */
  accessLog: accessLogSchema.optional(),
  /** Linkerd's access log file: meshd writes its JSON lines there. */
  httpAccessLog: z.string().min(1).optional(),
  /** Linkerd requires `experimental: true` on experimental protocols only; on an http router it changes nothing. */
  experimental: z.boolean().optional(),
});

/** Linkerd router keys meshd does not implement, and why. */
const unsupportedRouterKeys = {
  announcers: "announcers (registering servers in service discovery) are not implemented",
  responseClassifier: "a pre-1.0 router key; Linkerd 1.x and meshd read it from service.responseClassifier",
  httpAccessLogRollPolicy: "access log rotation is not implemented; meshd appends to httpAccessLog (rotate it with copytruncate)",
  httpAccessLogRotateCount: "access log rotation is not implemented; meshd appends to httpAccessLog (rotate it with copytruncate)",
  thriftMethodInDst: UNSUPPORTED.thrift,
  thriftProtocol: UNSUPPORTED.thrift,
  h2AccessLog: UNSUPPORTED.h2,
  h2AccessLogRollPolicy: UNSUPPORTED.h2,
  h2AccessLogAppend: UNSUPPORTED.h2,
  h2AccessLogRotateCount: UNSUPPORTED.h2,
};

/**
 * One router: Linkerd's pre-0.9 `baseDtab` is read as `dtab`, and a router of
 * another protocol is rejected on its `protocol` alone (its thrift or h2 keys
 * would only add noise to the error).
 */
const router = z.preprocess((value, ctx) => {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
  const { protocol, baseDtab, ...rest } = value as Record<string, unknown>;
  if (typeof protocol === "string" && protocol !== "http") {
    ctx.addIssue({ code: "custom", path: ["protocol"], message: `${protocol} is not supported (meshd routes HTTP/1.1); supported: http`, input: protocol });
    return z.NEVER;
  }
  if (baseDtab === undefined) return value;
  if ("dtab" in rest) {
    ctx.addIssue({ code: "custom", path: ["baseDtab"], message: "baseDtab is Linkerd's pre-0.9 name for dtab; give one of them, not both", input: baseDtab });
    return z.NEVER;
  }
  return { protocol, ...rest, dtab: baseDtab };
}, withUnsupportedKeys(httpRouter, unsupportedRouterKeys));

const admin = withUnsupportedKeys(
  z.strictObject({
    ip: ip.default("127.0.0.1"),
    port: port.default(9990),
    /** On SIGTERM: time for in-flight requests to finish (ms). */
    shutdownGraceMs: millis.default(10_000),
    /** A bearer token that allows the control endpoints (shutdown, log level) from other hosts; from ${ENV}. */
    token: z.string().min(1, "the admin token is empty (is its environment variable set?)").optional(),
  }),
  {
    tls: UNSUPPORTED.tls,
    socketOptions: UNSUPPORTED.socketOptions,
    security: "admin path allow and deny lists are not implemented; the control endpoints answer loopback clients, or those with admin.token",
    httpIdentifierPort: "the identifier debugging server is not implemented",
  },
);

export const routerConfigSchema = withUnsupportedKeys(
  z.strictObject({
    admin: admin.default({ ip: "127.0.0.1", port: 9990, shutdownGraceMs: 10_000 }),
    namers: z.array(namerPluginSchema).default([]),
    routers: z.array(router).min(1),
    telemetry: z.array(telemeterSchema).default([]),
    /** Linkerd's anonymous usage reporting: accepted, never sent anywhere. */
    usage: z.strictObject({ orgId: z.string().optional(), enabled: z.boolean().optional() }).optional(),
  }),
  { tracers: "removed in Linkerd 0.9.0, where tracers became telemeters; meshd exports traces with the meshd.otlp telemeter" },
).superRefine((config, ctx) => {
    const labels = new Map<string, number>();
    config.routers.forEach((r, i) => {
      const label = r.label ?? r.protocol;
      if (labels.has(label)) ctx.addIssue({ code: "custom", path: ["routers", i, "label"], message: `router label '${label}' is already used by routers[${labels.get(label)}]` });
      labels.set(label, i);
    });
    const bound = new Map<string, string>();
    config.routers.forEach((r, i) =>
      r.servers.forEach((s, j) => {
        const key = `${s.ip}:${s.port}`;
        const where = `routers[${i}].servers[${j}]`;
        if (bound.has(key)) ctx.addIssue({ code: "custom", path: ["routers", i, "servers", j, "port"], message: `${key} is already bound by ${bound.get(key)}` });
        bound.set(key, where);
      }),
    );
    config.namers.forEach((n, i) => {
      if (n.kind === "meshd.registry") ctx.addIssue({ code: "custom", path: ["namers", i, "kind"], message: "the registry is served by the namer; a router reaches it through io.l5d.namerd.http" });
    });
  });

export type RouterConfig = z.output<typeof routerConfigSchema>;
export type HttpRouterConfig = RouterConfig["routers"][number];
export type ServerConfig = HttpRouterConfig["servers"][number];
export type InterpreterConfig = HttpRouterConfig["interpreter"];
export type ClientConfig = HttpRouterConfig["client"];
export type ServiceConfig = HttpRouterConfig["service"];
/** One set of client parameters (what a static config entry or the global block holds). */
export type ClientParams = z.output<ReturnType<typeof z.strictObject<typeof clientParams>>>;
/** One set of service parameters. */
export type ServiceParams = z.output<ReturnType<typeof z.strictObject<typeof serviceParams>>>;
