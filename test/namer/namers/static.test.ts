// meshd.static: fixed address sets from the config. The contract (without the
// parts that need changing services), plus the config's address forms, meta
// and weights, names() and the rejection of malformed addresses.
import { describe, expect, it } from "vitest";
import { formatAddress, Path } from "../../../dtab/index.ts";
import { namerConfigSchema, type StaticNamerConfig } from "../../../namer/config.ts";
import { createStaticNamer, type DiscoveryNamer, type StaticNamer } from "../../../namer/namers/index.ts";
import { discoveryNamerContract } from "./contract.ts";

discoveryNamerContract("meshd.static", {
  open: async (services) =>
    createStaticNamer({
      kind: "meshd.static",
      prefix: "/static",
      services: Object.fromEntries(Object.entries(services).map(([name, eps]) => [name, eps.map((e) => formatAddress(e.host, e.port))])),
    }),
  residual: (service) => Path.of(service),
  observed: (namer: DiscoveryNamer) => (namer as StaticNamer).observed(),
  lookedAgain: async () => undefined,
});

function staticConfig(services: unknown): StaticNamerConfig {
  const config = namerConfigSchema.parse({ namers: [{ kind: "static", services }] }).namers[0];
  if (config?.kind !== "meshd.static") throw new Error("not a static namer");
  return config;
}

describe("meshd.static", () => {
  it("takes host:port strings (IPv6 in brackets) and objects with weight and meta", () => {
    const namer = createStaticNamer(
      staticConfig({
        db: ["10.0.0.1:5432", "[fd00::1]:5432", { host: "db-3.internal", port: 5432, weight: 2, meta: { zone: "b", nodeName: "n3" } }],
      }),
    );
    const answer = namer.observe(Path.of("db")).current();
    expect(answer.type).toBe("bound");
    if (answer.type !== "bound" || answer.addr.type !== "bound") return;
    expect(answer.id.show).toBe("/#/static/db");
    expect(answer.addr.addrs).toEqual([
      { host: "10.0.0.1", port: 5432, meta: {} },
      { host: "db-3.internal", port: 5432, meta: { zone: "b", nodeName: "n3", weight: 2 } },
      { host: "fd00::1", port: 5432, meta: {} },
    ]);
  });

  it("binds an empty set for a service configured with no addresses", () => {
    const namer = createStaticNamer(staticConfig({ empty: [] }));
    const answer = namer.observe(Path.of("empty")).current();
    expect(answer.type === "bound" && answer.addr.type === "bound" && answer.addr.addrs).toEqual([]);
  });

  it("lists its services as full ids", () => {
    const namer = createStaticNamer({ ...staticConfig({ web: ["10.0.0.1:80"], api: ["10.0.0.2:80"] }), prefix: "/fixed/set" });
    expect(namer.names().current().map((p) => p.show)).toEqual(["/#/fixed/set/api", "/#/fixed/set/web"]);
    expect(namer.observe(Path.read("/web/x")).current()).toMatchObject({ type: "bound", residual: Path.read("/x") });
  });

  it("refuses an address that is not host:port", () => {
    expect(() => createStaticNamer({ kind: "meshd.static", prefix: "/static", services: { web: ["nohost:0"] } })).toThrow(RangeError);
    expect(() => createStaticNamer({ kind: "meshd.static", prefix: "/static", services: { web: [":80"] } })).toThrow(/host:port/);
  });
});
