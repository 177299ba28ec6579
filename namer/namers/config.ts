// Config schemas of the discovery namers, shared by the namer's config and
// the router's (a router's default interpreter runs namers itself).
import { z } from "zod";
import { port, withKindAliases, withUnsupportedKeys } from "../../lib/schema.ts";

/** A mount prefix as configured (`/io.l5d.fs`); the namer is addressed as `/#` + prefix. */
const prefix = z.string().regex(/^(\/[A-Za-z0-9_:.$%-]+)+$/, "a prefix is a path such as /io.l5d.fs");

/** Keys every Linkerd namer takes that meshd's namers do not. */
const unsupportedNamerKeys = {
  transformers: "namer transformers are not implemented; put them under the router's interpreter.transformers",
};

/** io.l5d.fs: one file per service in rootDir, lines `host port [* weight]`, watched. */
const fsNamer = withUnsupportedKeys(
  z.strictObject({
    kind: z.literal("io.l5d.fs"),
    prefix: prefix.default("/io.l5d.fs"),
    rootDir: z.string().min(1),
    /** Linkerd accepts `experimental` on every namer; this one needs none. */
    experimental: z.boolean().optional(),
  }),
  unsupportedNamerKeys,
);

/** DNS resolver addresses ("10.0.0.2" or "127.0.0.1:5353"); default: the system's. */
const dnsHosts = z.array(z.string().min(1)).min(1).optional();

/** io.l5d.dnssrv: /#/io.l5d.dnssrv/<srv record name>, re-resolved on an interval. */
const dnsSrvNamer = withUnsupportedKeys(
  z.strictObject({
    kind: z.literal("io.l5d.dnssrv"),
    prefix: prefix.default("/io.l5d.dnssrv"),
    /** Seconds between re-resolutions. */
    refreshIntervalSeconds: z.number().positive().default(5),
    dnsHosts,
    /** Linkerd marks this namer experimental; accepted and ignored. */
    experimental: z.boolean().optional(),
  }),
  unsupportedNamerKeys,
);

/** meshd.dns: A/AAAA records, /#/dns/<hostname>/<port>, re-resolved on an interval. */
const dnsNamer = withUnsupportedKeys(
  z.strictObject({
    kind: z.literal("meshd.dns"),
    prefix: prefix.default("/dns"),
    refreshIntervalSeconds: z.number().positive().default(5),
    dnsHosts,
  }),
  unsupportedNamerKeys,
);

const staticAddress = z.union([
  z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/, "an address is host:port"),
  z.strictObject({ host: z.string().min(1), port: port.refine((p) => p > 0, "port must be 1–65535"), weight: z.number().positive().optional(), meta: z.record(z.string(), z.union([z.string(), z.number()])).optional() }),
]);

/** meshd.static: fixed address sets from the config, /#/static/<service>. */
const staticNamer = withUnsupportedKeys(
  z.strictObject({
    kind: z.literal("meshd.static"),
    prefix: prefix.default("/static"),
    services: z.record(z.string().regex(/^[A-Za-z0-9_:.$%-]+$/, "service names are one path label"), z.array(staticAddress)),
  }),
  unsupportedNamerKeys,
);

/**
 * meshd.registry: instances register themselves (POST /api/1/registry/<service>)
 * with a TTL and heartbeat; /#/registry/<service>. Kept in the namer's storage
 * (Redis when the store is Redis, else in memory).
 */
const registryNamer = withUnsupportedKeys(
  z.strictObject({
    kind: z.literal("meshd.registry"),
    prefix: prefix.default("/registry"),
    /** TTL given to a registration that asks for none (seconds). */
    defaultTtlSeconds: z.number().positive().default(30),
    /** Longest TTL a registration may ask for (seconds). */
    maxTtlSeconds: z.number().positive().default(3600),
  }),
  unsupportedNamerKeys,
);

const k8s = "Kubernetes service discovery is not implemented";
const zk = "ZooKeeper service discovery is not implemented";

/** One discovery namer, by `kind` (short aliases accepted). */
export const namerPluginSchema = withKindAliases(
  { fs: "io.l5d.fs", dnssrv: "io.l5d.dnssrv", dns: "meshd.dns", static: "meshd.static", registry: "meshd.registry" },
  z.discriminatedUnion("kind", [fsNamer, dnsSrvNamer, dnsNamer, staticNamer, registryNamer]),
  {
    "io.l5d.k8s": k8s,
    "io.l5d.k8s.ns": k8s,
    "io.l5d.k8s.external": k8s,
    "io.l5d.k8s.istio": "Istio service discovery is not implemented",
    "io.l5d.consul": "Consul service discovery is not implemented",
    "io.l5d.marathon": "Marathon service discovery is not implemented",
    "io.l5d.serversets": zk,
    "io.l5d.zkLeader": zk,
    "io.l5d.curator": zk,
    "io.l5d.rancher": "Rancher service discovery is not implemented",
    "io.l5d.rewrite": "the rewriting namer is not implemented; prefix rewrites can be written as dtab rules",
  },
);

export type NamerPluginConfig = z.output<typeof namerPluginSchema>;
export type FsNamerConfig = Extract<NamerPluginConfig, { kind: "io.l5d.fs" }>;
export type DnsSrvNamerConfig = Extract<NamerPluginConfig, { kind: "io.l5d.dnssrv" }>;
export type DnsNamerConfig = Extract<NamerPluginConfig, { kind: "meshd.dns" }>;
export type StaticNamerConfig = Extract<NamerPluginConfig, { kind: "meshd.static" }>;
export type RegistryNamerConfig = Extract<NamerPluginConfig, { kind: "meshd.registry" }>;
