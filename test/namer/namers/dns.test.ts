// The DNS namers (io.l5d.dnssrv, meshd.dns) against a real DNS server the
// test controls (UDP on 127.0.0.1): the contract for both, then answers and
// failures as a resolver meets them — A/AAAA, SRV with weights, NXDOMAIN,
// SERVFAIL and silence before and after a good answer — and polling only
// while observed.
import { Resolver } from "node:dns/promises";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Path } from "../../../dtab/index.ts";
import { namerConfigSchema } from "../../../namer/config.ts";
import {
  createDiscoveryNamers,
  createDnsNamer,
  createDnsSrvNamer,
  type DiscoveryNamer,
  type DnsNamer,
  type DnsResolver,
  type NamerAnswer,
} from "../../../namer/namers/index.ts";
import { eventually } from "../../support/process.ts";
import { answerIs, discoveryNamerContract, type Endpoint, hostPorts, type NamerHarness, record } from "./contract.ts";
import { TestDnsServer, type ZoneEntry } from "./dns-server.ts";

const INTERVAL_S = 0.1;
const QUERY_TIMEOUT_MS = 150;

let server: TestDnsServer | undefined;
async function dns(): Promise<TestDnsServer> {
  server ??= await TestDnsServer.start();
  return server;
}
afterAll(async () => {
  await server?.close();
});

/** A real resolver pointed at the test server, counting finished queries per name so a test knows the namer has looked again. */
class CountingResolver implements DnsResolver {
  readonly #inner: Resolver;
  readonly #settled = new Map<string, number>();

  constructor(address: string) {
    this.#inner = new Resolver({ timeout: QUERY_TIMEOUT_MS, tries: 1 });
    this.#inner.setServers([address]);
  }

  settled(key: string): number {
    return this.#settled.get(key) ?? 0;
  }

  resolve4(name: string): Promise<string[]> {
    return this.#count(`A ${name}`, this.#inner.resolve4(name));
  }

  resolve6(name: string): Promise<string[]> {
    return this.#count(`AAAA ${name}`, this.#inner.resolve6(name));
  }

  resolveSrv(name: string): ReturnType<DnsResolver["resolveSrv"]> {
    return this.#count(`SRV ${name}`, this.#inner.resolveSrv(name));
  }

  #count<T>(key: string, query: Promise<T>): Promise<T> {
    const done = (): void => void this.#settled.set(key, this.settled(key) + 1);
    return query.then(
      (v) => {
        done();
        return v;
      },
      (e: unknown) => {
        done();
        throw e;
      },
    );
  }
}

function hostEntry(endpoints: readonly Endpoint[]): ZoneEntry {
  return { a: endpoints.filter((e) => !e.host.includes(":")).map((e) => e.host), aaaa: endpoints.filter((e) => e.host.includes(":")).map((e) => e.host) };
}

/** The contract harness shared by both DNS namers; `zone` writes a service's records, `queried` names the query that marks a round. */
function dnsHarness(options: {
  create: (resolver: DnsResolver) => DiscoveryNamer;
  residual: (service: string) => Path;
  zone: (server: TestDnsServer, service: string, endpoints: readonly Endpoint[] | undefined) => void;
  queried: (service: string) => string;
}): NamerHarness {
  let resolver: CountingResolver | undefined;
  return {
    open: async (services) => {
      const s = await dns();
      s.clear();
      s.mode = "answer";
      for (const [service, endpoints] of Object.entries(services)) options.zone(s, service, endpoints);
      resolver = new CountingResolver(s.address);
      return options.create(resolver);
    },
    residual: options.residual,
    observed: (namer) => (namer as DnsNamer).observed(),
    update: async (service, endpoints) => options.zone(await dns(), service, endpoints),
    lookedAgain: async (service) => {
      const key = options.queried(service);
      const before = resolver?.settled(key) ?? 0;
      // A round in flight, the next (all of it after the call), and one more, which starts only after that one was applied.
      await eventually(() => ((resolver?.settled(key) ?? 0) >= before + 3 ? true : undefined), 10_000, `three more lookups of ${key}`);
    },
    outage: async () => {
      const s = await dns();
      s.mode = "silent";
      return async () => {
        s.mode = "answer";
      };
    },
    released: async () => {
      const s = await dns();
      // A query sent just before close may still be on its way.
      await new Promise((r) => setTimeout(r, QUERY_TIMEOUT_MS));
      const start = s.totalQueries;
      await new Promise((r) => setTimeout(r, 5 * INTERVAL_S * 1000));
      expect(s.totalQueries, "DNS queries after close").toBe(start);
    },
  };
}

discoveryNamerContract(
  "meshd.dns",
  dnsHarness({
    create: (resolver) => createDnsNamer({ kind: "meshd.dns", prefix: "/dns", refreshIntervalSeconds: INTERVAL_S }, { resolver }),
    residual: (service) => Path.of(`${service}.test`, "8080"),
    zone: (s, service, endpoints) => s.set(`${service}.test`, endpoints === undefined ? undefined : hostEntry(endpoints)),
    queried: (service) => `A ${service}.test`,
  }),
);

discoveryNamerContract(
  "io.l5d.dnssrv",
  dnsHarness({
    create: (resolver) => createDnsSrvNamer({ kind: "io.l5d.dnssrv", prefix: "/io.l5d.dnssrv", refreshIntervalSeconds: INTERVAL_S }, { resolver }),
    residual: (service) => Path.of(`_http._tcp.${service}.test`),
    zone: (s, service, endpoints) => {
      if (endpoints === undefined) {
        s.set(`_http._tcp.${service}.test`, undefined);
        return;
      }
      // One target per endpoint, named after its address so the same endpoints in another order are the same records.
      const target = (e: Endpoint): string => `${service}-${e.host.replace(/[:.]/g, "-")}.test`;
      for (const e of endpoints) s.set(target(e), hostEntry([e]));
      s.set(`_http._tcp.${service}.test`, { srv: endpoints.map((e) => ({ priority: 10, weight: 5, port: e.port, target: target(e) })) });
    },
    queried: (service) => `SRV _http._tcp.${service}.test`,
  }),
);

describe("DNS namers against a DNS server given as dnsHosts", () => {
  let s: TestDnsServer;
  beforeAll(async () => {
    s = await dns();
  });
  const namers: DiscoveryNamer[] = [];
  afterEach(async () => {
    await Promise.all(namers.splice(0).map((n) => n.close()));
    s.clear();
    s.mode = "answer";
  });
  const options = { queryTimeoutMs: QUERY_TIMEOUT_MS, tries: 1 };
  const hostNamer = (): DnsNamer => {
    const namer = createDnsNamer({ kind: "meshd.dns", prefix: "/dns", refreshIntervalSeconds: INTERVAL_S, dnsHosts: [s.address] }, options);
    namers.push(namer);
    return namer;
  };
  const srvNamer = (): DnsNamer => {
    const namer = createDnsSrvNamer({ kind: "io.l5d.dnssrv", prefix: "/io.l5d.dnssrv", refreshIntervalSeconds: INTERVAL_S, dnsHosts: [s.address] }, options);
    namers.push(namer);
    return namer;
  };
  const failedCause = async (w: { current(): NamerAnswer }): Promise<string> =>
    eventually(() => {
      const a = w.current();
      return a.type === "failed" ? a.cause : undefined;
    });

  describe("meshd.dns", () => {
    it("binds A and AAAA records with the port from the path", async () => {
      s.set("web.test", { a: ["10.0.0.2", "10.0.0.1"], aaaa: ["fd00::1"] });
      const w = hostNamer().observe(Path.read("/web.test/8443/rest"));
      const answer = await answerIs(w, ["10.0.0.1:8443", "10.0.0.2:8443", "[fd00::1]:8443"]);
      expect(answer).toMatchObject({ type: "bound", id: Path.read("/#/dns/web.test/8443"), residual: Path.read("/rest") });
    });

    it("answers neg for NXDOMAIN and for a name with neither A nor AAAA records", async () => {
      s.set("noaddr.test", {});
      const namer = hostNamer();
      await answerIs(namer.observe(Path.read("/nosuch.test/80")), "neg");
      await answerIs(namer.observe(Path.read("/noaddr.test/80")), "neg");
    });

    it("answers neg without asking DNS for a path that is not <host>/<port>", async () => {
      const namer = hostNamer();
      const before = s.totalQueries;
      for (const p of [Path.read("/web.test"), Path.read("/web.test/0"), Path.read("/web.test/65536"), Path.read("/web.test/http"), Path.of("bad host!", "80")]) {
        expect(namer.observe(p).current(), p.show).toEqual({ type: "neg" });
      }
      expect(s.totalQueries).toBe(before);
    });

    it("binds an IP literal host without any DNS query", async () => {
      const namer = hostNamer();
      const before = s.totalQueries;
      const v4 = namer.observe(Path.read("/10.1.2.3/80"));
      const v6 = namer.observe(Path.of("::1", "80"));
      expect(hostPorts(v4.current())).toEqual(["10.1.2.3:80"]);
      expect(hostPorts(v6.current())).toEqual(["[::1]:80"]);
      expect(s.totalQueries).toBe(before);
      v4.close();
      v6.close();
      expect(namer.observed()).toEqual([]);
    });

    it("follows record changes on the refresh interval", async () => {
      s.set("web.test", { a: ["10.0.0.1"] });
      const w = hostNamer().observe(Path.read("/web.test/80"));
      await answerIs(w, ["10.0.0.1:80"]);
      s.set("web.test", { a: ["10.0.0.1", "10.0.0.2"] });
      await answerIs(w, ["10.0.0.1:80", "10.0.0.2:80"]);
    });

    it("is failed when DNS times out before any answer, and binds once it answers", async () => {
      s.set("web.test", { a: ["10.0.0.1"] });
      s.mode = "silent";
      const w = hostNamer().observe(Path.read("/web.test/80"));
      expect(w.current().type).toBe("pending");
      expect(await failedCause(w)).toMatch(/web\.test.*ETIMEOUT|timeout/i);
      s.mode = "answer";
      await answerIs(w, ["10.0.0.1:80"]);
    });

    it("is failed on SERVFAIL before any answer; keeps the last set on SERVFAIL after one; NXDOMAIN then makes it neg", async () => {
      s.mode = "servfail";
      s.set("web.test", { a: ["10.0.0.1"] });
      const w = hostNamer().observe(Path.read("/web.test/80"));
      expect(await failedCause(w)).toMatch(/SERVFAIL/);
      s.mode = "answer";
      const good = await answerIs(w, ["10.0.0.1:80"]);
      const seen = record(w);
      s.mode = "servfail";
      const before = s.queries("web.test", "A");
      await eventually(() => (s.queries("web.test", "A") >= before + 3 ? true : undefined));
      expect(w.current()).toBe(good);
      expect(seen).toEqual([]);
      s.mode = "answer";
      s.set("web.test", undefined);
      await answerIs(w, "neg");
      expect(seen.map(hostPorts)).toEqual(["neg"]);
    });

    it("queries only while observed: closing the last observer stops the timer", async () => {
      s.set("web.test", { a: ["10.0.0.1"] });
      const namer = hostNamer();
      const first = namer.observe(Path.read("/web.test/80"));
      const second = namer.observe(Path.read("/web.test/80/other"));
      await answerIs(first, ["10.0.0.1:80"]);
      // Two observers (two residuals), one query loop.
      expect(namer.observed()).toEqual(["web.test/80"]);
      const start = s.queries("web.test", "A");
      await eventually(() => (s.queries("web.test", "A") >= start + 2 ? true : undefined));
      first.close();
      second.close();
      expect(namer.observed()).toEqual([]);
      await new Promise((r) => setTimeout(r, QUERY_TIMEOUT_MS));
      const after = s.queries("web.test", "A");
      await new Promise((r) => setTimeout(r, 5 * INTERVAL_S * 1000));
      expect(s.queries("web.test", "A")).toBe(after);
    });
  });

  describe("io.l5d.dnssrv", () => {
    it("binds each SRV target's addresses with the record's port, weight, priority and target", async () => {
      s.set("_http._tcp.web.test", {
        srv: [
          { priority: 10, weight: 3, port: 8080, target: "a.web.test" },
          { priority: 10, weight: 1, port: 8081, target: "b.web.test" },
          { priority: 20, weight: 0, port: 9090, target: "10.9.9.9" },
        ],
      });
      s.set("a.web.test", { a: ["10.0.0.1"], aaaa: ["fd00::1"] });
      s.set("b.web.test", { a: ["10.0.0.2"] });
      const w = srvNamer().observe(Path.read("/_http._tcp.web.test/rest/of/path"));
      const answer = await answerIs(w, ["10.0.0.1:8080", "10.0.0.2:8081", "10.9.9.9:9090", "[fd00::1]:8080"]);
      if (answer.type !== "bound" || answer.addr.type !== "bound") throw new Error("not bound");
      expect(answer.id.show).toBe("/#/io.l5d.dnssrv/_http._tcp.web.test");
      expect(answer.residual.show).toBe("/rest/of/path");
      const meta = Object.fromEntries(answer.addr.addrs.map((a) => [`${a.host}:${a.port}`, a.meta]));
      expect(meta["10.0.0.1:8080"]).toEqual({ weight: 3, priority: 10, nodeName: "a.web.test" });
      expect(meta["fd00::1:8080"]).toEqual({ weight: 3, priority: 10, nodeName: "a.web.test" });
      expect(meta["10.0.0.2:8081"]).toEqual({ weight: 1, priority: 10, nodeName: "b.web.test" });
      // Weight 0 next to positive weights: a very small share (RFC 2782), not none.
      expect(meta["10.9.9.9:9090"]).toEqual({ weight: 0.01, priority: 20, nodeName: "10.9.9.9" });
    });

    it("leaves out a target that does not resolve, and is neg for NXDOMAIN or no SRV records", async () => {
      s.set("_http._tcp.web.test", {
        srv: [
          { priority: 1, weight: 1, port: 80, target: "up.test" },
          { priority: 1, weight: 1, port: 80, target: "gone.test" },
        ],
      });
      s.set("up.test", { a: ["10.0.0.1"] });
      s.set("_http._tcp.empty.test", {});
      const namer = srvNamer();
      await answerIs(namer.observe(Path.of("_http._tcp.web.test")), ["10.0.0.1:80"]);
      await answerIs(namer.observe(Path.of("_http._tcp.nosuch.test")), "neg");
      await answerIs(namer.observe(Path.of("_http._tcp.empty.test")), "neg");
      expect(namer.observe(Path.of("not a name")).current()).toEqual({ type: "neg" });
    });

    it("keeps the last set while DNS is silent after a good answer, and follows changes after", async () => {
      s.set("_http._tcp.web.test", { srv: [{ priority: 1, weight: 1, port: 80, target: "10.0.0.1" }] });
      const w = srvNamer().observe(Path.of("_http._tcp.web.test"));
      const good = await answerIs(w, ["10.0.0.1:80"]);
      const seen = record(w);
      s.mode = "silent";
      const before = s.queries("_http._tcp.web.test", "SRV");
      await eventually(() => (s.queries("_http._tcp.web.test", "SRV") >= before + 3 ? true : undefined));
      expect(w.current()).toBe(good);
      s.mode = "answer";
      s.set("_http._tcp.web.test", { srv: [{ priority: 1, weight: 1, port: 81, target: "10.0.0.1" }] });
      await answerIs(w, ["10.0.0.1:81"]);
      expect(seen.map(hostPorts)).toEqual([["10.0.0.1:81"]]);
    });
  });

  it("createDiscoveryNamers passes dnsHosts through to the resolver", async () => {
    s.set("web.test", { a: ["10.0.0.7"] });
    const config = namerConfigSchema.parse({ namers: [{ kind: "dns", refreshIntervalSeconds: INTERVAL_S, dnsHosts: [s.address] }] });
    const [namer] = createDiscoveryNamers(config.namers);
    if (namer === undefined) throw new Error("no namer");
    namers.push(namer);
    await answerIs(namer.observe(Path.read("/web.test/80")), ["10.0.0.7:80"]);
  });
});
