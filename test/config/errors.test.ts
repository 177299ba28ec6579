// Config errors a Linkerd user meets when moving a config to meshd: a `kind`
// or key meshd does not implement names itself, its YAML path and line, why,
// and what is supported; Linkerd's old names that mean the same thing load.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ConfigError, parseConfig, topLevelKeys } from "../../lib/config.ts";
import { withKindAliases, withUnsupportedKeys, withUnsupportedKinds } from "../../lib/schema.ts";
import { namerConfigSchema } from "../../namer/config.ts";
import { routerConfigSchema } from "../../router/config.ts";
import { thrown } from "../support/thrown.ts";

const FILE = "c.yaml";

/** The error lines parseConfig reports for `yaml` (each `file:line:col: path: message`). */
function errors(yaml: string, schema: z.ZodType = routerConfigSchema): string[] {
  const e = thrown(() => parseConfig(yaml, schema, { file: FILE, env: {} }));
  expect(e).toBeInstanceOf(ConfigError);
  expect((e as ConfigError).code).toBe("CONFIG_ERR_INVALID");
  return (e as ConfigError).message.split("\n");
}

const lines = (...l: string[]): string => l.join("\n") + "\n";

/** A router config around one router's extra lines (indented under `- protocol: http`). */
const routerWith = (...extra: string[]): string => lines("routers:", "- protocol: http", "  servers: [{ port: 4140 }]", ...extra.map((l) => `  ${l}`));

const NAMER_KINDS = "io.l5d.fs, io.l5d.dnssrv, meshd.dns, meshd.static, meshd.registry";

describe("a kind meshd does not accept", () => {
  it("names a Linkerd kind meshd does not implement, why, and the kinds it supports", () => {
    expect(errors(lines("namers:", "- kind: io.l5d.k8s", "  host: localhost", ...routerWith().split("\n")))).toEqual([
      `${FILE}:2:9: namers[0].kind: io.l5d.k8s is not supported (Kubernetes service discovery is not implemented); supported: ${NAMER_KINDS}`,
    ]);
  });

  it("suggests the near miss for a typo, and still lists what is supported", () => {
    expect(errors(lines("namers:", "- kind: io.l5d.fss", "  rootDir: disco", ...routerWith().split("\n")))).toEqual([
      `${FILE}:2:9: namers[0].kind: unknown kind 'io.l5d.fss' (did you mean 'io.l5d.fs'?); supported: ${NAMER_KINDS}`,
    ]);
  });

  it("says a kind is missing and which ones there are", () => {
    expect(errors(lines("namers:", "- rootDir: disco", ...routerWith().split("\n")))).toEqual([`${FILE}:2:3: namers[0].kind: missing 'kind'; supported: ${NAMER_KINDS}`]);
  });

  it("rejects a router of another protocol on its protocol alone, without noise from its h2 keys", () => {
    const yaml = lines("routers:", "- protocol: h2", "  experimental: true", "  h2AccessLog: /dev/stdout", "  identifier: { kind: io.l5d.header.path, segments: 2 }", "  servers: [{ port: 4142 }]");
    expect(errors(yaml)).toEqual([`${FILE}:2:13: routers[0].protocol: h2 is not supported (meshd routes HTTP/1.1); supported: http`]);
  });

  it("finds the kind inside an identifier list, a static client config and an interpreter's transformers", () => {
    expect(errors(routerWith("identifier:", "- kind: io.l5d.methodAndHost", "- kind: io.l5d.ingress"))).toEqual([
      `${FILE}:6:11: routers[0].identifier[1].kind: io.l5d.ingress is not supported (Kubernetes Ingress rules are not read by meshd); supported: io.l5d.header.token, io.l5d.methodAndHost, io.l5d.path, io.l5d.header, io.l5d.static`,
    ]);
    expect(errors(routerWith("client:", "  kind: io.l5d.static", "  configs:", "  - prefix: /#/io.l5d.fs", "    loadBalancer: { kind: heap }"))).toEqual([
      `${FILE}:8:29: routers[0].client.configs[0].loadBalancer.kind: heap is not supported (not implemented; p2c balances by load too); supported: p2c, ewma, roundRobin`,
    ]);
    expect(errors(routerWith("interpreter:", "  kind: default", "  transformers: [{ kind: io.l5d.k8s.localnode }]"))[0]).toBe(
      `${FILE}:6:28: routers[0].interpreter.transformers[0].kind: io.l5d.k8s.localnode is not supported (needs the Kubernetes API; io.l5d.localhost keeps the addresses on this host); supported: io.l5d.port, io.l5d.localhost, io.l5d.specificHost`,
    );
  });

  it("names the kind of a block that is either global or static, and of an enum of kinds", () => {
    expect(errors(routerWith("client: { kind: io.l5d.dynamic }"))).toEqual([
      `${FILE}:4:19: routers[0].client.kind: unknown kind 'io.l5d.dynamic'; supported: io.l5d.global, io.l5d.static`,
    ]);
    expect(errors(routerWith("service: { responseClassifier: { kind: io.l5d.h2.grpc.default } }"))).toEqual([
      `${FILE}:4:42: routers[0].service.responseClassifier.kind: io.l5d.h2.grpc.default is not supported (an HTTP/2 classifier; meshd routes HTTP/1.1, use the io.l5d.http.* kinds); supported: io.l5d.http.nonRetryable5XX, io.l5d.http.retryableRead5XX, io.l5d.http.retryableIdempotent5XX, io.l5d.http.retryableAll5XX, io.l5d.http.allSuccessful`,
    ]);
  });

  it("rejects namerd's ThriftMux and gRPC interfaces and its other stores, pointing at what meshd serves", () => {
    const yaml = lines("storage: { kind: io.l5d.zk, zkAddrs: [{ host: zk, port: 2181 }] }", "interfaces:", "- kind: io.l5d.httpController", "- kind: io.l5d.thriftNameInterpreter");
    expect(errors(yaml, namerConfigSchema)).toEqual([
      `${FILE}:1:18: storage.kind: io.l5d.zk is not supported (dtabs in ZooKeeper; meshd keeps dtabs in memory, persisted to dataDir, or in Redis); supported: io.l5d.inMemory, redis`,
      `${FILE}:4:9: interfaces[1].kind: io.l5d.thriftNameInterpreter is not supported (namerd's ThriftMux API for Linkerd's io.l5d.namerd interpreter; meshd routers reach the namer with io.l5d.namerd.http on io.l5d.httpController); supported: io.l5d.httpController`,
    ]);
  });
});

describe("a key meshd does not accept", () => {
  it("is named by its path and line, with a near miss and the keys that are supported", () => {
    expect(errors(lines("routers:", "- protocol: http", "  servers:", "  - prot: 4140"))).toEqual([
      `${FILE}:4:5: routers[0].servers[0].prot: unknown key (did you mean 'port'?); supported keys: ip, port, clearContext, maxConcurrentRequests, headersTimeoutMs, keepAliveTimeoutMs, label`,
    ]);
  });

  it("gives the reason when it is a Linkerd key meshd does not implement", () => {
    expect(errors(routerWith("client:", "  tls: { commonName: foo }"))).toEqual([
      `${FILE}:5:5: routers[0].client.tls: tls is not supported (TLS is not implemented: meshd serves and sends plain HTTP)`,
    ]);
    expect(errors(lines("tracers:", "- kind: io.l5d.zipkin", ...routerWith().split("\n")))).toEqual([
      `${FILE}:1:1: tracers: tracers is not supported (removed in Linkerd 0.9.0, where tracers became telemeters; meshd exports traces with the meshd.otlp telemeter)`,
    ]);
    expect(errors(lines("admin: { port: 9991, tls: { certPath: a, keyPath: b } }", "interfaces: [{ kind: io.l5d.httpController, socketOptions: {} }]"), namerConfigSchema)).toEqual([
      `${FILE}:2:45: interfaces[0].socketOptions: socketOptions is not supported (socket options are not configurable in meshd)`,
      `${FILE}:1:22: admin.tls: tls is not supported (TLS is not implemented: meshd serves and sends plain HTTP)`,
    ]);
  });

  it("reports every problem of a config at once", () => {
    const yaml = routerWith("baseDtab: /svc => /$/inet/127.0.0.1/8080", "responseClassifier: { kind: io.l5d.http.retryableRead5XX }", "client: { retries: {} }", "bindingTimeoutMs: 0");
    expect(errors(yaml)).toEqual([
      `${FILE}:7:21: routers[0].bindingTimeoutMs: must be at least 1`,
      `${FILE}:6:13: routers[0].client.retries: retries is not supported (a pre-0.9 client key; retries are configured under service.retries)`,
      `${FILE}:5:3: routers[0].responseClassifier: responseClassifier is not supported (a pre-1.0 router key; Linkerd 1.x and meshd read it from service.responseClassifier)`,
    ]);
  });

  it("says an empty secret may be an unset variable, in the schema's words rather than the bare bound", () => {
    expect(errors(lines("admin: { token: '' }", "routers:", "- protocol: http", "  servers: [{ port: 4140 }]"))).toEqual([
      `${FILE}:1:17: admin.token: the admin token is empty (is its environment variable set?)`,
    ]);
    expect(errors(lines("interfaces: [{ kind: io.l5d.httpController, writeTokens: [''] }]"), namerConfigSchema)).toEqual([
      `${FILE}:1:59: interfaces[0].writeTokens[0]: a write token is empty (is its environment variable set?)`,
    ]);
  });

  it("explains a client prefix with a variable capture", () => {
    expect(errors(routerWith("client:", "  kind: io.l5d.static", "  configs: [{ prefix: '/#/*/{service}', failFast: true }]"))).toEqual([
      `${FILE}:6:25: routers[0].client.configs[0].prefix: {service} is not supported (a variable capture, which Linkerd substitutes into per-client TLS names; match with * instead)`,
    ]);
  });
});

describe("Linkerd's names that mean what meshd does", () => {
  it("reads baseDtab (before Linkerd 0.9) as dtab, and refuses both at once", () => {
    const config = parseConfig(routerWith("baseDtab: /svc => /#/io.l5d.fs"), routerConfigSchema, { env: {} });
    expect(config.routers[0]?.dtab).toBe("/svc => /#/io.l5d.fs");
    expect(errors(routerWith("baseDtab: /a => /b", "dtab: /c => /d"))).toEqual([
      `${FILE}:4:13: routers[0].baseDtab: baseDtab is Linkerd's pre-0.9 name for dtab; give one of them, not both`,
    ]);
  });

  it("accepts pre-1.0 classifier names, experimental and usage flags, and an empty inline namespace", () => {
    const router = parseConfig(
      lines("usage: { orgId: acme }", ...routerWith("experimental: true", "service: { responseClassifier: { kind: io.l5d.retryableRead5XX } }").split("\n")),
      routerConfigSchema,
      { env: {} },
    );
    expect(router.routers[0]?.service).toEqual({ responseClassifier: { kind: "io.l5d.http.retryableRead5XX" } });
    const namer = parseConfig(lines("storage:", "  kind: io.l5d.inMemory", "  namespaces:", "    default:", "    web: /svc => /#/io.l5d.fs"), namerConfigSchema, { env: {} });
    expect(namer.storage).toMatchObject({ kind: "io.l5d.inMemory", namespaces: { default: "", web: "/svc => /#/io.l5d.fs" } });
  });
});

describe("the mechanism (lib/schema.ts)", () => {
  const shape = withUnsupportedKinds(
    z.discriminatedUnion("kind", [
      withUnsupportedKeys(z.strictObject({ kind: z.literal("circle"), r: z.number() }), { colour: "shapes are not painted" }),
      z.strictObject({ kind: z.literal("square"), side: z.number() }),
    ]),
    { hexagon: "too many sides" },
  );
  const aliased = withKindAliases({ round: "circle", hex: "hexagon" }, shape);
  const config = z.strictObject({ shapes: z.array(aliased) });

  it("works on any schema: unsupported kinds (also under an alias), unsupported keys and unknown keys", () => {
    expect(errors(lines("shapes:", "- { kind: hexagon }", "- { kind: hex }", "- { kind: round, r: 1, colour: red }", "- { kind: square, sid: 1 }"), config)).toEqual([
      `${FILE}:2:11: shapes[0].kind: hexagon is not supported (too many sides); supported: circle, square`,
      `${FILE}:3:11: shapes[1].kind: hex is not supported (too many sides); supported: circle, square`,
      `${FILE}:4:24: shapes[2].colour: colour is not supported (shapes are not painted)`,
      `${FILE}:5:3: shapes[3].side: expected number, got nothing`,
      `${FILE}:5:19: shapes[3].sid: unknown key (did you mean 'side'?); supported keys: kind, side`,
    ]);
    expect(parseConfig("shapes: [{ kind: round, r: 2 }]", config, { env: {} })).toEqual({ shapes: [{ kind: "circle", r: 2 }] });
    // Under an alias, the keys are those of the kind the alias stands for.
    expect(errors("shapes: [{ kind: round, rr: 2 }]", config)).toEqual([
      `${FILE}:1:10: shapes[0].r: expected number, got nothing`,
      `${FILE}:1:25: shapes[0].rr: unknown key (did you mean 'r'?); supported keys: kind, r`,
    ]);
  });

  it("turns a failed plain union into the problems of the branch that was meant, or says what fits there", () => {
    const either = z.strictObject({ size: z.union([z.number(), z.strictObject({ min: z.number(), max: z.number() })]) });
    expect(errors("size: { min: 1, max: x }", either)).toEqual([`${FILE}:1:22: size.max: expected number, got the string "x"`]);
    expect(errors("size: [1]", either)).toEqual([`${FILE}:1:7: size: expected number or object, got a list`]);
  });

  it("never falls back to zod's generic wording", () => {
    const messages = [
      ...errors(routerWith("identifier: 7", "client: { kind: io.l5d.static, configs: [{ prefix: /x, bogus: 1 }] }", "service: { totalTimeoutMs: -1, extra: 1 }")),
      ...errors(lines("storage: { kind: redis, url: 7, bogus: 1 }", "interfaces: [{ kind: io.l5d.mesh }, 3]"), namerConfigSchema),
    ];
    expect(messages.length).toBeGreaterThanOrEqual(6);
    for (const m of messages) {
      expect(m).toMatch(/^c\.yaml:\d+:\d+: \S+: /);
      expect(m).not.toMatch(/Invalid input|Unrecognized key|Invalid option|Invalid discriminator|Too small|Too big/);
    }
  });
});

describe("topLevelKeys (how validate tells a router config from a namer config)", () => {
  it("lists the top-level keys of YAML and JSON mappings, and nothing for anything else", () => {
    expect(topLevelKeys("admin: {}\nrouters: []\n")).toEqual(["admin", "routers"]);
    expect(topLevelKeys('{"routers": []}')).toEqual(["routers"]);
    expect(topLevelKeys("- a\n- b\n")).toEqual([]);
    expect(topLevelKeys("a: [")).toEqual(["a"]);
  });
});
