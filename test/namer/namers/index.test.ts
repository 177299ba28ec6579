// createDiscoveryNamers: the configured namers, built by kind in config
// order with their prefixes mounted under /#, and a clear error for a
// meshd.registry namer that has no registry to read.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { Path } from "../../../dtab/index.ts";
import { namerConfigSchema } from "../../../namer/config.ts";
import { createDiscoveryNamers, type DiscoveryNamer } from "../../../namer/namers/index.ts";
import { MemoryRegistry } from "../../../namer/registry/index.ts";
import { answerIs } from "./contract.ts";

let dir = "";
afterAll(async () => {
  if (dir !== "") await rm(dir, { recursive: true, force: true });
});

describe("createDiscoveryNamers", () => {
  const namers: DiscoveryNamer[] = [];
  const registry = new MemoryRegistry();
  afterEach(async () => {
    await Promise.all(namers.splice(0).map((n) => n.close()));
  });
  afterAll(() => registry.close());

  it("builds each configured namer by kind, in config order, mounted at /# + prefix", async () => {
    dir = await mkdtemp(join(tmpdir(), "meshd-namers-"));
    await writeFile(join(dir, "web"), "10.0.0.1 8080\n");
    const config = namerConfigSchema.parse({
      namers: [
        { kind: "registry" },
        { kind: "io.l5d.fs", rootDir: dir },
        { kind: "static", prefix: "/fixed", services: { db: ["10.0.0.5:5432"] } },
        { kind: "io.l5d.dnssrv", dnsHosts: ["127.0.0.1:5353"] },
        { kind: "meshd.dns", prefix: "/inet/dns" },
        { kind: "io.l5d.fs", prefix: "/files/2", rootDir: dir },
      ],
    });
    namers.push(...createDiscoveryNamers(config.namers, { registry }));
    expect(namers.map((n) => [n.kind, n.prefix.show])).toEqual([
      ["meshd.registry", "/#/registry"],
      ["io.l5d.fs", "/#/io.l5d.fs"],
      ["meshd.static", "/#/fixed"],
      ["io.l5d.dnssrv", "/#/io.l5d.dnssrv"],
      ["meshd.dns", "/#/inet/dns"],
      ["io.l5d.fs", "/#/files/2"],
    ]);
    await registry.register("web", { host: "10.0.0.9", port: 80, ttlSeconds: 30 });
    await answerIs(namers[0]!.observe(Path.of("web")), ["10.0.0.9:80"]);
    await answerIs(namers[1]!.observe(Path.of("web")), ["10.0.0.1:8080"]);
    await answerIs(namers[2]!.observe(Path.of("db")), ["10.0.0.5:5432"]);
    await answerIs(namers[5]!.observe(Path.of("web")), ["10.0.0.1:8080"]);
  });

  it("builds nothing for no namers", () => {
    expect(createDiscoveryNamers([])).toEqual([]);
  });

  it("refuses a meshd.registry namer without a registry", () => {
    const config = namerConfigSchema.parse({ namers: [{ kind: "meshd.registry", prefix: "/reg" }] });
    expect(() => createDiscoveryNamers(config.namers)).toThrow(/meshd\.registry namer at \/reg needs a registry/);
  });

  it("refuses dnsHosts the resolver cannot use", () => {
    const config = namerConfigSchema.parse({ namers: [{ kind: "dns", dnsHosts: ["not an address"] }] });
    expect(() => createDiscoveryNamers(config.namers)).toThrow();
  });
});
